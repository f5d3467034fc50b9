"""The console-script entry's help cache: which command lines it answers, where it keeps entries, and that an entry
that no longer holds, or a cache that cannot be used, is never a reason to print something wrong or to fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dmesh_dbt import _entry


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], True),
        (["-h"], True),
        (["--version"], True),
        (["check", "--help"], True),
        (["registry", "list", "-h"], True),
        (["package-dir", "--help"], True),
        ([], False),  # click's "no command" usage, exit 2
        (["check"], False),
        (["--help", "check"], False),
        (["--no-color", "--help"], False),
        (["--debug", "--help"], False),
        (["check", "--project-dir", "x", "--help"], False),
        (["check", "./x", "--help"], False),
        (["check", "--version"], False),
        (["--version", "--help"], False),
    ],
)
def test_only_command_lines_that_ask_for_help_or_the_version_are_answered_from_the_cache(
    args: list[str], expected: bool
) -> None:
    assert _entry.asks_only_for_text(args) is expected


@pytest.mark.parametrize("columns", [None, "57", "300", "0", "-3", "wide", ""])
def test_the_width_is_the_one_click_wraps_help_to(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _entry.terminal_columns() == shutil.get_terminal_size().columns


def test_entries_live_in_the_xdg_cache_else_in_the_home_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _entry.cache_dir() == str(tmp_path / "xdg" / "dmesh-dbt" / "help")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec: a relative path is ignored
    assert _entry.cache_dir() == str(tmp_path / "home" / ".cache" / "dmesh-dbt" / "help")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _entry.cache_dir() == str(tmp_path / "home" / ".cache" / "dmesh-dbt" / "help")


def test_the_key_names_version_install_width_terminal_colour_and_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "91")
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain = _entry.cache_key(["check", "--help"])
    assert plain is not None
    assert plain.startswith(f"{_entry.__version__}\t{Path(_entry.__file__).parent}\t91\t")
    assert plain.endswith("\tcheck\t--help")
    monkeypatch.setenv("NO_COLOR", "1")
    assert _entry.cache_key(["check", "--help"]) != plain
    monkeypatch.setenv("COLUMNS", "92")
    assert _entry.cache_key(["check", "--help"]) not in (plain, None)


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache directory, and one dependency file standing for cli.py."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "cli.py"
    source.write_text("HELP = 'one'\n")
    monkeypatch.setattr(_entry, "dependencies", lambda: [str(source)])
    return tmp_path


def _kept(key: str, text: str) -> Path:
    _entry._keep(key, text)
    return Path(_entry.entry_path(key))


def test_a_kept_entry_is_read_back_exactly(cache: Path) -> None:
    text = "Usage: dmesh-dbt [OPTIONS]\n\n  Self-serve — data mesh.\n\n\nOptions:\n  -h, --help\n"
    path = _kept("0.1.0\tkey\t--help", text)
    assert path.parent == cache / "cache" / "dmesh-dbt" / "help"
    assert _entry.read_entry(str(path), "0.1.0\tkey\t--help") == text
    assert _entry.read_entry(str(path), "0.1.1\tkey\t--help") is None  # another version: another key
    assert not [p for p in path.parent.iterdir() if p != path]  # no temp file left beside it


def test_an_entry_is_stale_once_a_file_it_was_rendered_from_changes(cache: Path) -> None:
    path = _kept("k", "help\n")
    (cache / "cli.py").write_text("HELP = 'two, longer'\n")
    assert _entry.read_entry(str(path), "k") is None
    path = _kept("k", "help\n")
    (cache / "cli.py").unlink()
    assert _entry.read_entry(str(path), "k") is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"garbage",
        b"dmesh-dbt help cache 0\nk\n\nold layout\n",
        b"dmesh-dbt help cache 1\nk\n",  # cut short before the text
        b"dmesh-dbt help cache 1\nk\nno-tab-line\n\ntext\n",
        b"dmesh-dbt help cache 1\nk\n/nonexistent/cli.py\t1:2\n\ntext\n",
        b"\xff\xfe\x00 not utf-8",
    ],
)
def test_a_corrupt_entry_is_ignored(cache: Path, content: bytes) -> None:
    path = cache / "entry.txt"
    path.write_bytes(content)
    assert _entry.read_entry(str(path), "k") is None


def test_a_missing_or_unreadable_entry_is_ignored(cache: Path) -> None:
    assert _entry.read_entry(str(cache / "none.txt"), "k") is None
    assert _entry.read_entry(str(cache), "k") is None  # a directory where the file should be


def test_a_cache_that_cannot_be_written_is_left_alone(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    # A file where the cache directory should be: mkdir fails as it does in a read-only home (even for root).
    (cache / "blocked").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache / "blocked"))
    _entry._keep("k", "help\n")
    assert (cache / "blocked").read_text() == ""


def test_a_write_that_fails_leaves_no_temp_file(cache: Path) -> None:
    path = Path(_entry.entry_path("k"))
    path.mkdir(parents=True)  # a directory where the entry should be: the rename fails
    _entry._keep("k", "help\n")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]

"""`dmesh-dbt --help` answered from the help cache prints exactly what click prints, for every command, and renders
afresh once the version or cli.py changes (issue 16: `--help` at most 2x `python -c pass`).

The entry point runs as the console script runs it (``dmesh_dbt._entry:main`` in a fresh interpreter), with the
cache in a temporary XDG_CACHE_HOME; click's own output comes from ``dmesh_dbt.cli:main``, the entry before it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

import dmesh_dbt
from dmesh_dbt.cli import cli

#: The console script's body; stderr says whether click was loaded: True for a miss, False for an answer from cache.
ENTRY = """import sys
from dmesh_dbt._entry import main
try:
    main()
finally:
    print('click' in sys.modules, file=sys.stderr)
"""
CLICK = "from dmesh_dbt.cli import main\nmain()"
ROOT = Path(__file__).parents[2]


def command_paths(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += command_paths(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def run(code: str, *args: str, cache: Path, columns: str = "80", pythonpath: Path | None = None) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(XDG_CACHE_HOME=str(cache), COLUMNS=columns)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    # cwd: `python -c` imports from its working directory first, and the package copy must be the one imported.
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cache.parent, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr.strip()


def test_the_console_script_is_the_entry_point() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"dmesh-dbt": "dmesh_dbt._entry:main"}


def test_help_from_the_cache_is_what_click_prints_for_every_command(tmp_path: Path) -> None:
    paths = command_paths(cli)
    assert len(paths) > 15
    lines = [[*path, "--help"] for path in paths] + [["-h"], ["registry", "-h"], ["--version"]]
    for args in lines:
        fresh, _ = run(CLICK, *args, cache=tmp_path)
        first, loaded = run(ENTRY, *args, cache=tmp_path)
        assert (first, loaded) == (fresh, "True"), args  # a miss: click renders, the entry keeps it
        cached, loaded = run(ENTRY, *args, cache=tmp_path)
        assert (cached, loaded) == (fresh, "False"), args  # a hit: click is not even imported
        assert "\x1b" not in cached


@pytest.mark.parametrize("columns", ["60", "130"])
def test_each_terminal_width_has_its_own_entry(tmp_path: Path, columns: str) -> None:
    run(ENTRY, "check", "--help", cache=tmp_path, columns="100")
    fresh, _ = run(CLICK, "check", "--help", cache=tmp_path, columns=columns)
    for expected_click in ("True", "False"):
        assert run(ENTRY, "check", "--help", cache=tmp_path, columns=columns) == (fresh, expected_click)


def test_a_new_version_or_an_edited_cli_renders_afresh(tmp_path: Path) -> None:
    package = Path(dmesh_dbt.__file__).parent
    copy = tmp_path / "src" / "dmesh_dbt"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "data", "bundle"))
    cache, src = tmp_path / "cache", tmp_path / "src"
    assert run(ENTRY, "--help", cache=cache, pythonpath=src)[1] == "True"
    assert run(ENTRY, "--help", cache=cache, pythonpath=src)[1] == "False"

    cli_py = copy / "cli.py"
    cli_py.write_text(cli_py.read_text().replace("Self-serve data mesh on dbt:", "Self-serve data mesh (edited):", 1))
    edited, loaded = run(ENTRY, "--help", cache=cache, pythonpath=src)
    assert loaded == "True" and "Self-serve data mesh (edited):" in edited
    assert run(ENTRY, "--help", cache=cache, pythonpath=src) == (edited, "False")

    version = f"dmesh-dbt, version {dmesh_dbt.__version__}\n"
    assert run(ENTRY, "--version", cache=cache, pythonpath=src) == (version, "True")
    init = copy / "__init__.py"
    init.write_text(init.read_text().replace(f'"{dmesh_dbt.__version__}"', '"99.0.0"'))
    assert run(ENTRY, "--version", cache=cache, pythonpath=src) == ("dmesh-dbt, version 99.0.0\n", "True")
    assert run(ENTRY, "--help", cache=cache, pythonpath=src) == (edited, "True")


def test_a_read_only_cache_changes_nothing_but_speed(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("")  # a file where the cache directory should be: nothing can be written under it
    fresh, _ = run(CLICK, "--help", cache=tmp_path)
    assert run(ENTRY, "--help", cache=blocked) == (fresh, "True")
    assert run(ENTRY, "--help", cache=blocked) == (fresh, "True")


def test_a_failing_help_request_is_not_kept(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    argv = [sys.executable, "-c", ENTRY, "no-such-command", "--help"]
    for _ in range(2):
        result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
        assert (result.returncode, result.stderr.splitlines()[-1]) == (2, "True")
        assert "No such command 'no-such-command'" in result.stderr
    assert list(tmp_path.rglob("*.txt")) == []


def test_the_cache_keeps_its_newest_entries_only(tmp_path: Path) -> None:
    """Every width, install and version has its own entry: a miss prunes the directory to the newest MAX_ENTRIES,
    never a temp file another process is about to rename, and the entry it just wrote stays and answers."""
    from dmesh_dbt._entry import MAX_ENTRIES

    directory = tmp_path / "dmesh-dbt" / "help"
    directory.mkdir(parents=True)
    for number in range(MAX_ENTRIES + 5):
        stale = directory / f"{number:08x}.txt"
        stale.write_text("an entry of an older version")
        os.utime(stale, ns=(number * 10**9, number * 10**9))  # entry 0 the oldest
    in_flight = directory / "0000abcd.txt.4242.tmp"
    in_flight.write_text("being written")
    fresh, _ = run(CLICK, "check", "--help", cache=tmp_path)
    assert run(ENTRY, "check", "--help", cache=tmp_path) == (fresh, "True")
    kept = {path.name for path in directory.glob("*.txt")}
    assert len(kept) == MAX_ENTRIES and in_flight.exists()
    assert {f"{n:08x}.txt" for n in range(6)}.isdisjoint(kept)  # the six oldest went (five extra and the new one)
    assert run(ENTRY, "check", "--help", cache=tmp_path) == (fresh, "False")


def test_python_m_runs_the_same_command_line(tmp_path: Path) -> None:
    """`python -m dmesh_dbt` is the console script: same version line, same help, same exit code for bad usage."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), COLUMNS="80")

    def module(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dmesh_dbt", *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    assert module("--version").stdout == run(CLICK, "--version", cache=tmp_path / "cache")[0]
    assert module("check", "--help").stdout == run(CLICK, "check", "--help", cache=tmp_path / "cache")[0]
    wrong = module("check", "--no-such-option")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: No such option '--no-such-option'")

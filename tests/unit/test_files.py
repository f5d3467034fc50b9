"""The one atomic writer: a file is replaced whole, keeps its mode, and a failed write leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dmesh_dbt.files import InputTooLarge, insert_lines, read_at_most, read_bounded, sequence_end, write_atomically


def test_a_file_is_replaced_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "models" / "consumed" / "payments.yml"
    write_atomically(path, "version: 2\n")  # the directory is created
    path.chmod(0o640)
    write_atomically(path, b"version: 2\nsources: []\n")
    assert path.read_text() == "version: 2\nsources: []\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["payments.yml"], "no temp file is left beside it"


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_atomically(tmp_path / "report.sarif", "{}")
    finally:
        os.umask(umask)
    assert (tmp_path / "report.sarif").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yml"
    path.write_text("old\n")
    (tmp_path / "models").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomically(tmp_path / "models", "new\n")  # a directory cannot be replaced by a file
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "profiles.yml"], "the temp file is removed"


def test_inserted_lines_leave_every_other_byte_in_place() -> None:
    text = "a :  1\nb: >\n  wrapped\n  text\n"
    assert insert_lines(text, [(1, ["x: 2"]), (4, ["z: 3"]), (1, ["y: 4"])]) == (
        "a :  1\nx: 2\ny: 4\nb: >\n  wrapped\n  text\nz: 3\n"
    )
    assert insert_lines("a: 1", [(1, ["b: 2"])]) == "a: 1\nb: 2\n"  # a last line without newline gets one


def test_a_block_list_ends_before_its_parent_s_next_key_and_trailing_comments() -> None:
    lines = ["columns:", "- name: a", "  data_type: int", "- name: b", "", "# about c", "other: 1"]
    assert sequence_end(lines, 1, 0) == 4
    nested = ["    columns:", "      - name: a", "        x: 1", "  - name: next_model"]
    assert sequence_end(nested, 1, 6) == 3


class _GrownSince(type(Path())):  # type: ignore[misc]
    """A file that was ``stale_size`` bytes when stat'ed and has grown since."""

    stale_size = 3

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        real = super().stat(follow_symlinks=follow_symlinks)
        return os.stat_result((real.st_mode, *real[1:6], self.stale_size, *real[7:]))


def test_a_bounded_read_reads_what_the_file_holds_up_to_the_limit_even_when_it_grew(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(b"0123456789")
    assert read_bounded(path, 10) == b"0123456789"
    assert read_bounded(_GrownSince(path), 10) == b"0123456789"
    with pytest.raises(InputTooLarge):
        read_bounded(path, 9)
    with pytest.raises(InputTooLarge, match="more than 9 bytes"):
        read_bounded(_GrownSince(path), 9)


def test_reading_at_most_a_limit_reads_one_byte_past_it_whatever_the_file_says_its_size_is(tmp_path: Path) -> None:
    path = tmp_path / "entry.json"
    path.write_bytes(b"0123456789")
    with path.open("rb") as handle:
        assert read_at_most(handle, 100) == b"0123456789"
    with path.open("rb") as handle:
        assert read_at_most(handle, 4) == b"01234"
    with open("/dev/zero", "rb") as endless:  # a size of 0 and no end: read on to the limit, one byte past
        assert read_at_most(endless, 1000) == bytes(1001)

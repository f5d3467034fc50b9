"""The one atomic writer: a file is replaced whole, keeps its mode, and a failed write leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dmesh_dbt.files import write_atomically


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

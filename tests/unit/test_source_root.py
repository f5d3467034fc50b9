"""Where a dbt project sits in its repository: git's root, --repo-root, or the project itself outside git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dmesh_dbt.errors import UsageError
from dmesh_dbt.source_root import find_source_root, project_of


def git_repository(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_a_project_in_a_subfolder_of_a_git_repository(tmp_path: Path) -> None:
    repository = git_repository(tmp_path / "repo")
    project = repository / "analytics" / "payments"
    project.mkdir(parents=True)
    root = find_source_root(project)
    assert (root.root, root.project) == (str(repository.resolve()), "analytics/payments")
    assert root.path("models/marts/_marts.yml") == "analytics/payments/models/marts/_marts.yml"


def test_a_project_at_the_repository_root_and_outside_git(tmp_path: Path) -> None:
    repository = git_repository(tmp_path / "repo")
    assert find_source_root(repository).project == ""
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    root = find_source_root(lonely)
    assert (root.root, root.project, root.path("dmesh.yml")) == (str(lonely.resolve()), "", "dmesh.yml")


def test_repo_root_overrides_git_and_must_contain_the_project(tmp_path: Path) -> None:
    project = tmp_path / "mono" / "dbt" / "payments"
    project.mkdir(parents=True)
    assert find_source_root(project, tmp_path / "mono").project == "dbt/payments"
    elsewhere = tmp_path / "mono" / "dbt" / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(UsageError, match="does not contain the project"):
        find_source_root(project, elsewhere)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(UsageError, match="is not a directory"):
        find_source_root(project, tmp_path / "a-file")


def test_diff_finds_the_project_of_its_new_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "repo" / "payments"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: payments\n")
    (project / "target" / "manifest.json").write_text("{}")
    assert project_of(project / "target") == project.resolve()
    assert project_of(project / "target" / "manifest.json") == project.resolve()
    assert project_of(project) == project.resolve()
    state = tmp_path / "state"  # a manifest copied out of its project: the directory diff runs in
    state.mkdir()
    monkeypatch.chdir(project)
    assert project_of(state) == project


def test_only_formats_that_name_repository_paths_look_for_the_root(tmp_path: Path) -> None:
    """Text and JSON name paths in the project: they run no `git rev-parse`; a bad --repo-root fails them all."""
    from dmesh_dbt.cli import _source_root

    project = git_repository(tmp_path / "repo") / "payments"
    project.mkdir()
    assert _source_root(project, None, "text") is None
    assert _source_root(project, None, "json") is None
    for output_format in ("github", "sarif", "junit"):
        found = _source_root(project, None, output_format)
        assert found is not None and found.project == "payments"
    (project / "models").mkdir()
    with pytest.raises(UsageError, match="does not contain the project"):
        _source_root(project, project / "models", "text")

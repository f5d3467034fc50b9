"""`dmesh-dbt upgrade`: a domain made from an older template version (a snapshot this test makes) is brought to the
current one by copier's three-way update, keeping the domain's own edits in the files the template changes.

No dbt run is needed: the upgrade only merges files; init's tests build what the template renders.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from dmesh_dbt import __version__, templates
from dmesh_dbt.cli import cli
from dmesh_dbt.scaffold import InitOptions, render_template, template_answers
from dmesh_dbt.toolkit import template_dir

OLD = "0.0.1"
#: What the older template said, where the current one says something else (template lines, then old lines).
OLD_LINES = {
    "dmesh.yml.jinja": ("tier: silver            # gold | silver | bronze", "tier: bronze"),
    ".sqlfluff": ("max_line_length = 120", "max_line_length = 100"),
}


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshots folder holding template version OLD: the current template with OLD_LINES put back."""
    root = tmp_path_factory.mktemp("snapshots")
    old = root / OLD
    shutil.copytree(template_dir(), old)
    for name, (current, previous) in OLD_LINES.items():
        path = old / "template" / name
        assert current in path.read_text(), f"the template no longer has {current!r}; update this test"
        path.write_text(path.read_text().replace(current, previous))
    return root


@pytest.fixture(autouse=True)
def older_template(snapshots: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templates, "SNAPSHOTS", snapshots)


def git(project: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, cwd=project, check=True, capture_output=True, text=True).stdout


def old_domain(tmp_path: Path) -> Path:
    """Domain `pay` rendered from template OLD, committed in its own git repository."""
    project = tmp_path / "pay"
    options = InitOptions(domain="pay", directory=project, run_deps=False)
    render_template(project, template_answers(options, "pay-team@example.com"), version=OLD)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "pay from template " + OLD)
    return project


def edit(project: Path, name: str, old: str, new: str) -> None:
    path = project / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))


def commit_edits(project: Path) -> None:
    git(project, "commit", "-qam", "the domain's own edits")


def upgrade(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["upgrade", "--project-dir", str(project), *args])


def answers(project: Path) -> dict[str, object]:
    document: dict[str, object] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return document


def test_init_records_the_template_version_and_a_source_that_outlives_it(tmp_path: Path) -> None:
    project = old_domain(tmp_path)
    recorded = answers(project)
    assert recorded["_commit"] == OLD and recorded["dmesh_version"] == OLD
    assert recorded["_src_path"] == templates.TEMPLATE_SOURCE
    assert f"revision: v{OLD}" in (project / "packages.yml").read_text()  # the dmesh package version it pins


def test_upgrade_keeps_the_domains_edits_in_the_files_the_template_changes(tmp_path: Path) -> None:
    project = old_domain(tmp_path)
    edit(project, "dmesh.yml", "policy: {}", "policy: {DM001: warning}")
    edit(project, ".sqlfluff", "[sqlfluff]\n", "[sqlfluff]\n# our own note\n")
    commit_edits(project)

    result = upgrade(project)

    assert result.exit_code == 0, result.output
    assert f"template {OLD} -> {__version__}" in result.output
    dmesh = (project / "dmesh.yml").read_text()
    assert "tier: silver" in dmesh and "policy: {DM001: warning}" in dmesh  # the template's change and ours
    sqlfluff = (project / ".sqlfluff").read_text()
    assert "max_line_length = 120" in sqlfluff and "# our own note" in sqlfluff
    recorded = answers(project)
    assert recorded["_commit"] == __version__ and recorded["_src_path"] == templates.TEMPLATE_SOURCE
    assert f"revision: v{__version__}" in (project / "packages.yml").read_text()
    assert "<<<<<<<" not in dmesh


def test_upgrade_twice_changes_nothing(tmp_path: Path) -> None:
    project = old_domain(tmp_path)
    assert upgrade(project).exit_code == 0
    upgraded = git(project, "diff")

    before_commit = upgrade(project)  # the first upgrade's changes are not committed yet: still nothing to do
    assert before_commit.exit_code == 0 and "nothing to change" in before_commit.output
    assert git(project, "diff") == upgraded

    git(project, "commit", "-qam", "upgraded")
    again = upgrade(project)
    assert again.exit_code == 0 and "nothing to change" in again.output
    assert git(project, "status", "--porcelain") == ""


def test_a_conflict_is_left_marked_and_listed_with_a_hint(tmp_path: Path) -> None:
    project = old_domain(tmp_path)
    edit(project, "dmesh.yml", "tier: bronze", "tier: gold")  # the very line the template changes
    commit_edits(project)

    result = upgrade(project, "--format", "json")

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert [c["path"] for c in report["conflicts"]] == ["dmesh.yml"]
    assert "<<<<<<< before updating" in report["conflicts"][0]["hint"]
    dmesh = (project / "dmesh.yml").read_text()
    assert "<<<<<<< before updating\ntier: gold\n=======\ntier: silver" in dmesh
    assert "max_line_length = 120" in (project / ".sqlfluff").read_text()  # the rest is upgraded


def test_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    project = old_domain(tmp_path)

    result = upgrade(project, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "-max_line_length = 100\n+max_line_length = 120" in result.output
    assert f"-_commit: {OLD}\n+_commit: {__version__}" in result.output
    assert "dmesh-upgrade-" not in result.output  # no scratch path leaks into the diff
    assert git(project, "status", "--porcelain") == ""
    assert answers(project)["_commit"] == OLD


def test_a_dirty_work_tree_is_refused_unless_forced(tmp_path: Path) -> None:
    project = old_domain(tmp_path)
    (project / "my notes.txt").write_text("not committed\n")

    refused = upgrade(project)

    assert refused.exit_code == 2
    assert refused.output.count("\n") == 1 and "uncommitted changes (my notes.txt)" in refused.output
    assert answers(project)["_commit"] == OLD

    forced = upgrade(project, "--force")
    assert forced.exit_code == 0, forced.output
    assert answers(project)["_commit"] == __version__
    assert (project / "my notes.txt").read_text() == "not committed\n"


def test_force_never_overwrites_uncommitted_edits_the_upgrade_would_change(tmp_path: Path) -> None:
    project = old_domain(tmp_path)
    edit(project, ".sqlfluff", "[sqlfluff]\n", "[sqlfluff]\n# uncommitted\n")

    result = upgrade(project, "--force")

    assert result.exit_code == 2 and ".sqlfluff" in result.output
    assert "# uncommitted" in (project / ".sqlfluff").read_text()
    assert answers(project)["_commit"] == OLD


def test_a_project_made_before_templates_were_versioned_upgrades_from_its_dmesh_version(tmp_path: Path) -> None:
    project = old_domain(tmp_path)
    legacy = (project / ".copier-answers.yml").read_text().replace(f"_commit: {OLD}\n", "")
    legacy = legacy.replace(templates.TEMPLATE_SOURCE, "/site-packages/dmesh_dbt/bundle/project_template")
    (project / ".copier-answers.yml").write_text(legacy)
    commit_edits(project)

    result = upgrade(project)

    assert result.exit_code == 0, result.output
    assert answers(project)["_commit"] == __version__ and "tier: silver" in (project / "dmesh.yml").read_text()


def test_outside_git_and_unknown_versions_are_one_line_errors(tmp_path: Path) -> None:
    project = old_domain(tmp_path)
    unknown = upgrade(project, "--to", "9.9.9")
    assert unknown.exit_code == 2 and "--to 9.9.9 is not a template version" in unknown.output
    shutil.rmtree(project / ".git")
    outside = upgrade(project)
    assert outside.exit_code == 2 and "not in a git work tree" in outside.output
    git(project, "init", "-q")
    uncommitted = upgrade(project, "--force")
    assert uncommitted.exit_code == 2 and "has no commit yet" in uncommitted.output


def test_a_domain_in_a_subdirectory_of_a_larger_repository_upgrades_in_place(tmp_path: Path) -> None:
    monorepo = tmp_path / "mono"
    project = old_domain(monorepo / "domains")
    shutil.rmtree(project / ".git")
    git(monorepo, "init", "-q")
    (monorepo / "README.md").write_text("the data platform\n")
    git(monorepo, "add", "-A")
    git(monorepo, "commit", "-qm", "monorepo")

    result = upgrade(project, "--format", "json")

    assert result.exit_code == 0, result.output
    assert ".sqlfluff" in [c["path"] for c in json.loads(result.stdout)["changes"]]
    assert "max_line_length = 120" in (project / ".sqlfluff").read_text()
    assert git(monorepo, "status", "--porcelain", "--", "README.md") == ""


def test_a_project_from_another_copier_template_has_no_template_version_and_is_not_upgraded(tmp_path: Path) -> None:
    project = tmp_path / "adopted"
    project.mkdir()
    (project / ".copier-answers.yml").write_text("_commit: g1a2b3c\n_src_path: gh:someone/dbt-template\nname: x\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "adopted")

    assert templates.project_template_version(project) is None  # so check's DM016 has no template to judge
    result = upgrade(project)
    assert result.exit_code == 2 and "answers of another copier template" in result.output

"""The template versions shipped with the toolkit: every version a domain may have been made from can be upgraded.

`init` records `dmesh_dbt.__version__` as the domain's `_commit`, so every version the toolkit has had is a base
`upgrade` must render, and `upgrade` finds it only as `dmesh_dbt/data/templates/<version>/` (the current version is
`project_template/`, the working tree). `data/templates/versions.json` lists the versions the toolkit has had.
Bumping `__version__` without copying the previous template there first (the template is then changed and the old
one lost) fails here, as does a snapshot `template_versions` would skip (misnamed, incomplete, not older).

Why not "the template differs from the newest snapshot while the version is newer": that is the normal state of
every release that changed the template, and a version whose template did not change still needs its snapshot,
because `upgrade` looks a domain's `_commit` up by exact version.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from dmesh_dbt import __version__, templates
from dmesh_dbt.toolkit import template_dir

#: The versions the toolkit has had, oldest first (beside the snapshots: the release step edits both together).
VERSIONS_FILE = "versions.json"


def version_problems(snapshots: Path, current: str) -> list[str]:
    """What keeps a domain made by an earlier toolkit from upgrading, as lines naming the fix; [] when none.

    Reads the versions as ``upgrade`` does (``templates.template_versions``), with ``snapshots`` and ``current``
    standing for ``SNAPSHOTS`` and ``__version__``."""
    recorded = json.loads((snapshots / VERSIONS_FILE).read_text())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(templates, "SNAPSHOTS", snapshots)
        patch.setattr(templates, "__version__", current)
        known = [v.version for v in templates.template_versions()]
    problems = []
    if current not in recorded:
        problems.append(
            f"{current} (dmesh_dbt.__version__) is not in data/templates/{VERSIONS_FILE}: add it; when bumping the "
            "version, first copy the template of the previous one to data/templates/<previous>/"
        )
    for version in recorded:
        if Version(version) > Version(current):
            problems.append(f"{VERSIONS_FILE} lists {version}, newer than the toolkit's {current}: remove it")
        elif version not in known:
            problems.append(
                f"template {version} has no snapshot data/templates/{version}/ (copier.yml and template/): domains "
                f"made with dmesh-dbt {version} cannot upgrade; restore project_template/ as it was at {version} "
                "from git into that folder"
            )
    for folder in sorted(p for p in snapshots.iterdir() if p.is_dir()):
        if folder.name not in known or folder.name not in recorded:
            problems.append(
                f"data/templates/{folder.name}/ is no snapshot upgrade uses: it must be a version listed in "
                f"{VERSIONS_FILE}, older than {current}, holding copier.yml and template/"
            )
    return problems


def test_every_version_the_toolkit_has_had_can_be_upgraded_from() -> None:
    assert version_problems(templates.SNAPSHOTS, __version__) == []


def _next_minor(version: str) -> str:
    release = Version(version).release
    return f"{release[0]}.{release[1] + 1}.0"


@pytest.fixture()
def snapshots(tmp_path: Path) -> Path:
    """A copy of the shipped snapshots folder, to make the mistakes in."""
    copy = tmp_path / "templates"
    shutil.copytree(templates.SNAPSHOTS, copy)
    return copy


def test_bumping_the_version_without_a_snapshot_of_the_previous_template_fails(snapshots: Path) -> None:
    bumped = _next_minor(__version__)
    assert "is not in data/templates/versions.json: add it" in version_problems(snapshots, bumped)[0]

    recorded = json.loads((snapshots / VERSIONS_FILE).read_text())
    (snapshots / VERSIONS_FILE).write_text(json.dumps([*recorded, bumped]))
    [problem] = version_problems(snapshots, bumped)
    assert problem.startswith(f"template {__version__} has no snapshot data/templates/{__version__}/")

    shutil.copytree(template_dir(), snapshots / __version__)  # the release step: cp -r project_template ...
    assert version_problems(snapshots, bumped) == []


@pytest.mark.parametrize(
    ("folder", "what"),
    [
        (_next_minor(__version__), "not older than the current version: template_versions skips it"),
        ("0.0.1", "not a version the toolkit has had (versions.json)"),
    ],
)
def test_a_snapshot_upgrade_would_skip_is_reported(snapshots: Path, folder: str, what: str) -> None:
    shutil.copytree(template_dir(), snapshots / folder)
    assert version_problems(snapshots, __version__) == [
        f"data/templates/{folder}/ is no snapshot upgrade uses: it must be a version listed in {VERSIONS_FILE}, "
        f"older than {__version__}, holding copier.yml and template/"
    ], what


def test_an_incomplete_snapshot_is_reported(snapshots: Path) -> None:
    bumped = _next_minor(__version__)
    (snapshots / VERSIONS_FILE).write_text(json.dumps([__version__, bumped]))
    shutil.copytree(template_dir() / "template", snapshots / __version__ / "template")  # copier.yml forgotten
    problems = version_problems(snapshots, bumped)
    assert problems[0].startswith(f"template {__version__} has no snapshot") and len(problems) == 2, problems

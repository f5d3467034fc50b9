"""``dmesh-dbt upgrade``: bring a domain project to a newer version of the toolkit's template, keeping its edits.

The merge is copier's own three-way update (``run_update``): it renders the version the project was made from
and the target version with the project's answers, and applies the project's own changes on top of the target.
Copier reads the old version from the project's ``_src_path``/``_commit`` and refuses a dirty work tree, so the
update runs in a scratch clone of the project's git repository where the answers point at a throwaway template
repository (``dmesh_dbt.templates``); the resulting files are then copied into the project. That one route gives
``--dry-run`` (clone, update, show the diff, copy nothing), projects made before the template was versioned
(their answers are completed in the clone only) and ``--force`` (the clone holds the committed state; a file with
uncommitted edits that the upgrade would change is refused, never overwritten).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from dmesh_dbt.errors import ConfigError, UsageError
from dmesh_dbt.files import copy_atomically, inside_project
from dmesh_dbt.templates import (
    ANSWERS_FILE,
    TEMPLATE_SOURCE,
    git,
    read_answers,
    record_answers,
    recorded_version,
    require_known,
    template_repository,
    template_versions,
    toolkit_answers,
)

#: Lines copier writes around an inline conflict.
CONFLICT_MARKERS = (b"<<<<<<< before updating", b">>>>>>> after updating")


@dataclass(frozen=True)
class UpgradeOptions:
    project_dir: Path
    to: str | None = None  # None: the toolkit's current template
    dry_run: bool = False
    force: bool = False


@dataclass(frozen=True)
class Conflict:
    path: str  # relative to the project
    hint: str


@dataclass(frozen=True)
class FileChange:
    status: str  # "A" added, "M" modified, "D" deleted
    path: str  # relative to the project


@dataclass(frozen=True)
class UpgradeResult:
    project: Path
    from_version: str
    to_version: str
    changes: tuple[FileChange, ...]
    conflicts: tuple[Conflict, ...]
    diff: str
    dry_run: bool

    @property
    def up_to_date(self) -> bool:
        return self.from_version == self.to_version

    def to_json(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "from_version": self.from_version,
            "to_version": self.to_version,
            "dry_run": self.dry_run,
            "changes": [{"status": c.status, "path": c.path} for c in self.changes],
            "conflicts": [{"path": c.path, "hint": c.hint} for c in self.conflicts],
            "diff": self.diff,
        }


# ------------------------------------------------------------------------------------------- the work tree


def git_top(project_dir: Path) -> Path:
    """The root of the git work tree holding the project, which has a commit; UsageError otherwise."""
    commit_first = "commit the project first (git init && git add -A && git commit -m 'domain project')"
    try:
        top = Path(git(project_dir, "rev-parse", "--show-toplevel").strip()).resolve()
    except ConfigError:
        raise UsageError(
            f"{project_dir} is not in a git work tree, and copier's update needs one; {commit_first}"
        ) from None
    try:
        git(top, "rev-parse", "--verify", "-q", "HEAD")
    except ConfigError:
        raise UsageError(f"the git repository at {top} has no commit yet; {commit_first}") from None
    return top


def uncommitted(project_dir: Path, top: Path) -> list[str]:
    """Paths under the project (relative to it) with uncommitted changes, untracked files included."""
    # -z: NUL-separated and unquoted, so names with spaces, quotes or non-ASCII come back as they are.
    entries = git(project_dir, "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--", ".")
    return sorted(str((top / entry[3:]).relative_to(project_dir)) for entry in entries.split("\0") if entry)


def refuse_dirty(project_dir: Path, dirty: list[str], force: bool) -> None:
    if dirty and not force:
        shown = ", ".join(dirty[:3]) + (", ..." if len(dirty) > 3 else "")
        raise UsageError(
            f"{project_dir} has uncommitted changes ({shown}); commit or stash them before upgrading, "
            "or pass --force to upgrade the files they do not touch"
        )


# ------------------------------------------------------------------------------------------- the upgrade


def target_version(options: UpgradeOptions, versions: list[str]) -> str:
    return options.to or versions[-1]


def upgrade_project(options: UpgradeOptions) -> UpgradeResult:
    """Upgrade the project to template ``options.to`` (default: the current one); see the module's docstring."""
    project_dir = options.project_dir.resolve()
    answers = read_answers(project_dir)
    top = git_top(project_dir)
    versions = template_versions()
    base = recorded_version(answers, str(project_dir / ANSWERS_FILE))
    target = target_version(options, [v.version for v in versions])
    require_known(versions, target, "--to", "give one of those")
    base_template = require_known(
        versions, base, f"the {ANSWERS_FILE} of {project_dir.name} records", "install the dmesh-dbt that made it"
    )
    if Version(target) < Version(base):
        raise UsageError(f"--to {target} is older than the project's template {base}; upgrades only go forward")
    if Version(target) == Version(base):  # nothing to write, so uncommitted changes do not matter
        return UpgradeResult(project_dir, base, target, (), (), "", options.dry_run)
    dirty = uncommitted(project_dir, top)
    refuse_dirty(project_dir, dirty, options.force)

    history = [v for v in versions if Version(base_template.version) <= Version(v.version) <= Version(target)]
    with tempfile.TemporaryDirectory(prefix="dmesh-upgrade-") as scratch:
        repository = template_repository(history, Path(scratch) / "template")
        work = clone_project(top, project_dir, Path(scratch) / "project")
        record_answers(work, _src_path=str(repository), _commit=base)
        git(work, "commit", "-q", "--allow-empty", "-am", "dmesh-dbt upgrade: the base")
        run_copier_update(work, target)
        record_answers(work, _src_path=TEMPLATE_SOURCE)
        changes, diff = staged_changes(work)
        conflicts = find_conflicts(work, changes)
        if not options.dry_run:
            refuse_overwriting(project_dir, dirty, changes)
            copy_changes(work, project_dir, changes)
    return UpgradeResult(project_dir, base, target, tuple(changes), tuple(conflicts), diff, options.dry_run)


def clone_project(top: Path, project_dir: Path, into: Path) -> Path:
    """A clone of the project's repository at its last commit; the project's directory in it."""
    git(top, "clone", "-q", "--no-checkout", str(top), str(into))
    git(into, "checkout", "-q", "HEAD")
    return into / project_dir.relative_to(top)


def run_copier_update(work: Path, target: str) -> None:
    from copier import run_update  # imported here: copier is slow to import and only init/upgrade need it
    from copier.errors import CopierError

    answers = read_answers(work)
    data = toolkit_answers(target)
    try:
        run_update(
            str(work),
            data=data,
            vcs_ref=target,
            defaults=True,
            overwrite=True,
            quiet=True,
            unsafe=False,
            conflict="inline",
            skip_answered=True,
        )
    except CopierError as error:
        domain = answers.get("domain", work.name)
        raise ConfigError(f"copier could not update {domain} to template {target}: {error}") from None


def staged_changes(work: Path) -> tuple[list[FileChange], str]:
    """What the update changed in the clone's project directory, and the diff of it."""
    git(work, "add", "-A", "--", ".")
    status = git(work, "diff", "--cached", "--no-renames", "--name-status", "-z", "--relative", "HEAD~1", "--", ".")
    fields = status.split("\0")  # status, path, status, path, ... (-z: paths unquoted)
    changes = [FileChange(fields[i][0], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
    diff = git(work, "diff", "--cached", "--no-renames", "--relative", "HEAD~1", "--", ".")
    return changes, diff


def find_conflicts(work: Path, changes: list[FileChange]) -> list[Conflict]:
    """Files copier left conflict markers in, and rejected hunks (``.rej``), each with a hint."""
    conflicts = []
    for change in changes:
        if change.status == "D":
            continue
        if change.path.endswith(".rej"):
            hint = f"hunks copier could not place; apply them to {change.path[:-4]} by hand, then delete this file"
            conflicts.append(Conflict(change.path, hint))
            continue
        lines = (work / change.path).read_bytes().splitlines()
        if any(line.rstrip() in CONFLICT_MARKERS for line in lines):
            hint = (
                "both you and the template changed these lines: keep what you need between "
                "<<<<<<< before updating and >>>>>>> after updating, and remove the markers"
            )
            conflicts.append(Conflict(change.path, hint))
    return conflicts


def refuse_overwriting(project_dir: Path, dirty: list[str], changes: list[FileChange]) -> None:
    """Under --force, a file with uncommitted edits that the upgrade changes is refused, not overwritten."""
    clash = sorted(set(dirty) & {c.path for c in changes})
    if clash:
        raise UsageError(
            f"the upgrade changes {', '.join(clash)} in {project_dir}, which has uncommitted edits; "
            "commit or stash them first (--force upgrades only files without uncommitted edits)"
        )


def copy_changes(work: Path, project_dir: Path, changes: list[FileChange]) -> None:
    for change in changes:
        destination = inside_project(project_dir, Path(change.path))
        if change.status == "D":
            destination.unlink(missing_ok=True)
        else:
            copy_atomically(work / change.path, destination)

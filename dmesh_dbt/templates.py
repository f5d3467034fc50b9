"""The domain template's versions: which exist, which one made a project, and a git repository of them for copier.

The template is versioned with the toolkit (``dmesh_dbt.__version__``): the current one is ``project_template/``,
and every earlier released version that differs ships as a plain snapshot of that folder under
``dmesh_dbt/data/templates/<version>/``. Copier's three-way update needs the template a project was made from
as a git revision, so ``template_repository`` builds a throwaway repository with one tagged commit per version,
oldest first; copier records the tag (``git describe``) as ``_commit``.

A project's ``_src_path`` is recorded as ``TEMPLATE_SOURCE``, not the throwaway repository's path: the toolkit
supplies the repository itself at each ``init`` and ``upgrade``, so the answers never point at a directory that
is gone by the next upgrade, nor at one machine's site-packages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from packaging.version import InvalidVersion, Version

from dmesh_dbt import __version__
from dmesh_dbt.errors import ConfigError, UsageError
from dmesh_dbt.files import dump_round_trip, load_round_trip, parse_yaml, read_text_bounded
from dmesh_dbt.pii import policy_document
from dmesh_dbt.toolkit import dbt_package_dir, template_dir

#: Earlier released template versions, one folder per version (each holds copier.yml and template/).
SNAPSHOTS = Path(__file__).resolve().parent / "data" / "templates"
#: The answers file copier writes into every project (copier.yml's ``_answers_file``).
ANSWERS_FILE = ".copier-answers.yml"
#: What a project's answers record as the template's source: the toolkit, which rebuilds the repository itself.
TEMPLATE_SOURCE = "dmesh-dbt/project_template"

#: Git run by the toolkit on its own scratch repositories: no user hooks, signing or identity needed.
_GIT = (
    "git",
    "-c",
    "user.name=dmesh-dbt",
    "-c",
    "user.email=dmesh-dbt@localhost",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "core.hooksPath=/dev/null",
)


class TemplateVersion(msgspec.Struct, frozen=True):
    version: str
    path: Path  # the folder holding copier.yml


def parse_version(text: str, origin: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ConfigError(f"{origin}: {text!r} is not a version (e.g. 0.1.0)") from None


def template_versions() -> list[TemplateVersion]:
    """Every template version this toolkit can render, oldest first; the current one (``project_template/``) last.

    ``SNAPSHOTS`` is read at each call, so a test can give an older version of its own."""
    snapshots = SNAPSHOTS
    current = Version(__version__)
    found = [TemplateVersion(__version__, template_dir())]
    if snapshots.is_dir():
        for folder in snapshots.iterdir():
            if (folder / "copier.yml").is_file() and parse_version(folder.name, str(folder)) < current:
                found.append(TemplateVersion(folder.name, folder))
    return sorted(found, key=lambda v: Version(v.version))


def find_version(versions: list[TemplateVersion], wanted: str) -> TemplateVersion | None:
    return next((v for v in versions if Version(v.version) == Version(wanted)), None)


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; ConfigError with git's own words when it fails."""
    import subprocess  # here: every check reads template versions, only init and upgrade run git

    try:
        result = subprocess.run([*_GIT, *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ConfigError(
            "git is not installed; install git: dmesh-dbt renders and upgrades the domain template with it"
        ) from None
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ConfigError(f"`git {' '.join(args)}` failed in {cwd}: {last[0]}")
    return result.stdout


def template_repository(versions: list[TemplateVersion], into: Path) -> Path:
    """A git repository at ``into`` with one commit per version of ``versions`` (in order), tagged with it."""
    import shutil  # here: only init and upgrade build a template repository

    into.mkdir(parents=True)
    git(into, "init", "-q")
    for version in versions:
        for entry in into.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        shutil.copytree(version.path, into, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        git(into, "add", "-A")
        git(into, "commit", "-q", "--allow-empty", "-m", f"project template {version.version}")
        git(into, "tag", version.version)
    return into


def toolkit_answers(version: str) -> dict[str, object]:
    """The answers the toolkit gives rather than the user: the template version, where the `dmesh` package is,
    and the mesh policy's PII vocabulary. ``upgrade`` gives them anew, so a project follows the toolkit."""
    return {
        "dmesh_version": version,
        "dmesh_package_dir": str(dbt_package_dir()),
        "pii_classes": policy_document()["pii_classes"],
        "forbidden_pii_classes": policy_document()["forbidden_classes"],
        "joinable_pii_classes": sorted(policy_document().get("joinable") or []),
    }


# ------------------------------------------------------------------------------------------ a project's answers


def read_answers(project_dir: Path) -> dict[str, Any]:
    """The project's recorded copier answers; ConfigError when the project was not made from the template."""
    path = project_dir / ANSWERS_FILE
    not_ours = "so it has no dmesh-dbt template to upgrade (create one with `dmesh-dbt init` and move its files over)"
    if not path.is_file():
        raise ConfigError(f"{path} is missing: the project was not made by `dmesh-dbt init`, {not_ours}")
    answers = _load_answers(path)
    if not is_from_template(answers):
        raise ConfigError(f"{path} records the answers of another copier template, {not_ours}")
    return answers


def _load_answers(path: Path) -> dict[str, Any]:
    answers = parse_yaml(read_text_bounded(path, ConfigError))
    if not isinstance(answers, dict):
        raise ConfigError(f"{path} is not a mapping of answers; restore it from git")
    return answers


def is_from_template(answers: dict[str, Any]) -> bool:
    """Whether copier answers are this toolkit's: every version of its template asks ``dmesh_version``. A project
    made from another copier template (and converted by `adopt`) keeps that template's answers file."""
    return "dmesh_version" in answers


def recorded_version(answers: dict[str, Any], origin: str) -> str:
    """The template version a project was last rendered from: ``_commit`` (a version tag), or for projects made
    before templates were versioned, ``dmesh_version`` (the toolkit that rendered them, the same number)."""
    for key in ("_commit", "dmesh_version"):
        value = answers.get(key)
        if isinstance(value, str):
            try:
                Version(value)
            except InvalidVersion:
                continue
            return value
    raise ConfigError(f"{origin} records no template version (_commit or dmesh_version); restore it from git")


def project_template_version(project_dir: Path) -> str | None:
    """The template version the project was last rendered from; None when it was not made from the template."""
    path = project_dir / ANSWERS_FILE
    answers = _load_answers(path) if path.is_file() else {}
    return recorded_version(answers, str(path)) if is_from_template(answers) else None


def installed_package_version(project_dir: Path) -> str | None:
    """The version of the `dmesh` dbt package `dbt deps` installed in the project; None when it is not installed
    (or the project installs packages elsewhere); ConfigError when its dbt_project.yml has no valid version."""
    path = project_dir / "dbt_packages" / "dmesh" / "dbt_project.yml"
    if not path.is_file():
        return None
    document = parse_yaml(read_text_bounded(path, ConfigError))
    version = document.get("version") if isinstance(document, dict) else None
    parse_version(str(version), str(path))
    return str(version)


def record_answers(project_dir: Path, **values: str) -> None:
    """Set answers (e.g. ``_src_path``) in the project's answers file, keeping its comments and order."""
    path = project_dir / ANSWERS_FILE
    document = load_round_trip(path)
    if document is None:
        raise ConfigError(f"{path} is missing; restore it from git")
    for key, value in values.items():
        document[key] = value
    dump_round_trip(path, document)


def require_known(versions: list[TemplateVersion], wanted: str, what: str, fix: str) -> TemplateVersion:
    """The template version ``wanted``; UsageError naming ``what`` asked for it, the versions known, and ``fix``."""
    found = find_version(versions, wanted)
    if found is None:
        known = ", ".join(v.version for v in versions)
        raise UsageError(
            f"{what} {wanted} is not a template version this dmesh-dbt {__version__} knows ({known}); {fix}"
        )
    return found

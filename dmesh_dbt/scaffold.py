"""Creating domain projects: validate the request, render the copier template, install dbt packages.

Rendering happens in a temporary directory beside the destination and is moved into place only once it is
complete (template rendered and `dbt deps` done), so a failure never leaves a half-written project behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dmesh_dbt import __version__
from dmesh_dbt.errors import UsageError
from dmesh_dbt.identifiers import MAX_DOMAIN_LENGTH, NameKind, is_valid
from dmesh_dbt.project import new_project_id, placeholder_owner
from dmesh_dbt.templates import (
    TEMPLATE_SOURCE,
    record_answers,
    require_known,
    template_repository,
    template_versions,
    toolkit_answers,
)
from dmesh_dbt.toolkit import run_dbt

#: dbt project names, Postgres schemas and BigQuery datasets all accept this; the bound leaves room for
#: suffixes such as `_published` within Postgres' 63-byte identifier limit.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: Words no domain may be called: SQL keywords reserved in DuckDB, PostgreSQL or BigQuery, and names dbt or
#: this toolkit already use for packages and Jinja globals.
RESERVED_WORDS = frozenset(
    """
    all alter analyse analyze and any array as asc assert_rows_modified asymmetric at authorization between
    binary both by case cast check collate column concurrently constraint contains create cross cube current
    current_catalog current_date current_role current_schema current_time current_timestamp current_user
    default deferrable define desc distinct do else end enum escape except exclude exists extract false fetch
    following for foreign freeze from full grant group grouping groups hash having if ignore ilike in initially
    inner intersect interval into is isnull join lateral leading left like limit localtime localtimestamp lookup
    merge natural new no not notnull null nulls of offset on only or order outer over overlaps partition
    placing preceding primary proto qualify range recursive references respect returning right rollup rows
    select session_user set similar some struct symmetric table tablesample then to trailing treat true
    unbounded union unique unnest user using variadic verbose when where window with within
    dbt dmesh dbt_utils source ref this target model config var env_var exceptions adapter test tests seed
    seeds snapshot snapshots macro macros analysis analyses information_schema pg_catalog public
    """.split()  # noqa: SIM905 -- a word list reads better as text
)


@dataclass(frozen=True)
class InitOptions:
    """What the user asked `init` for."""

    domain: str
    owner: str | None = None
    directory: Path | None = None
    warehouse: str = "duckdb"
    description: str | None = None
    examples: bool = True
    force: bool = False
    run_deps: bool = True


@dataclass(frozen=True)
class DomainProject:
    """A rendered domain project."""

    domain: str
    path: Path


def validate_domain_name(domain: str) -> None:
    """Raise UsageError unless ``domain`` is a valid name for dbt and every supported warehouse."""
    allowed = (
        f"use 1-{MAX_DOMAIN_LENGTH} lowercase letters, digits and underscores, starting with a letter "
        "(e.g. payments or card_issuing)"
    )
    if not is_valid(NameKind.DOMAIN, domain):
        raise UsageError(f"invalid domain name {domain!r}: {allowed}")
    if domain in RESERVED_WORDS:
        raise UsageError(f"invalid domain name {domain!r}: it is a reserved word in SQL or dbt; choose another name")


def validate_owner(owner: str) -> None:
    if not EMAIL_PATTERN.fullmatch(owner):
        raise UsageError(f"invalid --owner {owner!r}: give the owning team's email address, e.g. team@example.com")


def check_destination(path: Path, force: bool) -> None:
    """Refuse to render over a file, or into a non-empty directory without --force."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} exists and is not a directory; choose another --dir")
    blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise UsageError(f"{blocking} is a file, so {path} cannot be created; choose another --dir")

    if path.is_dir() and any(path.iterdir()) and not force:
        raise UsageError(f"{path} exists and is not empty; choose another --dir or pass --force to render into it")


def template_answers(options: InitOptions, owner: str) -> dict[str, object]:
    """The copier answers for a new project (all recorded in .copier-answers.yml)."""
    return {
        "domain": options.domain,
        "owner": owner,
        "project_id": new_project_id(),
        "description": options.description or f"Data products of the {options.domain} domain.",
        "warehouse": options.warehouse,
        "examples": options.examples,
        **toolkit_answers(__version__),
    }


def render_template(destination: Path, answers: dict[str, object], version: str = __version__) -> None:
    """Render template ``version`` into ``destination`` with copier, non-interactively, from a throwaway git
    repository of the template's versions, so the answers record the version (``_commit``) an upgrade starts from.
    """
    from copier import run_copy  # imported here: copier is slow to import and only `init` needs it

    versions = template_versions()
    wanted = require_known(versions, version, "template version", "give one of those")
    with tempfile.TemporaryDirectory(prefix="dmesh-template-") as scratch:
        repository = template_repository([v for v in versions if v == wanted], Path(scratch) / "template")
        run_copy(
            str(repository),
            str(destination),
            data={**answers, "dmesh_version": version},
            vcs_ref=version,
            defaults=True,
            overwrite=True,
            quiet=True,
            unsafe=False,
        )
    record_answers(destination, _src_path=TEMPLATE_SOURCE)


def move_into_place(staging: Path, destination: Path) -> None:
    """Move a completely rendered project from ``staging`` to ``destination``, replacing what --force allows."""
    if not destination.exists():
        os.replace(staging, destination)
        return
    for entry in staging.iterdir():
        target = destination / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(entry, target)


def _scratch_beside(destination: Path, domain: str) -> tempfile.TemporaryDirectory[str]:
    """The directory the project is rendered in before it is moved into place: beside ``destination``, so the
    move is a rename on one file system; UsageError when it cannot be made there."""
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix=f".{domain}-", dir=destination.parent)
    except OSError as error:
        raise UsageError(f"cannot create {destination} ({error.strerror}); choose another --dir") from None


def init_project(options: InitOptions) -> DomainProject:
    """Create a dbt project for one domain; nothing is left behind if any step fails."""
    validate_domain_name(options.domain)
    owner = options.owner or placeholder_owner(options.domain)
    validate_owner(owner)
    destination = (options.directory or Path(options.domain)).resolve()
    check_destination(destination, options.force)
    answers = template_answers(options, owner)

    with _scratch_beside(destination, options.domain) as scratch:
        staging = Path(scratch) / options.domain
        render_template(staging, answers)
        if options.run_deps:
            run_dbt(staging, "deps", "--quiet")
        move_into_place(staging, destination)
    return DomainProject(domain=options.domain, path=destination)

"""``dmesh-dbt publish``: put a domain's data products into the registry, once they are built, tested and checked.

A release of a domain is its dbt project ``version`` and holds, per public model version, one ODCS v3 contract of
its *published* (masked) relation, plus one manifest that dbt-loom can read whose public nodes point at those
published relations; from a DuckDB target, also a Parquet snapshot of each published relation, which is all a
DuckDB consumer ever reads. The raw relations never leave the domain.

This module is the gate and the order of steps; the pieces live with their concepts: the project's files and
target in ``project``, the published models and their contracts in ``contracts``, the dbt-loom manifest in
``loom``, the data snapshots in ``snapshots``, storage in ``registry``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dmesh_dbt import inspection
from dmesh_dbt.artifacts import Project, RunResults, load_manifest_keeping_bytes, load_run_results, manifest_document
from dmesh_dbt.contracts import ProductContract, product_contract, published_models, render_contract, server_for
from dmesh_dbt.errors import ConfigError, PolicyViolation
from dmesh_dbt.loom import MANIFEST_FILE, published_manifest
from dmesh_dbt.project import (
    Target,
    ensure_project_id,
    load_descriptor,
    manifest_path,
    newest_source_mtime,
    read_dbt_project,
    registry_url,
    require_real_owner,
    resolve_target,
    run_results_path,
)
from dmesh_dbt.registry import BuiltWith, ProductEntry, PublishOutcome, Registry, Release
from dmesh_dbt.snapshots import Snapshot, export_snapshot, open_warehouse, snapshot_file_name
from dmesh_dbt.templates import installed_package_version, project_template_version
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags

#: The gate a publish must pass: ``(project_dir, registry_url, the manifest read) -> None``, raising
#: PolicyViolation to refuse.
CheckGate = Callable[[Path, str, Project], None]


# --------------------------------------------------------------------------------------- the build must be green


_PASSING_TEST_STATUSES = frozenset({"pass", "warn"})
#: The dbt commands whose run results say whether models built and their tests passed (``args.which``); ``retry``
#: reruns one of them. Any other (``docs generate``, ``compile``, ``show``) replaces run_results.json too.
_BUILD_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot", "retry"})
#: ``args.which`` names the subcommand alone; the command as the user typed it.
_COMMAND_NAMES = {"generate": "docs generate", "serve": "docs serve"}


def require_build_results(results_path: Path, results: RunResults) -> None:
    """run_results.json must be a build's: another dbt command's (``dbt docs generate`` run after the build) lists
    what it did, which says nothing of the build, so listing its successes as the reasons to refuse misleads."""
    if results.command is None or results.command in _BUILD_COMMANDS:
        return
    command = _COMMAND_NAMES.get(results.command, results.command)
    raise PolicyViolation(f"{results_path} is from `dbt {command}`, not a build: run `dbt build` and publish again")


def build_problems(project: Project, results: RunResults) -> list[str]:
    """Why the last dbt run does not show every public model built and every one of its tests passing."""
    problems = []
    for model in project.public_models:
        result = results.result(model.unique_id)
        if result is None:
            problems.append(f"{model.display_name} was not built by the last dbt run")
        elif result.status != "success":
            problems.append(f"{model.display_name} {result.status} in the last dbt run")
        for test in model.tests:
            outcome = results.result(test.unique_id)
            if outcome is None or outcome.status not in _PASSING_TEST_STATUSES:
                status = "did not run" if outcome is None else outcome.status
                problems.append(f"test {test.unique_id.split('.')[2]} of {model.display_name} {status}")
    problems.extend(_failed_unit_tests(project, results))
    return problems


def _failed_unit_tests(project: Project, results: RunResults) -> list[str]:
    """Unit tests of public models that did not pass (their ids are ``unit_test.<project>.<model>.<name>``)."""
    public = {m.name for m in project.public_models}
    return [
        f"unit test {r.unique_id.split('.')[-1]} {r.status}"
        for r in results.results
        if r.unique_id.startswith("unit_test.") and r.unique_id.split(".")[2] in public and r.status != "pass"
    ]


def require_green_build(project: Project, results: RunResults) -> None:
    problems = build_problems(project, results)
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise PolicyViolation(f"not publishing: {shown}; run `dbt build` until it passes, then publish")


def require_current_build(project_dir: Path, results_path: Path) -> None:
    """The last build must be of the project as it is now: publishing an older build would contract stale code."""
    if newest_source_mtime(project_dir) > results_path.stat().st_mtime:
        raise PolicyViolation(
            "not publishing: the project's files changed after the last dbt build (the version bump too); "
            "run `dbt build` again, then publish"
        )


# ---------------------------------------------------------------------------------------------------- publish


@dataclass(frozen=True)
class PublishResult:
    outcome: PublishOutcome
    release: Release
    registry: str
    contracts: tuple[ProductContract, ...]


def release_files(contracts: list[ProductContract], manifest: Mapping[str, Any]) -> dict[str, bytes]:
    files = {c.file_name: render_contract(c).encode() for c in contracts}
    files[MANIFEST_FILE] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def product_entries(contracts: list[ProductContract]) -> tuple[ProductEntry, ...]:
    return tuple(ProductEntry(c.product, c.model_version, c.latest_version, c.file_name) for c in contracts)


def export_snapshots(warehouse: Path, contracts: list[ProductContract], staging: Path) -> list[Snapshot]:
    """Each product version's published relation in the DuckDB file ``warehouse``, as Parquet in ``staging``."""
    with open_warehouse(warehouse) as connection:
        return [
            export_snapshot(
                connection,
                c.relation.schema,
                c.relation.identifier,
                staging / snapshot_file_name(c.product, c.model_version),
            )
            for c in contracts
        ]


@contextmanager
def staged_snapshots(
    target: Target, contracts: list[ProductContract]
) -> Iterator[tuple[tuple[ProductEntry, ...], dict[str, Path]]]:
    """The release's product entries and the snapshot files to store with them, while the files exist: from a
    DuckDB target one Parquet snapshot per product, staged beside the warehouse file (on its disk, not in
    /tmp); elsewhere none, since same-warehouse consumers read the published relations under grants."""
    entries = product_entries(contracts)
    if target.duckdb_path is None:
        yield entries, {}
        return
    with tempfile.TemporaryDirectory(dir=target.duckdb_path.parent, prefix=".dmesh-snapshots-") as staging:
        snapshots = export_snapshots(target.duckdb_path, contracts, Path(staging))
        entries = tuple(
            replace(entry, snapshot=snapshot.file_name, rows=snapshot.rows)
            for entry, snapshot in zip(entries, snapshots, strict=True)
        )
        yield entries, {s.file_name: s.path for s in snapshots}


def publish(
    project_dir: Path,
    registry: str | None = None,
    target: str | None = None,
    *,
    passing_check: CheckGate,
    inspect_rows: int = inspection.DEFAULT_ROWS,
    flags: DbtFlags = DBT_DEFAULTS,
) -> PublishResult:
    """Publish the project's public models as release ``version`` of its domain.

    Refuses (PolicyViolation) unless the last ``dbt build`` built every public model and passed its tests,
    ``passing_check`` passes and the release inspection finds no raw PII in ``inspect_rows`` sampled rows of
    each published relation (``dmesh_dbt.inspection``); then writes the contracts, the dbt-loom manifest and
    the index entry at once, with the template and `dmesh` package versions it was built with. ``flags``
    carry the user's profiles directory (and --vars) to the target's resolution and every dbt run.
    ``passing_check`` is ``dmesh_dbt.check.require_passing_check`` (``dmesh-dbt check`` against the domain's
    last release and its consumers): passed in rather than imported, because one use case never imports
    another, and required (no default), so a library caller cannot publish without deciding on the check.
    """
    project_dir = project_dir.resolve()
    descriptor = load_descriptor(project_dir)
    require_real_owner(project_dir, descriptor)
    manifest_file = manifest_path(project_dir)
    project, manifest_bytes = load_manifest_keeping_bytes(manifest_file)
    if not project.public_models:
        raise ConfigError(f"{descriptor.domain} has no public models to publish; mark a model `access: public`")
    results_path = run_results_path(project_dir)
    results = load_run_results(results_path)
    require_build_results(results_path, results)
    require_green_build(project, results)
    require_current_build(project_dir, results_path)
    resolved = resolve_target(project_dir, target, flags)
    url = registry_url(project_dir, registry)
    store = Registry.open(url)  # an unreachable or malformed registry fails here, before the check runs
    passing_check(project_dir, url, project)  # the very models released, not the file read again
    dbt_project = read_dbt_project(project_dir)
    published = published_models(project, resolved, dbt_project.vars, descriptor.domain)
    inspection.refuse_leaks(inspection.inspect_published(project_dir, resolved, published, inspect_rows))
    version = dbt_project.require_version()
    contracts = [product_contract(p, descriptor, version, server_for(resolved, p.relation)) for p in published]
    manifest = published_manifest(manifest_document(manifest_bytes, str(manifest_file)), published)
    files = release_files(contracts, manifest)
    built_with = BuiltWith(project_template_version(project_dir), installed_package_version(project_dir))
    project_id = ensure_project_id(project_dir)  # the only write to the project, once every check has passed
    with staged_snapshots(resolved, contracts) as (entries, snapshots):
        outcome, release = store.publish(
            descriptor.domain, version, descriptor.owner, entries, files, project_id, snapshots, built_with
        )
    return PublishResult(outcome, release, store.url, tuple(contracts))

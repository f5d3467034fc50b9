"""`dmesh-dbt check` and `dmesh-dbt diff`: read the artifacts, run the policy and the change analysis, report.

The one place that wires artifacts -> policy / changes -> waivers -> Report. It runs ``dbt parse`` only when
the manifest is missing or older than the project's files, so a CI step after ``dbt build`` costs no dbt run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import yaml

from dmesh_dbt.artifacts import (
    Access,
    Column,
    ColumnConstraints,
    Model,
    Project,
    load_manifest,
    parse_manifest,
)
from dmesh_dbt.changes import (
    CHANGE_KINDS,
    KEPT_VERSION_NOT_DEPRECATED,
    Consumer,
    Consumers,
    change_finding,
    compare_projects,
)
from dmesh_dbt.errors import ConfigError, DmeshError, UsageError
from dmesh_dbt.policy import (
    EXPIRED_WAIVER,
    RULES,
    PolicyContext,
    Severities,
    evaluate_policy,
    load_domain_config,
    mask_exceptions,
    resolve_severities,
    split_waivers,
)
from dmesh_dbt.report import Finding, Report, Severity, apply_waivers, sort_findings
from dmesh_dbt.toolkit import run_dbt

if TYPE_CHECKING:
    from dmesh_dbt.contracts import ContractColumn, ProductContract
    from dmesh_dbt.scan.detect import Suspect

MANIFEST = Path("target") / "manifest.json"

#: Files at a project's root that dbt reads; with the resource paths below, what makes a manifest stale.
_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml", "selectors.yml")
_RESOURCE_PATH_DEFAULTS = {
    "model-paths": ["models"],
    "seed-paths": ["seeds"],
    "test-paths": ["tests"],
    "macro-paths": ["macros"],
    "snapshot-paths": ["snapshots"],
    "analysis-paths": ["analyses"],
    "docs-paths": [],
}


@dataclass(frozen=True)
class Baseline:
    """What the current manifest is compared with: a previous manifest, and who consumes its products."""

    project: Project
    label: str  # where it came from, for the report
    consumers: Consumers | None = None
    published: bool = False  # a registry release: columns carry their published (post-masking) types


# ----------------------------------------------------------------------------------------------- check


def run_check(
    project_dir: Path,
    baseline: Baseline | None = None,
    today: date | None = None,
    parse: bool = True,
    sample_rows: int = 0,
    target: str | None = None,
) -> Report:
    """Check a domain project: policy rules, breaking changes against ``baseline``, waivers.

    With ``sample_rows`` the PII backstop also samples that many rows of every relation on ``target`` and
    checks the values, not only the names.
    """
    today = today or date.today()
    manifest_path = ensure_manifest(project_dir) if parse else project_dir / MANIFEST
    project = load_manifest(manifest_path)
    domain = load_domain_config(project_dir, project.name)
    severities = resolve_severities(domain)
    sampled: tuple[Suspect, ...] = ()
    if sample_rows > 0:
        from dmesh_dbt.scan.scanner import find_value_suspects

        sampled = tuple(find_value_suspects(project, project_dir, sample_rows, target))
    findings = evaluate_policy(PolicyContext(project, domain, today, sampled), severities)
    rules = [r.info for r in RULES.values() if severities.of(r.id) is not None]
    notes = [f"manifest: {_display(manifest_path, project_dir)} ({len(project.own_models)} models)"]
    notes.extend(f"mask exception in force: {line}" for line in mask_exceptions(project))
    if baseline is not None:
        current = as_published(project) if baseline.published else project
        comparison = compare_projects(baseline.project, current, baseline.consumers, today)
        findings.extend(_at_severity(comparison.gate_findings, severities))
        rules.extend(k.info for k in CHANGE_KINDS if k.breaking)
        rules.append(KEPT_VERSION_NOT_DEPRECATED)
        notes.append(
            f"compared with {baseline.label}: {len(comparison.changes)} change(s), {len(comparison.breaking)} breaking"
        )
    else:
        notes.append("no baseline (--state or --registry): breaking changes not checked")
    in_force, expired = split_waivers(domain.waivers, today)
    findings.extend(expired)
    rules.append(EXPIRED_WAIVER)
    located = locate_findings(apply_waivers(findings, in_force), project_dir)
    return Report(
        command="check",
        project=domain.name,
        findings=sort_findings(located),
        rules=tuple(rules),
        waivers=in_force,
        notes=tuple(notes),
    )


def _at_severity(findings: Iterable[Finding], severities: Severities) -> Iterator[Finding]:
    """Failing change findings at the severity the policy gives their kind; notes (changes that pass the
    version gate) stay notes."""
    for finding in findings:
        severity = severities.of(finding.rule_id)
        if severity is None:
            continue
        yield finding if finding.severity is Severity.NOTE else replace(finding, severity=severity)


def _display(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def ensure_manifest(project_dir: Path) -> Path:
    """``target/manifest.json``, after running ``dbt parse`` if it is missing or older than a project file."""
    if not (project_dir / "dbt_project.yml").is_file():
        raise UsageError(f"{project_dir} is not a dbt project (no dbt_project.yml); pass --project-dir")
    manifest = project_dir / MANIFEST
    if manifest.is_file() and manifest.stat().st_mtime >= newest_source_mtime(project_dir):
        return manifest
    # No partial parsing: it served stale manifests after file deletions (see shared/facts.md).
    run_dbt(project_dir.resolve(), "parse", "--no-partial-parse", "--quiet")
    return manifest


def newest_source_mtime(project_dir: Path) -> float:
    """The modification time of the newest file dbt parses: its project files and its resource paths."""
    files = (project_dir / name for name in _PROJECT_FILES)
    newest = max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)
    for directory in _resource_paths(project_dir):
        newest = max(newest, _newest_in(directory))
    return newest


def _resource_paths(project_dir: Path) -> list[Path]:
    """The directories dbt_project.yml points dbt at (dbt's defaults where it does not say)."""
    try:
        document = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        document = {}
    paths: list[Path] = []
    for key, default in _RESOURCE_PATH_DEFAULTS.items():
        configured = document.get(key) if isinstance(document, dict) else None
        names = configured if isinstance(configured, list) else default
        paths.extend(project_dir / str(name) for name in names)
    return paths


def _newest_in(directory: Path) -> float:
    newest = 0.0
    stack = [directory]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            else:
                newest = max(newest, entry.stat().st_mtime)
    return newest


# ----------------------------------------------------------------------------------------------- baselines


def baseline_from_state(state: Path, consumers: Consumers | None = None) -> Baseline:
    """The manifest in ``--state DIR`` (or the manifest file itself)."""
    path = state / "manifest.json" if state.is_dir() else state
    if not path.is_file():
        raise UsageError(f"--state {state} holds no manifest.json; point it at the previous run's target/ dir")
    return Baseline(load_manifest(path), f"state {path}", consumers)


def baseline_from_registry(url: str, project_dir: Path) -> Baseline | None:
    """The manifest of the domain's last published release and its recorded consumers; None before any."""
    from dmesh_dbt.registry import Registry

    domain = domain_name(project_dir)
    registry = Registry.open(url)
    release = registry.latest_release(domain)
    if release is None:
        return None
    data = registry.read_file(release, "manifest.json")
    consumers: dict[str, list[Consumer]] = {}
    for record in registry.consumers(domain):
        consumers.setdefault(record.product, []).append(Consumer(record.consumer, record.version, record.columns))
    label = f"{domain} {release.version} published in {registry.url}"
    project = parse_manifest(data, f"the manifest of {label}", regenerate="republish the domain")
    return Baseline(project, label, consumers, published=True)


def as_published(project: Project) -> Project:
    """``project`` with each public model's columns at the types its published relation has after masking,
    to compare it with a release in the registry like for like (a hashed BIGINT is published as text)."""
    from dmesh_dbt.masking import column_masking, published_data_type

    def published_column(model: Model, column: Column) -> Column:
        if column.data_type is None or column.pii is None:
            return column
        try:
            masking = column_masking(model.display_name, column.name, column.meta)
            return replace(column, data_type=published_data_type(masking, column.data_type, project.adapter_type))
        except DmeshError:  # an invalid classification is the policy's finding, not a type change
            return column

    models = tuple(
        replace(m, columns=tuple(published_column(m, c) for c in m.columns)) if m.is_public else m
        for m in project.models
    )
    return replace(project, models=models)


def domain_name(project_dir: Path) -> str:
    """The domain's name: ``domain:`` in dmesh.yml, else the dbt project's ``name``."""
    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        raise UsageError(f"{project_dir} is not a dbt project (no dbt_project.yml); pass --project-dir")
    try:
        document = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise ConfigError(f"{project_file} is not valid YAML; fix the syntax") from None
    return load_domain_config(project_dir, str(document.get("name") or project_dir.name)).name


# ----------------------------------------------------------------------------------------------- diff


def run_diff(old: Path, new: Path, today: date | None = None) -> Report:
    """The classified change list from ``old`` to ``new``: manifests (or dirs holding them), or two published
    ODCS contracts of one product."""
    old_project = _load_side(old)
    new_project = _load_side(new)
    comparison = compare_projects(old_project, new_project, None, today)
    changes = comparison.changes
    kept = [f for f in comparison.gate_findings if f.rule_id == KEPT_VERSION_NOT_DEPRECATED.id]
    findings = [change_finding(c) for c in changes] + kept
    return Report(
        command="diff",
        project=new_project.name,
        findings=sort_findings(findings),
        rules=(*(k.info for k in CHANGE_KINDS), KEPT_VERSION_NOT_DEPRECATED),
        notes=(f"{old} -> {new}: {len(changes)} change(s), {len(comparison.breaking)} breaking",),
    )


def _load_side(path: Path) -> Project:
    """A manifest (file, or a directory holding one) or a published ODCS contract (``*.odcs.yaml``)."""
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        from dmesh_dbt.contracts import parse_contract

        return project_from_contract(parse_contract(path.read_bytes()))
    return load_manifest(_manifest_path(path))


def project_from_contract(contract: ProductContract) -> Project:
    """A published contract as a one-model project, so contracts diff like manifests.

    Published columns carry what survives masking: the PII class, the strategy (none when a mask exception
    publishes the column unmasked), and the keys and nullability the contract promises.
    """
    columns = tuple(
        Column(
            name=c.name,
            data_type=c.physical_type or None,
            description=c.description,
            meta=_contract_column_meta(c),
            pii=c.pii,
            mask=c.masking,
            constraints=ColumnConstraints(not_null=c.required, unique=c.unique, primary_key=c.primary_key),
        )
        for c in contract.columns
    )
    version = f".v{contract.model_version}" if contract.model_version is not None else ""
    model = Model(
        unique_id=f"model.{contract.domain}.{contract.product}{version}",
        name=contract.product,
        package_name=contract.domain,
        version=contract.model_version,
        latest_version=contract.latest_version,
        access=Access.PUBLIC,
        group=None,
        contract_enforced=True,
        database=contract.relation.database,
        schema=contract.relation.schema,
        alias=contract.relation.identifier,
        relation_name=str(contract.relation),
        description=contract.description,
        deprecation_date=_contract_date(contract.deprecation_date),
        columns=columns,
        depends_on=(),
        original_file_path=contract.file_name,
        patch_path=None,
        meta=MappingProxyType({}),
        materialized=contract.materialization,
    )
    return Project(contract.domain, contract.server.type, "", None, (model,), (), (), (), ())


def _contract_column_meta(column: ContractColumn) -> Mapping[str, object]:
    meta: dict[str, object] = {}
    if column.pii:
        meta["pii"] = column.pii
        if column.masking:
            meta["mask"] = column.masking
        else:
            meta["mask_exception"] = {"reason": "published unmasked", "approver": "the published contract"}
    return MappingProxyType(meta)


def _contract_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _manifest_path(path: Path) -> Path:
    if path.is_dir():
        for candidate in (path / "manifest.json", path / MANIFEST):
            if candidate.is_file():
                return candidate
        raise UsageError(f"{path} holds no manifest.json (nor target/manifest.json)")
    return path


# ----------------------------------------------------------------------------------------------- locations


def locate_findings(findings: Sequence[Finding], project_dir: Path) -> list[Finding]:
    """Findings with the line of their model (or column) in the YAML file that declares it."""
    cache: dict[str, list[str]] = {}
    located = []
    for finding in findings:
        line = _line_of(finding, project_dir, cache)
        located.append(replace(finding, line=line) if line else finding)
    return located


def _line_of(finding: Finding, project_dir: Path, cache: dict[str, list[str]]) -> int | None:
    if not finding.path or not finding.model or not finding.path.endswith((".yml", ".yaml")):
        return None
    if finding.path not in cache:
        try:
            cache[finding.path] = (project_dir / finding.path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            cache[finding.path] = []
    lines = cache[finding.path]
    model_line = _find_name(lines, finding.model.split(".v")[0], 0)
    if model_line is None or not finding.column:
        return None if model_line is None else model_line + 1
    column_line = _find_name(lines, finding.column, model_line + 1)
    return (column_line if column_line is not None else model_line) + 1


def _find_name(lines: list[str], name: str, start: int) -> int | None:
    pattern = re.compile(rf"^\s*-?\s*name:\s*[\"']?{re.escape(name)}[\"']?\s*(#.*)?$", re.IGNORECASE)
    return next((i for i in range(start, len(lines)) if pattern.match(lines[i])), None)


# ----------------------------------------------------------------------------------------------- listing


def rules_listing() -> str:
    """Every policy rule (with its documented failing and fixed example) and every change kind."""
    blocks = []
    for rule_id, registered in sorted(RULES.items()):
        body = registered.doc.split("\n", 1)[1] if "\n" in registered.doc else ""
        blocks.append(f"{rule_id} {registered.name}: {registered.summary}\n{body.rstrip()}\n")
    blocks.append(f"{EXPIRED_WAIVER.id} {EXPIRED_WAIVER.name}: {EXPIRED_WAIVER.summary}\n")
    for kind in CHANGE_KINDS:
        label = "breaking, a PII leak" if kind.leak else "breaking" if kind.breaking else "additive"
        blocks.append(f"{kind.id} {kind.name} ({label}): {kind.summary}")
    blocks.append(
        f"{KEPT_VERSION_NOT_DEPRECATED.id} {KEPT_VERSION_NOT_DEPRECATED.name}: {KEPT_VERSION_NOT_DEPRECATED.summary}"
    )
    return "\n".join(blocks) + "\n"

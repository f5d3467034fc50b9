"""`dmesh-dbt check` and `dmesh-dbt diff`: read the artifacts, run the policy and the change analysis, report.

The one place that wires artifacts -> policy / changes -> waivers -> Report. It runs ``dbt compile`` (models
and snapshots: column lineage reads their compiled SQL) only when the manifest is missing, older than the
project's files (``dmesh_dbt.project.ensure_manifest``) or lacks compiled SQL, so a CI step after ``dbt build``
costs no dbt run. ``require_passing_check`` is the gate the CLI hands to ``publish``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from msgspec.structs import replace

from dmesh_dbt.artifacts import Column, Model, Project, collector_paused, load_manifest, parse_manifest
from dmesh_dbt.errors import DmeshError, PolicyViolation, UsageError
from dmesh_dbt.files import read_text_bounded
from dmesh_dbt.lineage import cache_salt
from dmesh_dbt.lineage_cache import LineageCache
from dmesh_dbt.packages import installed_packages, with_packages
from dmesh_dbt.policy import (
    EXPIRED_WAIVER,
    PUBLISHED_PII,
    RULES,
    PolicyContext,
    Severities,
    evaluate_policy,
    load_domain_config,
    mask_exceptions,
    resolve_severities,
    split_waivers,
)
from dmesh_dbt.policy.drift import read_catalog
from dmesh_dbt.policy.mesh import domain_scan_thresholds, load_mesh_policy
from dmesh_dbt.project import catalog_path, compile_manifest, domain_name, ensure_manifest, manifest_path, project_id
from dmesh_dbt.readiness import NO_PRODUCT, readiness_notes
from dmesh_dbt.report import CacheUse, Finding, Report, Severity, apply_waivers, sort_findings
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags

if TYPE_CHECKING:
    from dmesh_dbt.changes import Comparison, Consumers
    from dmesh_dbt.inspection import Leak
    from dmesh_dbt.scan.detect import Suspect


#: The report's line about the baseline when no --state, --registry or dmesh.yml `registry:` names one.
NO_BASELINE = "no baseline (--state, --registry or `registry:` in dmesh.yml): breaking changes not checked"


class Baseline(msgspec.Struct, frozen=True):
    """What the current manifest is compared with: a previous manifest, and who consumes its products."""

    project: Project
    label: str  # where it came from, for the report
    consumers: Consumers | None = None
    published: bool = False  # a registry release: columns carry their published (post-masking) types
    unreadable: tuple[str, ...] = ()  # registry entries that failed verification, said in the report


# ----------------------------------------------------------------------------------------------- check


def run_check(
    project_dir: Path,
    baseline: Baseline | None = None,
    today: date | None = None,
    parse: bool = True,
    sample_rows: int = 0,
    target: str | None = None,
    policy_file: Path | None = None,
    verbose: bool = False,
    no_baseline: str = NO_BASELINE,
    announce: Callable[[str], None] | None = None,
    flags: DbtFlags = DBT_DEFAULTS,
    include_packages: bool = False,
    read: Project | None = None,
) -> Report:
    """Check a domain project: policy rules, breaking changes against ``baseline``, waivers.

    With ``sample_rows`` the PII backstop also samples that many rows of every relation on ``target`` and
    checks the values, not only the names, and the release inspector looks inside every sampled value of the
    published relations (DM012). ``policy_file`` is the platform's mesh policy (else ``$DMESH_POLICY_FILE``,
    else the shipped one); the report names it and its digest. ``verbose`` lists every change from the
    baseline, additive ones too; ``no_baseline`` is the report's line about the baseline when there is none
    (it says why). ``announce`` hears why ``dbt compile`` runs first, when it must. ``flags`` (the user's
    profiles directory and --vars) go to every dbt run, the compile too. ``include_packages`` checks the models
    of installed packages as the project's own. ``read`` is a manifest the caller read already (publish's), checked
    as it is: neither parsed nor read again.
    """
    today = today or date.today()
    if read is not None:
        project, manifest = read, read.manifest_path or manifest_path(project_dir)
    else:
        manifest = (
            ensure_manifest(project_dir, announce, compiled=True, flags=flags, target=target)
            if parse
            else manifest_path(project_dir)
        )
        project = load_manifest(manifest)
        if parse and uncompiled_models(project):  # e.g. the manifest of `dbt parse` or of a partial build
            project = load_manifest(compile_manifest(project_dir, flags, target))
    packages = installed_packages(project, project_dir) if include_packages else {}
    if packages:
        project = with_packages(project, packages)
    domain = load_domain_config(project_dir, project.name)
    mesh = load_mesh_policy(project_dir, policy_file)
    severities = resolve_severities(domain, mesh)
    sampled: tuple[Suspect, ...] = ()
    leaks: tuple[Leak, ...] = ()
    if sample_rows > 0:
        from dmesh_dbt.scan.scanner import scan_values

        thresholds = domain_scan_thresholds(mesh, project_dir)
        scanned = scan_values(project, project_dir, sample_rows, target, flags, thresholds)
        sampled, leaks = scanned.suspects, scanned.leaks
    catalog, catalog_line = read_catalog(project_dir, project, catalog_path(project_dir))  # DM015: YAML vs relations
    # Paused: the rules build what lives until the report (lineage, traces), and each collection would walk the
    # whole manifest again (a third of a 5,000-model check). Parse trees, the only cyclic garbage, are few.
    with collector_paused():
        cache = LineageCache.open(manifest.parent, cache_salt())
        findings = evaluate_policy(PolicyContext(project, domain, today, sampled, mesh, catalog, cache), severities)
        cache.save()
    findings.extend(_leak_findings(leaks, severities))
    rules = [r.info for r in RULES.values() if severities.of(r.id) is not None]
    notes = [f"manifest: {_display(manifest, project_dir)} ({len(project.own_models)} models)"]
    if include_packages:
        included = ", ".join(packages) or "none with models or sources"
        notes.append(f"installed packages checked as the project's own: {included}")
    notes.extend(f"mask exception in force: {line}" for line in mask_exceptions(project))
    notes.extend([catalog_line] if catalog_line else [])
    if any(f.rule_id == NO_PRODUCT for f in findings):  # say what blocks being a domain, not pass vacuously
        notes.extend(readiness_notes(project, project_dir, domain))
    if baseline is not None:
        # Here: the change kinds (and their example projects) cost a check without a baseline (issue 16).
        from dmesh_dbt.changes import CHANGE_KINDS, KEPT_VERSION_NOT_DEPRECATED, change_finding, compare_projects

        current = as_published(project) if baseline.published else project
        comparison = compare_projects(baseline.project, current, baseline.consumers, today)
        findings.extend(_at_severity(comparison.gate_findings, severities))
        rules.extend(k.info for k in CHANGE_KINDS if k.breaking)
        rules.append(KEPT_VERSION_NOT_DEPRECATED)
        if verbose:
            findings.extend(change_finding(c) for c in comparison.changes if not c.breaking)
            rules.extend(k.info for k in CHANGE_KINDS if not k.breaking)
        notes.append(f"compared with {baseline.label}: {_change_count(comparison, verbose)}")
        notes.extend(f"{entry}; a breaking change it would hit is not named" for entry in baseline.unreadable)
    else:
        notes.append(no_baseline)
    in_force, expired = split_waivers(domain.waivers, today)
    findings.extend(expired)
    rules.append(EXPIRED_WAIVER)
    if sample_rows > 0:
        rules.append(PUBLISHED_PII)
    located = locate_findings(apply_waivers(findings, in_force), project_dir)
    return Report(
        command="check",
        project=domain.name,
        findings=sort_findings(located),
        rules=tuple(rules),
        waivers=in_force,
        notes=tuple(notes),
        policy=mesh.stamp,
        lineage_cache=CacheUse(cache.hits, cache.misses),
    )


def _leak_findings(leaks: Iterable[Leak], severities: Severities) -> Iterator[Finding]:
    """DM012 findings for raw PII the release inspector found inside published relations' sampled values."""
    severity = severities.of(PUBLISHED_PII.id)
    if severity is None:
        return
    for leak in leaks:
        yield Finding(PUBLISHED_PII.id, severity, leak.message, model=leak.product, column=leak.column)


def _change_count(comparison: Comparison, verbose: bool) -> str:
    """How many changes there are, and how to list those the report leaves out: every breaking change is listed
    (failing, or as a note when it passes the version gate); additive ones only with ``verbose``."""
    count = f"{len(comparison.changes)} change(s), {len(comparison.breaking)} breaking"
    additive = len(comparison.changes) - len(comparison.breaking)
    if additive and not verbose:
        count += f"; {additive} additive not listed (add --verbose to list every change)"
    return count


def uncompiled_models(project: Project) -> list[Model]:
    """The project's own models and snapshots whose compiled SQL the manifest lacks (column lineage reads it)."""
    return [m for m in project.own_sql_nodes if m.compiled_code is None]


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


# ----------------------------------------------------------------------------------------------- baselines


def baseline_from_state(state: Path, consumers: Consumers | None = None) -> Baseline:
    """The manifest in ``--state DIR`` (or the manifest file itself)."""
    path = state / "manifest.json" if state.is_dir() else state
    if not path.is_file():
        raise UsageError(f"--state {state} holds no manifest.json; point it at the previous run's target/ dir")
    return Baseline(load_manifest(path), f"state {path}", consumers)


def no_release_yet(url: str, project_dir: Path) -> str:
    """The report's line about the baseline when the registry has no release of the domain yet."""
    return (
        f"no baseline: {url} has no release of {domain_name(project_dir)} yet (the first `dmesh-dbt publish` "
        "makes one); breaking changes not checked"
    )


def baseline_from_registry(url: str, project_dir: Path) -> Baseline | None:
    """The manifest of the last release this project published of its domain, and the domain's recorded
    consumers; None before any. Releases another project published under the same name are not a baseline."""
    from dmesh_dbt.changes import Consumer
    from dmesh_dbt.registry import Registry  # here: a check without a baseline reads no registry

    domain = domain_name(project_dir)
    registry = Registry.open(url)
    release = registry.latest_release(domain, project_id(project_dir))
    if release is None:
        return None
    data = registry.read_file(release, "manifest.json")
    consumers: dict[str, list[Consumer]] = {}
    records, corrupt = registry.consumer_scan(domain)
    for record in records:
        consumers.setdefault(record.product, []).append(Consumer(record.consumer, record.version, record.columns))
    label = f"{domain} {release.version} published in {registry.url}"
    project = parse_manifest(data, f"the manifest of {label}", regenerate="republish the domain")
    return Baseline(project, label, consumers, published=True, unreadable=tuple(str(c) for c in corrupt))


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


def require_passing_check(project_dir: Path, url: str, project: Project) -> None:
    """Publish's gate: ``dmesh-dbt check`` of ``project`` (the manifest publish read, and releases) against the
    domain's last published release (and its consumers) must pass; PolicyViolation naming the first failure
    otherwise."""
    # The manifest publish read, not the file again: a build rewriting it meanwhile must not get a release checked
    # on other models than it holds. (Publish has just proven the build current: nothing to parse.)
    report = run_check(project_dir, baseline_from_registry(url, project_dir), read=project)
    failures = report.failures
    if failures:
        first = failures[0]
        impacts = "".join(f" (hits {impact})" for impact in first.impacts)
        raise PolicyViolation(
            f"not publishing: dmesh-dbt check finds {len(failures)} violation(s), first {first.rule_id} "
            f"{first.message}{impacts}; see `dmesh-dbt check --registry {url}`"
        )


# ----------------------------------------------------------------------------------------------- diff


def run_diff(old: Path, new: Path, today: date | None = None) -> Report:
    """The classified change list from ``old`` to ``new``: manifests (or dirs holding them), or two published
    ODCS contracts of one product."""
    from dmesh_dbt.changes import CHANGE_KINDS, KEPT_VERSION_NOT_DEPRECATED, change_finding, compare_projects

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
        # Imported here: the ODCS schema and its pydantic model cost a check that reads no contract.
        from dmesh_dbt.contracts import parse_contract, project_from_contract

        return project_from_contract(parse_contract(read_text_bounded(path, UsageError)))
    return load_manifest(_manifest_path(path))


def _manifest_path(path: Path) -> Path:
    if path.is_dir():
        for candidate in (path / "manifest.json", manifest_path(path)):
            if candidate.is_file():
                return candidate
        raise UsageError(f"{path} holds no manifest.json (nor {manifest_path(path).relative_to(path)})")
    return path


# ----------------------------------------------------------------------------------------------- locations


def locate_findings(findings: Sequence[Finding], project_dir: Path) -> list[Finding]:
    """Findings with the line of their model (or column) in the YAML file that declares it.

    Each YAML file is read and indexed once (``NameIndex``), so locating is linear in the files' size plus
    the number of findings, however many findings point into one file.
    """
    indexes: dict[str, NameIndex] = {}
    located = []
    for finding in findings:
        line = _line_of(finding, project_dir, indexes)
        located.append(replace(finding, line=line) if line else finding)
    return located


def _line_of(finding: Finding, project_dir: Path, indexes: dict[str, NameIndex]) -> int | None:
    if not finding.path or not finding.model or not finding.path.endswith((".yml", ".yaml")):
        return None
    if finding.path not in indexes:
        indexes[finding.path] = NameIndex(_read_lines(project_dir / finding.path))
    index = indexes[finding.path]
    model_line = index.first(finding.model.split(".v")[0], 0)
    if model_line is None or not finding.column:
        return None if model_line is None else model_line + 1
    column_line = index.first(finding.column, model_line + 1)
    return (column_line if column_line is not None else model_line) + 1


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


#: A ``name:`` line whose value is a plain word (no quote, blank or ``#`` inside), optionally quoted.
_PLAIN_NAME_LINE = re.compile(r"^\s*-?\s*name:\s*[\"']?([^\"'\s#]*)[\"']?\s*(#.*)?$", re.IGNORECASE)
_PLAIN_NAME = re.compile(r"[^\"'\s#]+")


class NameIndex:
    """The ``- name: X`` lines of one YAML file, indexed by lower-cased name in one pass.

    ``first(name, start)`` answers what a case-insensitive scan for ``name: <name>`` from line ``start`` would:
    the index gives the candidate lines, and each candidate is confirmed with that scan's own pattern. Lines
    whose name is not ASCII are candidates for every name (Unicode case folding can match them to an ASCII
    name); names the index cannot key (quotes, blanks or ``#`` inside) fall back to the line-by-line scan.
    """

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._by_name: dict[str, list[int]] = {}
        self._unicode: list[int] = []
        for number, line in enumerate(lines):
            # A cheap test first (a third of a large file's lines name something): no letter other than n, a, m
            # and e in either case matches the pattern's `name:` ignoring case, so a line without it cannot match.
            if "name:" not in line.lower():
                continue
            match = _PLAIN_NAME_LINE.match(line)
            if match is None:
                continue
            key = match.group(1)
            if key.isascii():
                self._by_name.setdefault(key.lower(), []).append(number)
            else:
                self._unicode.append(number)
        self._patterns: dict[str, re.Pattern[str]] = {}

    def first(self, name: str, start: int) -> int | None:
        """The first line at or after ``start`` that declares ``name`` (any case), or None."""
        if not _PLAIN_NAME.fullmatch(name):
            pattern = self._pattern(name)
            return next((i for i in range(start, len(self._lines)) if pattern.match(self._lines[i])), None)
        # An indexed line matched _PLAIN_NAME_LINE with exactly this name: the scan's pattern matches it too.
        candidates = self._by_name.get(name.lower(), [])
        at = bisect_left(candidates, start)
        found = candidates[at] if at < len(candidates) else None
        unusual = self._unicode[bisect_left(self._unicode, start) :]
        if unusual:
            pattern, limit = self._pattern(name), len(self._lines) if found is None else found
            found = next((i for i in unusual if i < limit and pattern.match(self._lines[i])), found)
        return found

    def _pattern(self, name: str) -> re.Pattern[str]:
        if name not in self._patterns:
            self._patterns[name] = re.compile(
                rf"^\s*-?\s*name:\s*[\"']?{re.escape(name)}[\"']?\s*(#.*)?$", re.IGNORECASE
            )
        return self._patterns[name]


# ----------------------------------------------------------------------------------------------- listing


def rules_listing() -> str:
    """Every policy rule (with its documented failing and fixed example) and every change kind."""
    from dmesh_dbt.changes import CHANGE_KINDS, KEPT_VERSION_NOT_DEPRECATED

    blocks = []
    for rule_id, registered in sorted(RULES.items()):
        body = registered.doc.split("\n", 1)[1] if "\n" in registered.doc else ""
        blocks.append(f"{rule_id} {registered.name}: {registered.summary}\n{body.rstrip()}\n")
    for info in (EXPIRED_WAIVER, PUBLISHED_PII):
        blocks.append(f"{info.id} {info.name}: {info.summary}\n")
    for kind in CHANGE_KINDS:
        label = "breaking, a PII leak" if kind.leak else "breaking" if kind.breaking else "additive"
        blocks.append(f"{kind.id} {kind.name} ({label}): {kind.summary}")
    blocks.append(
        f"{KEPT_VERSION_NOT_DEPRECATED.id} {KEPT_VERSION_NOT_DEPRECATED.name}: {KEPT_VERSION_NOT_DEPRECATED.summary}"
    )
    return "\n".join(blocks) + "\n"

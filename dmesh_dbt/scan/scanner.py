"""A scan of one dbt project: every column of its models, seeds and sources, by name and (optionally) by value.

``scan_project`` is the ``dmesh-dbt scan`` command: it reads the manifest, optionally samples the warehouse, and
returns a ``ScanResult``; ``scan_values`` is what ``dmesh-dbt check --sample N`` calls. The columns of a
public model's published (masked) relation are scanned as the model's, with ``published=True``, and the release
inspector (``dmesh_dbt.inspection``) looks inside every sampled value of them for raw PII.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from msgspec.structs import replace

from dmesh_dbt.artifacts import Column, Model, Project, Seed, Source, load_catalog
from dmesh_dbt.errors import DbtError, UsageError
from dmesh_dbt.masking import PUBLISHED_SCHEMA_SUFFIX, published_identifier
from dmesh_dbt.pii import ScanThresholds
from dmesh_dbt.project import Target, catalog_path, domain_name, read_dbt_project, resolve_target
from dmesh_dbt.scan.detect import (
    MAX_DISTINCT,
    ColumnRef,
    Explanation,
    Suspect,
    classify,
    explain,
    find_suspects,
    is_unmarked,
)
from dmesh_dbt.scan.sampling import (
    Counted,
    Samples,
    count_duckdb,
    duckdb_reader,
    duckdb_relations_in_schemas,
    sample_through_dbt,
)
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags, dbt_process

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from dmesh_dbt.inspection import Leak


class ScanOptions(msgspec.Struct, frozen=True):
    project_dir: Path
    target: str | None = None
    sample_rows: int = 0  # 0: name signal only
    select: str | None = None
    flags: DbtFlags = DBT_DEFAULTS  # the user's profiles directory and --vars, for every dbt run
    include_packages: bool = False  # also the models and sources of installed packages (reported, never written)
    #: The mesh policy's thresholds as ``scan_thresholds`` resolves them (--policy, dmesh.yml); None: the shipped.
    thresholds: ScanThresholds | None = None
    #: The directory of the manifest read, where ``check`` keeps its lineage cache (parsed SQL, signed): scan reads
    #: and extends it. None: every compiled model is parsed.
    lineage_cache_dir: Path | None = None

    @property
    def report(self) -> float | None:
        return self.thresholds.report if self.thresholds is not None else None


class ScanResult(msgspec.Struct, frozen=True):
    """Suspects and what was looked at to find them (counts only)."""

    suspects: tuple[Suspect, ...]
    columns_scanned: int
    relations_sampled: int = 0
    rows_sampled: int = 0
    target: str | None = None
    seconds: float = 0.0
    published_columns: int = 0  # columns of published (masked) relations checked by value
    leaks: tuple[Leak, ...] = ()  # raw PII the inspector found inside published relations' values


def _refs(node_id: str, relation: str | None, columns: Iterable[Column], public: bool = False) -> Iterator[ColumnRef]:
    columns = tuple(columns)
    siblings = tuple(column.name for column in columns)  # context: one tuple shared by the table's columns
    for column in columns:
        yield ColumnRef(
            node_id, relation, column.name, column.description, column.data_type, column.pii, public, siblings=siblings
        )


def model_columns(model: Model) -> list[ColumnRef]:
    return list(_refs(model.unique_id, model.relation_name, model.columns, model.is_public))


def seed_columns(seed: Seed, project_dir: Path | None = None) -> list[ColumnRef]:
    """Documented seed columns, plus those only its ``column_types`` or its CSV header name."""
    refs = list(_refs(seed.unique_id, seed.relation_name, seed.columns))
    known = {ref.name.lower() for ref in refs}
    extra = dict(seed.column_types)
    for name in _csv_header(project_dir / seed.original_file_path) if project_dir else ():
        extra.setdefault(name, "")
    for name, data_type in extra.items():
        if name.lower() not in known:
            known.add(name.lower())
            refs.append(ColumnRef(seed.unique_id, seed.relation_name, name, "", data_type or None))
    return refs


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except OSError:
        return []


def source_columns(source: Source) -> list[ColumnRef]:
    return list(_refs(source.unique_id, source.relation_name, source.columns))


def project_columns(project: Project, project_dir: Path | None = None, only: set[str] | None = None) -> list[ColumnRef]:
    """Every documented column of the project's own models, seeds and sources (``only``: these unique ids)."""
    refs: list[ColumnRef] = []
    for model in project.own_models:
        refs.extend(model_columns(model))
    for seed in project.seeds:
        if project.owns_package(seed.package_name):
            refs.extend(seed_columns(seed, project_dir))
    for source in project.sources:
        if project.owns_package(source.package_name):
            refs.extend(source_columns(source))
    if project_dir is not None:
        refs.extend(_catalog_columns(project_dir, _relations(project), refs))
    return [ref for ref in refs if only is None or ref.node_id in only]


def _relations(project: Project) -> dict[str, str | None]:
    """unique id -> relation name of the project's own models, seeds and sources."""
    nodes: list[Model | Seed | Source] = [*project.own_models, *project.seeds, *project.sources]
    return {n.unique_id: n.relation_name for n in nodes if project.owns_package(n.package_name)}


def _catalog_columns(
    project_dir: Path, relation_of: Mapping[str, str | None], documented: Sequence[ColumnRef]
) -> list[ColumnRef]:
    """Columns that ``dbt docs generate`` found in the warehouse (``catalog_path``) but no YAML documents; none
    without a catalog. A catalog that is there but unreadable is an ArtifactError naming it (exit 2)."""
    path = catalog_path(project_dir)
    if not path.is_file():
        return []  # no catalog: the documented columns are what there is
    catalog = load_catalog(path)
    known = {(ref.node_id, ref.name.lower()) for ref in documented}
    extra: list[ColumnRef] = []
    for node_id, columns in catalog.types.items():
        if node_id not in relation_of:
            continue
        for name, data_type in columns.items():
            if (node_id, name.lower()) not in known:
                known.add((node_id, name.lower()))
                extra.append(ColumnRef(node_id, relation_of[node_id], name, "", data_type))
    return extra


def scan_values(
    project: Project,
    project_dir: Path,
    sample_rows: int,
    target: str | None = None,
    flags: DbtFlags = DBT_DEFAULTS,
    thresholds: ScanThresholds | None = None,
) -> ScanResult:
    """Suspects by name *and* sampled values (``check --sample``), published (masked) relations included, and
    the inspector's leaks in those."""
    rows = max(sample_rows, 1)
    options = ScanOptions(project_dir=project_dir, target=target, sample_rows=rows, flags=flags, thresholds=thresholds)
    return scan_project(project, options)


def scan_project(project: Project, options: ScanOptions) -> ScanResult:
    """Name signal on every column; with ``sample_rows`` also the value signal, and the published relations."""
    started = time.monotonic()
    if options.include_packages:
        from dmesh_dbt.packages import installed_packages, with_packages

        project = with_packages(project, installed_packages(project, options.project_dir))
    only = select_nodes(options.project_dir, options.select, options.target, options.flags) if options.select else None
    columns = project_columns(project, options.project_dir, only)
    if options.sample_rows <= 0:
        suspects = with_lineage(project, find_suspects(columns, report=options.report), only, options.lineage_cache_dir)
        return ScanResult(tuple(suspects), len(columns), seconds=time.monotonic() - started)
    result = _scan_with_values(project, options, columns, only, started)
    inherited = with_lineage(project, list(result.suspects), only, options.lineage_cache_dir)
    return replace(result, suspects=tuple(inherited))


def with_lineage(
    project: Project, suspects: list[Suspect], only: set[str] | None = None, cache_dir: Path | None = None
) -> list[Suspect]:
    """``suspects`` and, for columns of public models no other signal suspects, the class they inherit through
    column lineage of the compiled SQL (certain, where the manifest carries it: after dbt compile or build).
    With ``cache_dir``, each model's parsed SQL comes from check's lineage cache there when it is unchanged."""
    if not any(m.compiled_code for m in project.public_models):
        return suspects
    from dmesh_dbt.lineage import Lineage, cache_salt
    from dmesh_dbt.lineage_cache import LineageCache
    from dmesh_dbt.pii import PiiClass
    from dmesh_dbt.policy.pii_lineage import inherited_classes

    known = {(s.node_id, s.column.lower()) for s in suspects}
    found = list(suspects)
    cache = LineageCache.open(cache_dir, cache_salt()) if cache_dir is not None else None
    inherited_by_lineage = list(inherited_classes(Lineage(project, cache)))  # all parsed before the save
    if cache is not None:
        cache.save(prune=False)  # scan reads only what public columns reach: check's other entries stay
    for inherited in inherited_by_lineage:
        model = inherited.model
        if (model.unique_id, inherited.column.lower()) in known or (only is not None and model.unique_id not in only):
            continue
        if inherited.pii_class not in {c.value for c in PiiClass}:
            continue
        found.append(
            Suspect(
                model.unique_id,
                model.relation_name,
                inherited.column,
                PiiClass(inherited.pii_class),
                1.0,
                inherited.upstream,
                "lineage",
                None,
                public=True,
            )
        )
    return sorted(found, key=lambda s: (s.published, s.node_id, s.column))


def adoption_suspects(project: Project, options: ScanOptions, public_ids: set[str]) -> list[Suspect]:
    """Suspects among the columns of the models about to be made public (``public_ids``), for ``adopt``.

    Every column of the project is scored by name (and, with ``sample_rows``, by value); lineage then runs as if
    those models were already public and every upstream suspect already classified: fail closed, a column fed
    unreduced by a suspect is one, of the suspect's class.
    """
    found = [s for s in scan_project(project, replace(options, select=None)).suspects if not s.published]
    assumed = _assuming(project, found, public_ids)
    return [s for s in with_lineage(assumed, found, public_ids) if s.node_id in public_ids and not s.published]


def _assuming(project: Project, suspects: Sequence[Suspect], public_ids: set[str]) -> Project:
    """``project`` with the ``public_ids`` models public and each suspect column classified as suspected."""
    from dmesh_dbt.artifacts import Access

    classes: dict[str, dict[str, str]] = {}
    for suspect in suspects:
        classes.setdefault(suspect.node_id, {})[suspect.column] = str(suspect.pii_class)

    def columns(node_id: str, existing: tuple[Column, ...]) -> tuple[Column, ...]:
        wanted = classes.get(node_id, {})
        marked = tuple(_classified(c, wanted.get(c.name)) for c in existing)
        known = {c.name.lower() for c in existing}
        added = tuple(_classified(_bare(name), pii) for name, pii in wanted.items() if name.lower() not in known)
        return marked + added

    def model(node: Model) -> Model:
        access = Access.PUBLIC if node.unique_id in public_ids else node.access
        return replace(node, access=access, columns=columns(node.unique_id, node.columns))

    return replace(
        project,
        models=tuple(model(m) for m in project.models),
        seeds=tuple(replace(s, columns=columns(s.unique_id, s.columns)) for s in project.seeds),
        sources=tuple(replace(s, columns=columns(s.unique_id, s.columns)) for s in project.sources),
    )


def _bare(name: str) -> Column:
    from dmesh_dbt.artifacts import ColumnConstraints

    return Column(name, None, "", {}, None, None, ColumnConstraints())


def _classified(column: Column, pii: str | None) -> Column:
    return column if pii is None else replace(column, pii=pii, meta={**column.meta, "pii": pii})


def _scan_with_values(
    project: Project, options: ScanOptions, columns: list[ColumnRef], only: set[str] | None, started: float
) -> ScanResult:
    target = resolve_target(options.project_dir, options.target, options.flags)
    relations = sorted({c.relation for c in columns if c.relation})
    published: dict[str, Model] = {}
    if target.duckdb_path is not None:
        with duckdb_reader(target.duckdb_path) as connection:  # one connection: each opens the file's catalog
            published = _published_relations(project, connection, only)
            samples = count_duckdb(connection, [*relations, *published], options.sample_rows, MAX_DISTINCT)
        inspected = {model.unique_id for model in published.values()}
    else:
        samples = Counted.of(_sample_through_dbt(options, target, columns))
        inspected = {model.unique_id for model in project.public_models if only is None or model.unique_id in only}
    leaks = _inspect_published(project, options, target, inspected)
    columns = columns + _undocumented_columns(columns, samples, published)
    by_column = _values_by_column(samples, columns)
    suspects = find_suspects(columns, by_column, options.report)
    published_columns = sum(1 for c in columns if c.published)
    rows = sum(samples.rows.values())
    seconds = time.monotonic() - started
    return ScanResult(
        tuple(suspects), len(columns), len(samples.values), rows, target.name, seconds, published_columns, tuple(leaks)
    )


def _sample_through_dbt(options: ScanOptions, target: Target, columns: Sequence[ColumnRef]) -> Samples:
    relations = sorted({c.relation for c in columns if c.relation})
    wanted = {r: [c.name for c in columns if c.relation == r] for r in relations}
    sql_names = {c.relation: dbt_reference(c.node_id) for c in columns if c.relation}
    return sample_through_dbt(
        options.project_dir, target.name, wanted, options.sample_rows, sql_names, target.type, target.flags
    )


def explain_column(project: Project, options: ScanOptions, spec: str) -> list[Explanation]:
    """``scan --explain RELATION.COLUMN``: the evidence and score of each column ``spec`` names (``customers.email``).

    RELATION is a model, seed or source table name as written in dbt (or the last part of the warehouse relation).
    """
    relation, _, name = spec.strip().rpartition(".")
    if not relation or not name:
        raise UsageError(f"--explain {spec!r}: name the column as RELATION.COLUMN, e.g. customers.email")
    columns = [
        c
        for c in project_columns(project, options.project_dir)
        if c.name.lower() == name.lower() and relation.lower() in _relation_names(c)
    ]
    if not columns:
        raise UsageError(f"--explain {spec!r} names no documented column of this project's models, seeds or sources")
    samples = Counted({}, {})
    if options.sample_rows > 0:
        target = resolve_target(options.project_dir, options.target)
        relations = sorted({c.relation for c in columns if c.relation})
        if target.duckdb_path is not None:
            samples = count_duckdb(target.duckdb_path, relations, options.sample_rows, MAX_DISTINCT)
        else:
            samples = Counted.of(_sample_through_dbt(options, target, columns))
    by_column = _values_by_column(samples, columns)
    return [explain(c, by_column.get((c.relation, c.name)) if c.relation else None, options.report) for c in columns]


def _relation_names(column: ColumnRef) -> set[str]:
    """What a user may call the column's relation: its dbt name (``customers``) or its warehouse identifier."""
    kind, _, rest = column.node_id.partition(".")
    parts = rest.split(".")
    names = {parts[-1].lower()} if kind == "source" else {parts[1].lower()} if len(parts) > 1 else set()
    if column.relation:
        names.add(column.relation.rsplit(".", 1)[-1].strip('"`').lower())
    return names


def _inspect_published(project: Project, options: ScanOptions, target: Target, model_ids: set[str]) -> list[Leak]:
    """The release inspector on the published relations of ``model_ids`` (those built, on DuckDB)."""
    if not model_ids:
        return []  # nothing published: no need to load the contracts' ODCS models
    from dmesh_dbt.contracts import published_models
    from dmesh_dbt.inspection import inspect_published  # the release inspector: only published relations need it

    dbt_project = read_dbt_project(options.project_dir)
    domain = domain_name(options.project_dir)
    chosen = [p for p in published_models(project, target, dbt_project.vars, domain) if p.model.unique_id in model_ids]
    return inspect_published(options.project_dir, target, chosen, options.sample_rows) if chosen else []


def dbt_reference(node_id: str) -> str:
    """``{{ ref('name') }}`` or ``{{ source('src', 'table') }}``: the node's relation as dbt resolves it per target."""
    kind, _, rest = node_id.partition(".")
    parts = rest.split(".")
    if kind == "source":
        return f"{{{{ source('{parts[1]}', '{parts[2]}') }}}}"
    if kind == "model" and len(parts) > 2 and parts[2].startswith("v"):
        return f"{{{{ ref('{parts[1]}', v={parts[2][1:]}) }}}}"
    return f"{{{{ ref('{parts[1]}') }}}}"


def _values_by_column(samples: Counted, columns: Iterable[ColumnRef]) -> dict[tuple[str, str], dict[str, int]]:
    """The counted non-null sampled values of each sampled column, matched by name case-insensitively, with one
    lower-cased index per relation: a table of 200 columns would otherwise index its names 200 times."""
    lowered = {
        relation: {name.lower(): kept for name, kept in by_name.items()} for relation, by_name in samples.values.items()
    }
    return {
        (c.relation, c.name): lowered[c.relation].get(c.name.lower(), {})
        for c in columns
        if c.relation is not None and c.relation in lowered
    }


def _published_relations(
    project: Project, database: Path | DuckDBPyConnection, only: set[str] | None
) -> dict[str, Model]:
    """Published (masked) relations of the public models, found in the warehouse's ``*_published`` schemas."""
    existing = {
        r.rsplit(".", 1)[-1].strip('"').lower(): r
        for r in duckdb_relations_in_schemas(database, PUBLISHED_SCHEMA_SUFFIX)
    }
    published: dict[str, Model] = {}
    for model in project.public_models:
        if only is not None and model.unique_id not in only:
            continue
        relation = existing.get(published_identifier(model.name, model.version).lower())
        if relation is not None:
            published[relation] = model
    return published


def _undocumented_columns(
    columns: Sequence[ColumnRef], samples: Counted, published: Mapping[str, Model]
) -> list[ColumnRef]:
    """Columns the warehouse has but no YAML documents, and every column of the published relations."""
    node_of = {c.relation: c.node_id for c in columns if c.relation}
    known = {(c.relation, c.name.lower()) for c in columns}
    extra: list[ColumnRef] = []
    for relation, sampled in samples.values.items():
        model = published.get(relation)
        for name, values in sampled.items():
            if model is not None:
                # A published column with no non-null value in the sample was masked to NULL.
                if values:
                    extra.append(ColumnRef(model.unique_id, relation, name, public=True, published=True))
            elif (relation, name.lower()) not in known and relation in node_of:
                extra.append(ColumnRef(node_of[relation], relation, name))
    return extra


def select_nodes(project_dir: Path, selector: str, target: str | None, flags: DbtFlags = DBT_DEFAULTS) -> set[str]:
    """Unique ids of the models, seeds and sources ``dbt ls --select SELECTOR`` lists."""
    args = [
        "ls", "--select", selector, "--output", "json",
        "--output-keys", "unique_id", "--resource-types", "model", "seed", "source", "--quiet",
    ]  # fmt: skip
    if target:
        args += ["--target", target]
    result = dbt_process(project_dir, *args, flags=flags)
    if result.returncode != 0:
        raise DbtError(f"dbt ls --select {selector!r} failed: {(result.stdout + result.stderr).strip()[-300:]}")
    ids = {_unique_id(line) for line in result.stdout.splitlines()} - {None}
    if not ids:
        raise UsageError(f"--select {selector!r} selects no model, seed or source; check the selector")
    return {i for i in ids if i}


def _unique_id(line: str) -> str | None:
    try:
        document = json.loads(line)
    except json.JSONDecodeError:
        return None
    return str(document["unique_id"]) if isinstance(document, dict) and "unique_id" in document else None


__all__ = [
    "ScanOptions",
    "ScanResult",
    "adoption_suspects",
    "Suspect",
    "explain_column",
    "classify",
    "scan_values",
    "is_unmarked",
    "project_columns",
    "scan_project",
]

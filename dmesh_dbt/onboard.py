"""``dmesh-dbt onboard``: a schema the loader filled becomes documented, typed, PII-marked staging models.

One command reads the raw tables through the project's own dbt target (the ``dmesh.describe_schema`` macro lists
tables and columns through the adapter; ``dbt show`` samples values), proposes a PII class for every column whose
name or values point at one (scan's detection, fail closed: the proposal is set, a reviewer may replace it with a
reasoned ``pii: none``), and writes per table a sources entry, a private staging model and its properties file,
then builds them. Files are compared with what is already there: equal is left alone, different (hand-edited) is
kept and reported, never overwritten, so a second run changes nothing. A run that writes nothing still builds the
models whose last build (``target/run_results.json``) did not succeed, so rerunning after a failed build is the fix.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dmesh_dbt.artifacts import load_run_results
from dmesh_dbt.errors import ArtifactError, ConfigError, DbtError, UsageError
from dmesh_dbt.files import (
    inside_project,
    load_round_trip,
    parse_yaml,
    read_text_bounded,
    round_trip_yaml,
    unified_diff,
    write_atomically,
)
from dmesh_dbt.identifiers import NameKind, is_valid
from dmesh_dbt.project import (
    DBT_PROJECT_FILE,
    Target,
    load_descriptor,
    private_target,
    read_dbt_project,
    resolve_target,
    run_results_path,
)
from dmesh_dbt.scan.detect import ColumnRef, Suspect, classify
from dmesh_dbt.scan.sampling import Samples, sample_through_dbt
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags, dbt_process, log_events, run_dbt
from dmesh_dbt.warehouse import explain_failure

#: Where onboarded staging models live: one folder per source, as dbt's style guide lays staging out.
STAGING_DIR = Path("models") / "staging"
#: The line ``dmesh.describe_schema`` prints before its JSON.
DESCRIBE_MARK = "dmesh-describe-schema: "
#: Rows sampled per table unless --sample-rows says otherwise.
DEFAULT_SAMPLE_ROWS = 100
#: Freshness when dmesh.yml's ``sla.freshness`` sets none (dbt's own example thresholds).
DEFAULT_FRESHNESS: Mapping[str, Any] = {
    "warn_after": {"count": 24, "period": "hour"},
    "error_after": {"count": 48, "period": "hour"},
}
GENERATED_BY = "dmesh-dbt onboard"
#: Where onboard's reading dbt runs (describe, sample) write their artifacts, inside the target path
#: (``private_target``). Not the target path itself: its run_results.json must stay the last build's, which
#: publish reads and onboard reads to tell whether its models built.
READ_TARGET_PATH = "dmesh-onboard"


# ------------------------------------------------------------------------------------------- the raw schema


@dataclass(frozen=True)
class RawColumn:
    name: str
    data_type: str  # as dbt's Column.data_type renders it
    catalog_type: str = ""  # the catalog's own name (Column.dtype): `character` where dbt says character varying


@dataclass(frozen=True)
class RawTable:
    name: str
    relation: str  # as the adapter renders it, quoted: what a sampling query reads
    columns: tuple[RawColumn, ...]


@dataclass(frozen=True)
class RawSchema:
    adapter: str
    schema: str
    tables: tuple[RawTable, ...]


def describe_schema(project_dir: Path, schema: str, target: Target, tables: Sequence[str] = ()) -> RawSchema:
    """The tables of ``schema`` (all, or those named) with their columns, read through dbt on ``target``."""
    args: dict[str, Any] = {"schema": schema}
    if tables:
        args["tables"] = list(tables)
    result = dbt_process(
        project_dir, "run-operation", "describe_schema", "--args", json.dumps(args),
        "--log-format", "json", "--target", target.name,
        "--target-path", str(private_target(project_dir, READ_TARGET_PATH)), flags=target.flags,
    )  # fmt: skip
    messages = list(_event_messages(result.stdout))
    described = next((m[len(DESCRIBE_MARK) :] for m in messages if m.startswith(DESCRIBE_MARK)), None)
    if result.returncode != 0 or described is None:
        errors = [m for m in messages if "error" in m.lower()] or messages[-2:] or [result.stderr.strip()]
        detail = " ".join(" ".join(errors[-2:]).split())[:400]
        raise explain_failure(detail, target.name, target.type) or DbtError(
            f"cannot list schema {schema!r} on target {target.name!r}: {detail}"
        )
    return _parse_schema(json.loads(described))


def _event_messages(stdout: str) -> Iterable[str]:
    for event in log_events(stdout):
        info = event.get("info")
        yield str(info.get("msg", "")) if isinstance(info, dict) else ""


def _parse_schema(document: Mapping[str, Any]) -> RawSchema:
    tables = tuple(
        RawTable(
            str(table["name"]),
            str(table["relation"]),
            tuple(
                RawColumn(str(c["name"]), str(c["type"] or ""), str(c.get("dtype") or ""))
                for c in table.get("columns") or ()
            ),
        )
        for table in document.get("tables") or ()
    )
    return RawSchema(str(document.get("adapter", "")), str(document["schema"]), tables)


# ------------------------------------------------------------------------------------------------- names

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
#: Words a column may not be called unquoted on at least one of DuckDB, PostgreSQL and BigQuery.
_RESERVED_WORDS = (
    "all and any array as asc between by case cast collate column constraint create cross current_date "
    "current_time current_timestamp default desc distinct else end except exists false fetch for from full group "
    "grouping having in inner intersect interval into is join lateral left like limit natural not null of offset "
    "on or order outer over partition range right rows select some table then to true union unique user using "
    "when where window with"
)
_RESERVED = frozenset(_RESERVED_WORDS.split())


def snake_case(name: str) -> str:
    """``CustomerId`` -> ``customer_id``, ``Full Name`` -> ``full_name``; a leading underscore is kept
    (``_loaded_at``: loaders mark their own columns so), a leading digit gets one."""
    words = _NOT_WORD.sub(" ", _CAMEL.sub(" ", name)).split()
    snake = "_".join(word.lower() for word in words)
    if name.startswith("_"):
        snake = f"_{snake}"
    if not snake or snake[0].isdigit():
        snake = f"_{snake}"
    return snake


def needs_quotes(name: str) -> bool:
    """Whether SQL must quote ``name``: anything but a lowercase identifier that is no reserved word."""
    return _PLAIN.fullmatch(name) is None or name in _RESERVED


# ------------------------------------------------------------------------------------------ types and casts

#: Types that need a cast in staging, per adapter, and why (the comment in the model says it).
_CASTS: dict[str, list[tuple[re.Pattern[str], str, str]]] = {
    "postgres": [
        (re.compile(r"^json$"), "jsonb", "json has no equality: DISTINCT, unique tests and joins need jsonb"),
        (re.compile(r"^(character|char|bpchar)\b(?! varying)"), "text", "fixed-width char pads values with blanks"),
        (re.compile(r"^money$"), "numeric(19, 2)", "money depends on the server's locale"),
    ],
}
_COMPLEX_TYPE = re.compile(r"struct|array|record|map\(|json|\[\]|geography|\bvariant\b|\bobject\b", re.I)
_TIMESTAMP_TYPE = re.compile(r"^(timestamp|datetime|timestamptz)", re.I)


def cast_for(adapter: str, data_type: str) -> tuple[str, str] | None:
    """(type to cast to, why) when a raw column of ``data_type`` should be cast in staging, else None."""
    for pattern, cast_to, why in _CASTS.get(adapter, []):
        if pattern.search(data_type.strip().lower()):
            return cast_to, why
    return None


def documented_type(adapter: str, data_type: str) -> str:
    """The type as the properties files record it (DuckDB's VARCHAR has no length, whatever dbt reports)."""
    if adapter == "duckdb" and data_type.lower().startswith("character varying"):
        return "varchar"
    return data_type.lower() if adapter in ("duckdb", "postgres") else data_type


# ------------------------------------------------------------------------------------------ load timestamps

_LOADED_AT = re.compile(
    r"^_*(etl_|dlt_|airbyte_|fivetran_|sdc_|stitch_|meltano_|dmesh_)?"
    r"(loaded|load|ingested|ingest|synced|sync|extracted|batched|received|inserted)(_at|_time|_ts|_timestamp|_on)?$",
    re.I,
)


def find_loaded_at(table: RawTable, explicit: str | None) -> str | None:
    """The column holding when the loader wrote each row: ``explicit`` (--loaded-at) if the table has it, else
    the first timestamp column named as loaders name it (``_loaded_at``, ``_fivetran_synced``, ...)."""
    names = {column.name for column in table.columns}
    if explicit is not None:
        return explicit if explicit in names else None
    for column in table.columns:
        if _LOADED_AT.match(column.name) and _TIMESTAMP_TYPE.match(column.data_type.strip()):
            return column.name
    return None


# ------------------------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class OnboardOptions:
    project_dir: Path
    schema: str
    tables: tuple[str, ...] = ()
    target: str | None = None
    flags: DbtFlags = DBT_DEFAULTS
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    loaded_at: str | None = None


@dataclass(frozen=True)
class Proposal:
    """A PII class onboard proposes for a raw column, and the evidence a reviewer checks (counts, no values)."""

    pii_class: str
    evidence: str

    @classmethod
    def of(cls, suspect: Suspect) -> Proposal:
        evidence = suspect.evidence or "values"
        if suspect.values is None:
            evidence += "; values not sampled"
        return cls(str(suspect.pii_class), f"{evidence}; confidence {suspect.confidence:.2f}")


@dataclass(frozen=True)
class StagedColumn:
    raw: RawColumn
    name: str  # snake_case
    data_type: str  # as documented: the raw type, or the cast's
    cast: tuple[str, str] | None
    proposal: Proposal | None


@dataclass(frozen=True)
class StagedTable:
    raw: RawTable
    source: str
    name: str  # the source table's name in dbt: snake_case of the raw one
    model: str
    columns: tuple[StagedColumn, ...]
    loaded_at: str | None

    @property
    def proposals(self) -> list[tuple[str, Proposal]]:
        return [(c.raw.name, c.proposal) for c in self.columns if c.proposal is not None]


@dataclass(frozen=True)
class FileChange:
    """One file onboard manages: what is on disk ("" when nothing), what onboard writes, and, where the user's
    version differs from onboard's (a hand edit), what onboard would have written instead (never written)."""

    path: Path  # relative to the project
    before: str
    after: str
    proposed: str | None = None

    @property
    def kept(self) -> bool:
        """The user's edit stays where it differs from what onboard generates."""
        return self.proposed is not None and self.proposed != self.after

    @property
    def status(self) -> str:
        if self.before == self.after:
            return "kept" if self.kept else "unchanged"
        return "created" if not self.before else "updated"

    def diff(self) -> str:
        return unified_diff(self.path.as_posix(), self.before, self.after)

    def kept_diff(self) -> str:
        """How the user's version differs from what onboard would write."""
        return unified_diff(self.path.as_posix(), self.after, self.proposed or self.after)


@dataclass(frozen=True)
class OnboardPlan:
    source: str
    schema: str
    target: str
    adapter: str
    tables: tuple[StagedTable, ...]
    changes: tuple[FileChange, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def writes(self) -> list[FileChange]:
        return [c for c in self.changes if c.status in ("created", "updated")]


def plan_onboarding(options: OnboardOptions) -> OnboardPlan:
    """What onboard would write for ``options``: the raw schema read and sampled, nothing written."""
    project_dir = options.project_dir.resolve()
    if not (project_dir / DBT_PROJECT_FILE).is_file():
        raise UsageError(f"{project_dir} is not a dbt project (no {DBT_PROJECT_FILE}); pass --project-dir")
    if not is_valid(NameKind.RELATION_PART, options.schema):
        raise UsageError(f"invalid schema name {options.schema!r}: use letters, digits, '_', '$' and '-'")
    target = resolve_target(project_dir, options.target, options.flags)
    raw = describe_schema(project_dir, options.schema, target, options.tables)
    _require_tables(raw, options, target.name)
    source = snake_case(options.schema)
    refuse_collisions(project_dir, source, raw.tables)
    samples = _sample(project_dir, target, raw.tables, options.sample_rows)
    staged = tuple(_stage(raw.adapter or target.type, source, t, samples, options.loaded_at) for t in raw.tables)
    freshness = _freshness(project_dir)
    changes = [_sources_change(project_dir, source, options.schema, staged, freshness, target.type)]
    for table in staged:
        changes.append(_file_change(project_dir, _model_path(table), render_model(table)))
        changes.append(_file_change(project_dir, _properties_path(table), render_properties(table)))
    notes = tuple(_notes(staged, options))
    return OnboardPlan(source, options.schema, target.name, target.type, staged, tuple(changes), notes)


def _require_tables(raw: RawSchema, options: OnboardOptions, target: str) -> None:
    """An empty or missing schema, a --table it lacks, or a table whose columns cannot be read: exit 2."""
    if not raw.tables and not options.tables:
        raise ConfigError(
            f"schema {options.schema!r} on target {target!r} has no tables (or does not exist); check the name "
            "and that the loader has run, or pick another --target"
        )
    found = {t.name for t in raw.tables}
    missing = [name for name in options.tables if name not in found]
    if missing:
        raise ConfigError(
            f"schema {options.schema!r} on target {target!r} has no table {missing[0]!r}; "
            "check --table (names are case-sensitive) and that the loader has run"
        )
    for table in raw.tables:
        if not table.columns:
            raise ConfigError(
                f"cannot read the columns of {table.relation} on target {target!r}; grant the target's user "
                "SELECT on it (and USAGE on its schema), or leave it out with --table"
            )
        if not is_valid(NameKind.COLUMN, table.name):
            raise UsageError(f"table {table.name!r} in {options.schema!r}: its name cannot become a dbt source table")
        for column in table.columns:
            if not is_valid(NameKind.COLUMN, column.name):
                raise UsageError(
                    f"column {column.name!r} of {table.relation}: its name cannot be written safely into SQL and "
                    "YAML; rename it in the loader or create a view with a plain name"
                )


def _sample(project_dir: Path, target: Target, tables: Sequence[RawTable], rows: int) -> Samples:
    """Up to ``rows`` values of each scalar column (structs, arrays and JSON are judged by name only)."""
    if rows <= 0:
        return {}
    columns = {t.relation: [c.name for c in t.columns if not _COMPLEX_TYPE.search(c.data_type)] for t in tables}
    return sample_through_dbt(
        project_dir,
        target.name,
        columns,
        rows,
        adapter=target.type,
        flags=target.flags,
        target_path=private_target(project_dir, READ_TARGET_PATH),
    )


def _stage(adapter: str, source: str, table: RawTable, samples: Samples, loaded_at: str | None) -> StagedTable:
    name = snake_case(table.name)
    values = samples.get(table.relation, {})
    columns = []
    for raw in table.columns:
        cast = cast_for(adapter, raw.catalog_type or raw.data_type)
        ref = ColumnRef(f"source.onboard.{source}.{name}", table.relation, raw.name, data_type=raw.data_type)
        sampled = values.get(raw.name)
        suspect = classify(ref, [v for v in sampled if v is not None] if sampled is not None else None)
        documented = cast[0] if cast else documented_type(adapter, raw.data_type)
        proposal = Proposal.of(suspect) if suspect is not None else None
        columns.append(StagedColumn(raw, snake_case(raw.name), documented, cast, proposal))
    return StagedTable(
        table, source, name, model_name(source, table.name), tuple(columns), find_loaded_at(table, loaded_at)
    )


def refuse_collisions(project_dir: Path, source: str, tables: Sequence[RawTable]) -> None:
    """Two tables or two columns that snake_case to one name, a model name another file already defines, or the
    source defined in another file than onboard's (dbt would refuse the project): UsageError, before any sampling."""
    _first_collision((snake_case(t.name), t.name) for t in tables)
    for table in tables:
        _first_collision(((snake_case(c.name), c.name) for c in table.columns), table.relation)
    models = {model_name(source, t.name): t for t in tables}
    folder = STAGING_DIR / source
    ours = {(project_dir / folder / f"{m}{suffix}").resolve() for m in models for suffix in (".sql", ".yml")}
    ours.add((project_dir / _sources_path(source)).resolve())
    for path in sorted((project_dir / "models").rglob("*")):
        if path.resolve() in ours:
            continue
        if path.suffix in (".sql", ".py") and path.stem in models:
            raise UsageError(
                f"model {path.stem} (for {models[path.stem].relation}) already exists as "
                f"{path.relative_to(project_dir)}; rename or remove that model, or leave the table out with --table"
            )
        if path.suffix in (".yml", ".yaml") and source in _sources_defined(path):
            raise UsageError(
                f"source {source} is already defined in {path.relative_to(project_dir)}; onboard keeps it in "
                f"{_sources_path(source)}: move that entry there, or rename it"
            )


def model_name(source: str, table: str) -> str:
    """``stg_<source>__<table>``, as dbt's style guide names staging models."""
    return f"stg_{source}__{snake_case(table)}"


def _sources_defined(path: Path) -> set[str]:
    """Names of the sources a properties file defines (none when it cannot be read: dbt will say why)."""
    try:
        document = parse_yaml(read_text_bounded(path, ConfigError))
    except Exception:  # noqa: BLE001 - a broken file is dbt's to report, not a collision
        return set()
    sources = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(sources, list):
        return set()
    return {str(entry.get("name")) for entry in sources if isinstance(entry, dict)}


def _first_collision(pairs: Iterable[tuple[str, str]], where: str | None = None) -> None:
    seen: dict[str, str] = {}
    for snake, raw in pairs:
        if snake in seen:
            what = f"columns {seen[snake]!r} and {raw!r} of {where}" if where else f"tables {seen[snake]!r} and {raw!r}"
            raise UsageError(
                f"{what} would both be named {snake!r}; rename one in the loader (or a view) before onboarding"
            )
        seen[snake] = raw


def _freshness(project_dir: Path) -> Mapping[str, Any]:
    """The thresholds the domain promises (dmesh.yml ``sla.freshness``), else dbt's example ones."""
    return load_descriptor(project_dir).freshness or DEFAULT_FRESHNESS


def _notes(tables: Sequence[StagedTable], options: OnboardOptions) -> Iterable[str]:
    for table in tables:
        if table.loaded_at is None and options.loaded_at is not None:
            yield f"{table.raw.name}: no column {options.loaded_at!r}, so no freshness block"
        elif table.loaded_at is None:
            yield f"{table.raw.name}: no load timestamp column found, so no freshness block (name one with --loaded-at)"


# ------------------------------------------------------------------------------------------------- paths


def _folder(table: StagedTable) -> Path:
    return STAGING_DIR / table.source


def _sources_path(source: str) -> Path:
    return STAGING_DIR / source / f"_{source}__sources.yml"


def _model_path(table: StagedTable) -> Path:
    return _folder(table) / f"{table.model}.sql"


def _properties_path(table: StagedTable) -> Path:
    return _folder(table) / f"{table.model}.yml"


# ------------------------------------------------------------------------------------------------ rendering


def _sql_name(name: str) -> str:
    """The column as the staging SQL reads it: quoted through the adapter when it is not a plain lowercase name."""
    if needs_quotes(name):
        return "{{ adapter.quote(" + json.dumps(name) + ") }}"
    return name


def render_model(table: StagedTable) -> str:
    """The staging model: every column listed, renamed to snake_case, cast where the type needs it."""
    lines = [
        f"-- Staging model of {table.raw.relation}, written by {GENERATED_BY}: every column, in snake_case.",
        "-- Yours to edit: onboard never overwrites a file that differs from what it would write.",
        "select",
    ]
    for index, column in enumerate(table.columns):
        read = _sql_name(column.raw.name)
        alias = _sql_name(column.name)
        expression = f"cast({read} as {column.cast[0]})" if column.cast else read
        comma = "," if index < len(table.columns) - 1 else ""
        why = f"  -- {column.cast[1]}" if column.cast else ""
        lines.append(f"    {expression if expression == alias else f'{expression} as {alias}'}{comma}{why}")
    lines.append(f"from {{{{ source('{table.source}', '{table.name}') }}}}")
    return "\n".join(lines) + "\n"


def _flow(**items: Any) -> CommentedMap:
    mapping = CommentedMap(items)
    mapping.fa.set_flow_style()
    return mapping


def _proposal_comment(proposal: Proposal) -> str:
    return f"proposed by onboard ({proposal.evidence}): review; not PII? pii: none, pii_reason: why"


def _column_entry(name: str, column: StagedColumn, quote: bool) -> CommentedMap:
    entry = CommentedMap(name=name, data_type=column.data_type)
    if quote:
        entry["quote"] = True
    if column.proposal is not None:
        entry["meta"] = _flow(pii=column.proposal.pii_class)
        entry.yaml_add_eol_comment(_proposal_comment(column.proposal), "meta")
    return entry


def _loaded_at_field(name: str, adapter: str) -> str:
    """The SQL dbt puts into its freshness query: the column, quoted as the adapter quotes when it must be."""
    if not needs_quotes(name):
        return name
    return f"`{name}`" if adapter == "bigquery" else json.dumps(name)


def source_table_entry(table: StagedTable, freshness: Mapping[str, Any], adapter: str) -> CommentedMap:
    """The table's entry in the sources YAML: every raw column with its type and proposed PII class."""
    entry = CommentedMap(name=table.name)
    if table.name != table.raw.name:
        entry["identifier"] = table.raw.name
    entry["description"] = f"{table.raw.name} as the loader lands it in {table.raw.relation}."
    if table.loaded_at is not None:
        entry["config"] = CommentedMap(
            loaded_at_field=_loaded_at_field(table.loaded_at, adapter),
            freshness=_flow(**{key: _flow(**value) for key, value in freshness.items() if isinstance(value, dict)}),
        )
    raw_columns = CommentedSeq()
    for column in table.columns:
        raw_columns.append(_column_entry(column.raw.name, column, needs_quotes(column.raw.name)))
    entry["columns"] = raw_columns
    return entry


def _dump(document: Any) -> str:
    buffer = io.StringIO()
    round_trip_yaml().dump(document, buffer)
    return buffer.getvalue()


def render_properties(table: StagedTable) -> str:
    """The staging model's properties: private, described, each column typed and PII-marked as proposed."""
    columns = CommentedSeq(_column_entry(c.name, c, False) for c in table.columns)
    model = CommentedMap(
        name=table.model,
        description=f"{table.raw.name} from source {table.source}, renamed to snake_case. Private to the domain.",
        columns=columns,
    )
    document = CommentedMap(models=CommentedSeq([model]))
    document.yaml_set_start_comment(f"Written by {GENERATED_BY}; yours to edit (onboard then leaves it alone).")
    return _dump(document)


# -------------------------------------------------------------------------------------- comparing with disk


def _file_change(project_dir: Path, relative: Path, after: str) -> FileChange:
    path = inside_project(project_dir, relative)
    before = read_text_bounded(path, ConfigError) if path.is_file() else ""
    if before and before != after and not _same_yaml(relative, before, after):
        return FileChange(relative, before, before, proposed=after)
    return FileChange(relative, before, before or after)


def _same_yaml(path: Path, before: str, after: str) -> bool:
    """Whether two properties files say the same (only comments differ: the evidence of a proposal changes with
    the sample, the proposal does not)."""
    if path.suffix != ".yml":
        return False
    try:
        return bool(parse_yaml(before) == parse_yaml(after))
    except Exception:  # noqa: BLE001 - a file the user broke differs from onboard's
        return False


def _sources_change(
    project_dir: Path,
    source: str,
    schema: str,
    tables: Sequence[StagedTable],
    freshness: Mapping[str, Any],
    adapter: str,
) -> FileChange:
    """The sources file with each table's entry added; an entry already there stays as it is (equal, or the
    user's edit: then the change is marked kept and its diff shows what onboard would have written)."""
    relative = _sources_path(source)
    path = inside_project(project_dir, relative)
    before = read_text_bounded(path, ConfigError) if path.is_file() else ""
    document = load_round_trip(path) if before else None
    if document is None:
        document = CommentedMap(sources=CommentedSeq())
        document.yaml_set_start_comment(
            f"Raw tables of schema {schema}, written by {GENERATED_BY}. PII classes are proposals: review each."
        )
    tables_seq = _source_entry(document, relative, source, schema).setdefault("tables", CommentedSeq())
    edited: list[tuple[int, CommentedMap]] = []
    added = not before
    for table in tables:
        generated = source_table_entry(table, freshness, adapter)
        index = next((i for i, t in enumerate(tables_seq) if isinstance(t, dict) and t.get("name") == table.name), None)
        if index is None:
            tables_seq.append(generated)
            added = True
        elif _plain(tables_seq[index]) != _plain(generated):
            edited.append((index, generated))
    after = _dump(document) if added else before  # nothing new: the user's formatting is not re-dumped
    if not edited:
        return FileChange(relative, before, after)
    for index, generated in edited:  # the user's entries stay; onboard's show in the diff of what was kept
        tables_seq[index] = generated
    return FileChange(relative, before, after, proposed=_dump(document))


def _source_entry(document: Any, path: Path, source: str, schema: str) -> Any:
    """The entry of ``source`` in the properties ``document`` (appended when missing)."""
    if not isinstance(document, dict) or not isinstance(document.get("sources", CommentedSeq()), list):
        raise ConfigError(f"{path} is not a dbt properties file with a `sources:` list; fix it or move it away")
    sources = document.setdefault("sources", CommentedSeq())
    for entry in sources:
        if isinstance(entry, dict) and entry.get("name") == source:
            return entry
    entry = CommentedMap(name=source, description=f"Tables the loader lands in schema {schema}.", schema=schema)
    entry["tables"] = CommentedSeq()
    sources.append(entry)
    return entry


def _plain(value: Any) -> Any:
    """``value`` as plain data (comments and styles dropped), to compare an entry with what onboard generates."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class OnboardResult:
    plan: OnboardPlan
    written: tuple[Path, ...]
    built: tuple[str, ...]  # the models `dbt build` built: all after a write, else those not built successfully


def apply_onboarding(plan: OnboardPlan, options: OnboardOptions) -> OnboardResult:
    """Write the plan's new and changed files (atomically; kept files untouched), then build: everything after a
    write, else only the models whose last build did not succeed (none: no build, so a rerun changes nothing)."""
    project_dir = options.project_dir.resolve()
    writes = plan.writes
    for change in writes:
        write_atomically(inside_project(project_dir, change.path), change.after)
    models = tuple(t.model for t in plan.tables)
    if not writes:
        models = not_built(project_dir, models)
    if models:
        run_dbt(project_dir, "build", "--select", *models, "--target", plan.target, flags=options.flags)
    return OnboardResult(plan, tuple(c.path for c in writes), models)


def not_built(project_dir: Path, models: Sequence[str]) -> tuple[str, ...]:
    """The ``models`` the last dbt run (``run_results_path``) did not build successfully: failed, skipped,
    or absent (never built, or another command's results replaced the build's). No readable results: all of them,
    since building again is the safe answer when onboard cannot tell."""
    project = read_dbt_project(project_dir).name
    try:
        results = load_run_results(run_results_path(project_dir))
    except ArtifactError:
        return tuple(models)
    green = {r.unique_id for r in results.results if r.status == "success"}
    return tuple(m for m in models if f"model.{project}.{m}" not in green)


def _file_json(change: FileChange, diff: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": change.path.as_posix(), "status": change.status, "kept": change.kept}
    if diff:
        entry["diff"] = change.diff()
    return entry


def as_json(result: OnboardResult, diff: bool = False) -> str:
    """The result for ``--format json``: tables, proposals with their evidence, files (with ``diff``, the change
    each would get) and what was built."""
    plan = result.plan
    document = {
        "source": plan.source,
        "schema": plan.schema,
        "target": plan.target,
        "adapter": plan.adapter,
        "tables": [
            {
                "table": t.raw.name,
                "relation": t.raw.relation,
                "model": t.model,
                "columns": [
                    {"name": c.raw.name, "as": c.name, "type": c.data_type, "cast": bool(c.cast)} for c in t.columns
                ],
                "loaded_at": t.loaded_at,
                "pii": [{"column": name, "class": p.pii_class, "evidence": p.evidence} for name, p in t.proposals],
            }
            for t in plan.tables
        ],
        "files": [_file_json(c, diff) for c in plan.changes],
        "built": list(result.built),
        "notes": list(plan.notes),
    }
    return json.dumps(document, indent=2)

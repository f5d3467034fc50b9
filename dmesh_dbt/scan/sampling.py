"""Sampled values from the warehouse: DuckDB read directly, every other adapter through the project's dbt target
(``dmesh_dbt.project.resolve_target`` says which; ``dbt show`` is started through ``dmesh_dbt.toolkit``).

Values come back as strings (what the validators read) or None, keyed by relation and column. They stay in memory
for the validators and are never written out.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmesh_dbt.errors import ConfigError, DbtError
from dmesh_dbt.project import private_target
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags, dbt_process, log_events

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

#: relation name -> column name -> sampled values (None for NULL)
Samples = dict[str, dict[str, list[str | None]]]


# --- DuckDB, read directly --------------------------------------------------------------------------------


def sample_duckdb(database: Path, relations: Sequence[str], rows: int) -> Samples:
    """Up to ``rows`` rows of each relation (a reservoir sample, repeatable) as strings, read-only, every sampled
    value in sample order (``count_duckdb`` gives the same sample counted, as the scanner reads it). Every type but
    numbers is cast to text by DuckDB, in the form ``str()`` gives the Python value (dates, timestamps, decimals,
    UUIDs, lists)."""
    samples: Samples = {}
    for relation, columns, sampled in _fetch_samples(database, relations, rows):
        texts = [[_as_text(v) for v in values] for values in sampled]
        samples[relation] = {name: text for (name, _), text in zip(columns, texts, strict=True)}
    return samples


@dataclass(frozen=True)
class Counted:
    """Sampled values as the validators read them: relation -> column -> {value: times sampled}, non-null values
    only (where capped, the most frequent, ties in the order first sampled); and how many rows each relation gave."""

    values: dict[str, dict[str, dict[str, int]]]
    rows: dict[str, int]

    @classmethod
    def of(cls, samples: Samples) -> Counted:
        """``samples`` (one entry per sampled row and column, None for NULL) counted."""
        values = {
            relation: {name: _counted(sampled) for name, sampled in by_name.items()}
            for relation, by_name in samples.items()
        }
        rows = {relation: max(map(len, by_name.values()), default=0) for relation, by_name in samples.items()}
        return cls(values, rows)


def _counted(sampled: Sequence[str | None]) -> dict[str, int]:
    counts = Counter(sampled)
    counts.pop(None, None)
    return dict(counts.most_common())  # type: ignore[arg-type]  # None popped


@contextmanager
def duckdb_reader(database: Path) -> Iterator[DuckDBPyConnection]:
    """A read-only connection to ``database`` for the reads of one scan: each connection opens the file and reads
    its catalog again."""
    import duckdb

    if not database.is_file():
        raise ConfigError(f"DuckDB database {database} not found; run `dbt build` first (or pick --target)")
    with duckdb.connect(str(database), read_only=True) as connection:
        yield connection


def _reading(database: Path | DuckDBPyConnection) -> Any:
    """A connection to ``database`` (opened and closed here), or ``database`` itself when it is one already."""
    return duckdb_reader(database) if isinstance(database, Path) else nullcontext(database)


def count_duckdb(database: Path | DuckDBPyConnection, relations: Sequence[str], rows: int, distinct: int) -> Counted:
    """Up to ``rows`` rows of each relation (a reservoir sample, repeatable), each column's ``distinct`` most frequent
    non-null values counted, read-only. The validators read values with their counts: spelling every value out
    as often as sampled, to count them again, cost as much as the fetch. Numbers come out of DuckDB as Python
    numbers and are counted as such: only the values kept become strings."""
    values: dict[str, dict[str, dict[str, int]]] = {}
    sampled_rows: dict[str, int] = {}
    for relation, columns, sampled in _fetch_samples(database, relations, rows):
        values[relation] = {
            name: _most_frequent_values(column, data_type, distinct)
            for (name, data_type), column in zip(columns, sampled, strict=True)
        }
        sampled_rows[relation] = len(sampled[0]) if sampled else 0
    return Counted(values, sampled_rows)


def _fetch_samples(
    database: Path | DuckDBPyConnection, relations: Sequence[str], rows: int
) -> Iterator[tuple[str, list[tuple[str, str]], list[tuple[Any, ...]]]]:
    """Each built relation of ``relations``, its columns and DuckDB types, and its sampled values column by column.

    Fetched as Python rows and turned into columns in C: ``fetchnumpy`` would import numpy, a tenth of a second of
    a scan's start-up, for arrays that become Python objects anyway."""
    with _reading(database) as connection:
        types = _column_types(connection)
        for relation in relations:
            columns = types.get(_normalise(relation))
            if not columns:
                continue  # not built (yet), or an ephemeral model: nothing to sample
            select = ", ".join(_as_text_sql(name, data_type) for name, data_type in columns)
            fetched = connection.execute(
                f"select {select} from {relation} using sample reservoir({int(rows)} rows) repeatable (7)"
            ).fetchall()
            yield relation, columns, list(zip(*fetched, strict=True)) if fetched else [() for _ in columns]


#: DuckDB types that come out as Python numbers and print as Python prints them: counted without a string each.
_NUMERIC_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE",
     "BOOLEAN"}
)  # fmt: skip


def _column_types(connection: Any) -> dict[str, list[tuple[str, str]]]:
    """Normalised relation name -> its columns and DuckDB types, in order."""
    rows = connection.execute(
        "select table_catalog, table_schema, table_name, column_name, data_type from information_schema.columns "
        "order by table_catalog, table_schema, table_name, ordinal_position"
    ).fetchall()
    types: dict[str, list[tuple[str, str]]] = {}
    for catalog, schema, table, column, data_type in rows:
        types.setdefault(_normalise(f"{catalog}.{schema}.{table}"), []).append((column, str(data_type)))
    return types


def _as_text_sql(name: str, data_type: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if data_type in _NUMERIC_TYPES:
        return quoted
    if data_type == "BLOB":
        return f"hex({quoted}) as {quoted}"
    return f"cast({quoted} as varchar) as {quoted}"


#: Floating-point types: two NaNs are two keys of a count, but one value as text.
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})


def _most_frequent_values(column: Sequence[Any], data_type: str, distinct: int) -> dict[str, int]:
    """A fetched column's ``distinct`` most frequent non-null values as text, with the times each was sampled; ties
    in the order first sampled (a reservoir sample's order: not the smallest ids, which share a prefix).

    Every type but numbers was cast to text in SQL (BLOBs to hex), so text columns are strings already.
    """
    counts = Counter(column)
    counts.pop(None, None)
    kept = _most_frequent(counts, distinct)
    if data_type not in _NUMERIC_TYPES:
        return dict(kept)
    if data_type not in _FLOAT_TYPES:
        return {str(value): times for value, times in kept}
    as_text: dict[str, int] = {}
    for value, times in kept:
        text = str(value)
        as_text[text] = as_text.get(text, 0) + times
    return as_text


def _most_frequent(counts: Counter[Any], distinct: int) -> list[tuple[Any, int]]:
    """The ``distinct`` most frequent of ``counts``, ties in the order first seen (as ``most_common`` gives them,
    without its heap: a stable sort in C is 3x faster on a column of 1,000 distinct values)."""
    if len(counts) <= distinct:
        return list(counts.items())
    if counts.total() == len(counts):  # every value once (ids, keys, timestamps): the sort would keep this order
        return list(islice(counts.items(), distinct))
    return sorted(counts.items(), key=itemgetter(1), reverse=True)[:distinct]


def duckdb_relations_in_schemas(database: Path | DuckDBPyConnection, schema_suffix: str) -> list[str]:
    """Quoted names of every table and view in schemas whose name ends with ``schema_suffix``."""
    if isinstance(database, Path) and not database.is_file():
        return []
    with _reading(database) as connection:
        rows = connection.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables where table_schema like ?",
            [f"%{schema_suffix}"],
        ).fetchall()
    return [f'"{c}"."{s}"."{t}"' for c, s, t in rows]


def _normalise(relation: str) -> str:
    return relation.replace('"', "").lower()


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


# --- any adapter, through dbt ------------------------------------------------------------------------------

_RELATION_NAME = re.compile(r"^[\w\"`.\- ]+$|^\{\{ (ref|source)\([\w', =]+\) \}\}$")


#: Where ``dbt show`` of a sample writes its artifacts: a directory inside the project's target path, apart
#: from the build's.
SAMPLE_TARGET = "dmesh-sample"


def sample_through_dbt(
    project_dir: Path,
    target: str,
    columns: Mapping[str, Sequence[str]],
    rows: int,
    sql_names: Mapping[str, str] | None = None,
    adapter: str = "",
    flags: DbtFlags = DBT_DEFAULTS,
    target_path: Path | None = None,
) -> Samples:
    """Sample through ``dbt show`` on ``target``: one query, every relation's columns cast to the adapter's string.

    ``columns`` maps each relation to the columns to read (from the manifest: dbt show cannot describe a
    relation); ``sql_names`` gives the SQL for a relation where it differs from its key, e.g. ``{{ ref('x') }}``
    so dbt resolves it for ``target`` (the manifest's relation names are those of the target it was parsed for).
    ``adapter`` (the target's type) lets a failed connection be explained by its cause and fix; ``flags`` are the
    user's profiles directory and --vars; ``target_path`` (by default ``SAMPLE_TARGET`` in the target path) keeps
    dbt's artifacts of the query out of the target path itself: ``dbt show`` writes run_results.json, which would
    replace the last build's, and ``publish`` reads that to require a green build.
    One dbt invocation for the whole scan: each costs seconds of start-up.
    """
    sql_names = sql_names or {}
    parts = []
    for index, (relation, names) in enumerate(columns.items()):
        sql_name = sql_names.get(relation, relation)
        if not names or not _RELATION_NAME.match(sql_name):
            continue
        for name in names:
            parts.append(
                f"select {index} as r, '{_sql_string(name)}' as c, "
                f"cast({{{{ adapter.quote('{_sql_string(name)}') }}}} as {{{{ dbt.type_string() }}}}) as v "
                f"from (select * from {sql_name} limit {int(rows)}) as s{index}"
            )
    if not parts:
        return {}
    inline = "\nunion all\n".join(parts)
    limit = rows * len(parts)
    elsewhere = ("--target-path", str(target_path or private_target(project_dir, SAMPLE_TARGET)))
    result = dbt_process(
        project_dir, "show", "--inline", inline, "--limit", str(limit),
        "--output", "json", "--log-format", "json", "--target", target, *elsewhere, flags=flags,
    )  # fmt: skip
    if result.returncode != 0:
        error = _last_error(result.stdout)
        from dmesh_dbt.warehouse import explain_failure  # its patterns compile at import: only a failure needs them

        raise explain_failure(error, target, adapter) or DbtError(
            f"dbt show failed while sampling on target {target!r}: {error}"
        )
    relations = list(columns)
    samples: Samples = {}
    for row in _show_rows(result.stdout):
        relation = relations[int(row["r"])]
        samples.setdefault(relation, {}).setdefault(str(row["c"]), []).append(_as_text(row["v"]))
    return samples


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _show_rows(stdout: str) -> list[dict[str, Any]]:
    for event in log_events(stdout):
        preview = event.get("data", {}).get("preview")
        if preview is not None:
            rows: list[dict[str, Any]] = json.loads(preview) if isinstance(preview, str) else preview
            return rows
    return []


def _last_error(stdout: str) -> str:
    messages = [
        str(event["info"].get("msg", "")).strip()
        for event in log_events(stdout)
        if event.get("info", {}).get("level") == "error"
    ]
    # dbt's last error event holds the cause after a generic first line ("Encountered an error:").
    text = " ".join(" ".join(messages[-2:]).split()) if messages else "see `dbt show` output"
    return text[:400]

"""Type families across adapters: ``INT64`` (BigQuery), ``BIGINT`` (DuckDB) and ``INTEGER`` (Postgres) are one type.

Types are parsed with sqlglot in the adapter's dialect and compared by family, so a domain that builds on DuckDB
in development and BigQuery in production sees no type change where there is none.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.expressions.datatypes import DType


_ADAPTER_DIALECTS = {
    "duckdb": "duckdb",
    "bigquery": "bigquery",
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "databricks": "databricks",
    "spark": "spark",
    "trino": "trino",
}


@cache
def _family_of() -> dict[DType, str]:
    """sqlglot type -> family name. Built on first use: importing sqlglot costs a check without a baseline
    ~50 ms of start-up for nothing."""
    from sqlglot import exp
    from sqlglot.expressions.datatypes import DType as T

    families: dict[str, frozenset[DType]] = {
        "integer": frozenset(exp.DataType.INTEGER_TYPES | {T.SERIAL, T.BIGSERIAL, T.SMALLSERIAL, T.UINT128, T.UINT256}),
        "float": frozenset(exp.DataType.REAL_TYPES - {T.DECIMAL, T.BIGDECIMAL, T.MONEY, T.SMALLMONEY, T.UDECIMAL}),
        "numeric": frozenset({T.DECIMAL, T.BIGDECIMAL, T.UDECIMAL, T.MONEY, T.SMALLMONEY}),
        "string": frozenset(exp.DataType.TEXT_TYPES | {T.CHAR, T.NCHAR, T.NAME}),
        "boolean": frozenset({T.BOOLEAN}),
        "date": frozenset({T.DATE, T.DATE32}),
        "time": frozenset({T.TIME, T.TIMETZ}),
        "timestamp": frozenset(
            {T.TIMESTAMP, T.TIMESTAMPNTZ, T.DATETIME, T.DATETIME64, T.TIMESTAMP_S, T.TIMESTAMP_MS, T.TIMESTAMP_NS}
        ),
        "timestamp_tz": frozenset({T.TIMESTAMPTZ, T.TIMESTAMPLTZ}),
        "bytes": frozenset({T.BINARY, T.VARBINARY}),
        "json": frozenset({T.JSON, T.JSONB}),
        "geography": frozenset({T.GEOGRAPHY, T.GEOMETRY}),
    }
    return {member: family for family, members in families.items() for member in members}


@cache
def normalize_type(data_type: str, adapter: str = "") -> str:
    """The adapter-independent family of ``data_type``: ``INT64`` (bigquery) and ``bigint`` are both ``integer``.

    Precision and length are dropped (``varchar(20)`` is ``string``); arrays and structs keep their element
    types (``array<integer>``). A type sqlglot cannot parse is compared as written, case-insensitively.
    """
    from sqlglot import exp
    from sqlglot.errors import ParseError

    dialect = _ADAPTER_DIALECTS.get(adapter)
    try:
        parsed = exp.DataType.build(data_type, dialect=dialect)
    except (ParseError, ValueError, TypeError):
        return " ".join(data_type.lower().split())
    return _family(parsed)


def _family(data_type: exp.DataType) -> str:
    from sqlglot import exp
    from sqlglot.expressions.datatypes import DType as T

    kind = data_type.this
    if kind in (T.ARRAY, T.LIST):
        inner = data_type.expressions[0] if data_type.expressions else None
        return f"array<{_family(inner) if isinstance(inner, exp.DataType) else '?'}>"
    if kind == T.STRUCT:
        fields = []
        for field in data_type.expressions:
            kind_of_field = field.args.get("kind")
            family = _family(kind_of_field) if isinstance(kind_of_field, exp.DataType) else "?"
            fields.append(f"{field.name.lower()} {family}")
        return f"struct<{', '.join(fields)}>"
    return _family_of().get(kind, data_type.sql().lower())

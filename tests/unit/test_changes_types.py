"""Type families across adapters: what the breaking-change check treats as the same type."""

from __future__ import annotations

import pytest

from dmesh_dbt.changes.detect import version_key
from dmesh_dbt.changes.types import normalize_type

SAME = [
    (("INT64", "bigquery"), ("bigint", "duckdb")),
    (("INTEGER", "postgres"), ("int64", "bigquery")),
    (("int4", "postgres"), ("HUGEINT", "duckdb")),
    (("STRING", "bigquery"), ("varchar", "duckdb")),
    (("text", "postgres"), ("character varying(20)", "postgres")),
    (("FLOAT64", "bigquery"), ("double precision", "postgres")),
    (("NUMERIC", "bigquery"), ("decimal(18,2)", "duckdb")),
    (("BIGNUMERIC", "bigquery"), ("numeric(38, 9)", "postgres")),
    (("BOOL", "bigquery"), ("boolean", "duckdb")),
    (("BYTES", "bigquery"), ("blob", "duckdb")),
    (("TIMESTAMP", "bigquery"), ("timestamp with time zone", "postgres")),
    (("DATETIME", "bigquery"), ("timestamp", "duckdb")),
    (("ARRAY<INT64>", "bigquery"), ("bigint[]", "duckdb")),
    (("STRUCT<a INT64, b STRING>", "bigquery"), ("struct(a integer, b varchar)", "duckdb")),
    (("jsonb", "postgres"), ("JSON", "bigquery")),
    (("my_custom_type", "duckdb"), ("MY_CUSTOM_TYPE", "duckdb")),
]

DIFFERENT = [
    (("INT64", "bigquery"), ("STRING", "bigquery")),
    (("bigint", "duckdb"), ("double", "duckdb")),
    (("numeric", "postgres"), ("float8", "postgres")),
    (("date", "duckdb"), ("timestamp", "duckdb")),
    (("timestamp", "duckdb"), ("timestamptz", "duckdb")),
    (("ARRAY<INT64>", "bigquery"), ("ARRAY<STRING>", "bigquery")),
    (("struct(a integer)", "duckdb"), ("struct(b integer)", "duckdb")),
]


@pytest.mark.parametrize(("left", "right"), SAME, ids=lambda pair: f"{pair[0]}@{pair[1]}")
def test_same_family(left: tuple[str, str], right: tuple[str, str]) -> None:
    assert normalize_type(*left) == normalize_type(*right)


@pytest.mark.parametrize(("left", "right"), DIFFERENT, ids=lambda pair: f"{pair[0]}@{pair[1]}")
def test_different_family(left: tuple[str, str], right: tuple[str, str]) -> None:
    assert normalize_type(*left) != normalize_type(*right)


def test_families_read_as_words() -> None:
    assert normalize_type("INT64", "bigquery") == "integer"
    assert normalize_type("ARRAY<STRING>", "bigquery") == "array<string>"
    assert normalize_type("struct(a integer)", "duckdb") == "struct<a integer>"


def test_versions_sort_as_numbers() -> None:
    assert sorted(["10", "2", "1.5", None], key=version_key) == [None, "1.5", "2", "10"]

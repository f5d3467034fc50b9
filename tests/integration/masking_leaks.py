"""Leak checks shared by the no-leak tests of every engine: raw PII values of a domain, and where they resurface."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from dmesh_dbt.masking import hmac_pads


def pii_columns(project: Path) -> dict[str, str]:
    """column -> PII class, for every classified column of the project's public models (from its manifest)."""
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return {
        name: column["meta"]["pii"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node.get("access") == "public"
        for name, column in node["columns"].items()
        if column["meta"].get("pii") not in (None, "none")
    }


def raw_pii_values(project: Path) -> set[str]:
    """Every non-empty value of a PII column in the project's seeds, as written in the CSV files."""
    classified = pii_columns(project)
    values: set[str] = set()
    for seed in (project / "seeds").glob("*.csv"):
        with seed.open(newline="") as handle:
            for row in csv.DictReader(handle):
                values.update(value for column, value in row.items() if column in classified and value)
    return values


def find_leaks(raw: set[str], published: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The (relation, column, value) published values that contain a raw value, whole or as a substring."""
    return [(table, column, value) for table, column, value in published if any(secret in value for secret in raw)]


def files_containing(project: Path, secret: str) -> list[str]:
    """Files dbt wrote (target/, logs/) that contain ``secret``; asserts that dbt wrote run results at all."""
    written = [path for folder in ("target", "logs") for path in (project / folder).rglob("*") if path.is_file()]
    assert any(path.name == "run_results.json" for path in written)
    return [str(path) for path in written if secret.encode() in path.read_bytes()]


def key_material(key: str) -> dict[str, bytes]:
    """Every form in which ``key`` could be stored: the key itself, its HMAC-SHA256 pads (RFC 2104: the key, hashed
    when longer than the 64-byte block, zero-padded and XORed with 0x36 and 0x5c; each pad gives the key back) and
    their hex spellings."""
    ipad, opad = hmac_pads(key)
    return {
        "key": key.encode(),
        "ipad": ipad,
        "opad": opad,
        "ipad as hex": ipad.hex().encode(),
        "opad as hex": opad.hex().encode(),
    }


def duckdb_catalog_contents(database: Path) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) for everything SQL can read from a DuckDB file opened afresh: every cell of every table and
    view, every view's and macro's definition."""
    with duckdb.connect(str(database), read_only=True) as connection:
        relations = connection.execute(
            "select database_name, schema_name, table_name from duckdb_tables() where not internal"
            " union all select database_name, schema_name, view_name from duckdb_views() where not internal"
        ).fetchall()
        for catalog, schema, name in relations:
            qualified = f'"{catalog}"."{schema}"."{name}"'
            for row in connection.execute(f"select * from {qualified}").fetchall():
                for cell in row:
                    yield qualified, _as_bytes(cell)
        definitions = connection.execute(
            "select view_name, sql from duckdb_views() where not internal"
            " union all select function_name, macro_definition from duckdb_functions()"
            " where not internal and macro_definition is not null"
        ).fetchall()
        for name, sql in definitions:
            yield f"definition of {name}", _as_bytes(sql)


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def key_material_found(database: Path, keys: Iterable[str]) -> list[str]:
    """Where any form of any of ``keys`` appears: in what SQL reads from ``database``, or in the raw bytes of the
    file, its write-ahead log and its temporary spill files."""
    material = {f"{label} of key {key[:12]}...": value for key in keys for label, value in key_material(key).items()}
    found = [
        f"{label} in {where}"
        for where, content in duckdb_catalog_contents(database)
        for label, value in material.items()
        if value in content
    ]
    for path in database.parent.glob(database.name + "*"):
        for file in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
            content = file.read_bytes()
            found += [f"{label} in the bytes of {file.name}" for label, value in material.items() if value in content]
    return found

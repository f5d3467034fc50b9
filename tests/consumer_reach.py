"""What a DuckDB consumer domain can open, and whether any of it holds a producer's raw values or key material.

"Can open" is taken as dbt takes it: the consumer's own warehouse file and every file its profile attaches, every
table and view reachable from that connection, and every file those views read (the release snapshots).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import yaml

from dmesh_dbt.masking import MASKING_KEY_ENV

#: Seed columns whose raw values must never reach a consumer (the example domain's emails, SSNs, card numbers).
RAW_COLUMNS = ("email", "ssn", "card_number")
#: The producer's own key: not the public development key, which the consumer's own build uses too.
PRODUCER_KEY = "payments-masking-key-for-the-mesh-tests-0123456789"
PRODUCER_ENV = {MASKING_KEY_ENV: PRODUCER_KEY}


def raw_seed_values(producer: Path) -> set[str]:
    values: set[str] = set()
    for seed in (producer / "seeds").glob("*.csv"):
        with seed.open(newline="") as handle:
            for row in csv.DictReader(handle):
                values.update(row[column] for column in RAW_COLUMNS if row.get(column))
    return values


def key_material(key: str = PRODUCER_KEY) -> list[bytes]:
    """The key and its HMAC pads (what the producer's key table holds), as bytes and as hex text."""
    padded = key.encode().ljust(64, b"\0")
    pads = [bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)]
    return [key.encode(), *pads, *(pad.hex().encode() for pad in pads)]


def attached_files(consumer: Path) -> dict[str, Path]:
    """alias -> path of every database the consumer's dev target attaches (consume writes these entries)."""
    profiles = yaml.safe_load((consumer / "profiles.yml").read_text())
    (profile,) = profiles.values()
    attach = profile["outputs"]["dev"].get("attach") or []
    return {str(entry["alias"]): Path(entry["path"]) for entry in attach}


def consumer_connection(consumer: Path) -> duckdb.DuckDBPyConnection:
    """A read-only session that opens what the consumer's `dbt build` opens."""
    connection = duckdb.connect(str(consumer / "warehouse.duckdb"), read_only=True)
    for alias, path in attached_files(consumer).items():
        connection.execute(f"attach '{path}' as \"{alias}\" (read_only)")
    return connection


def _relations(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute(
        "select database_name, schema_name, table_name from duckdb_tables() where not internal "
        "union all select database_name, schema_name, view_name from duckdb_views() where not internal"
    ).fetchall()
    return [".".join(f'"{part}"' for part in row) for row in rows]


def reachable_values(connection: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, object]]:
    """(relation, value) for every value of every table and view the session can read."""
    for relation in _relations(connection):
        for row in connection.execute(f"select * from {relation}").fetchall():
            for value in row:
                yield relation, value


def files_read(connection: duckdb.DuckDBPyConnection) -> list[Path]:
    """The files the session's views read (the Parquet snapshots)."""
    definitions = connection.execute("select sql from duckdb_views() where not internal").fetchall()
    return [Path(path) for (sql,) in definitions for path in re.findall(r"read_parquet\('([^']+)'\)", str(sql))]


def leaks(consumer: Path, producer: Path) -> list[str]:
    """Everything the consumer can open that holds a raw seed value or the producer's key material (the producer
    builds with PRODUCER_ENV), described; empty is good."""
    raw = raw_seed_values(producer)
    key = key_material()
    found = []
    with consumer_connection(consumer) as connection:
        relations = _relations(connection)
        for relation, value in reachable_values(connection):
            data = value if isinstance(value, bytes) else str(value).encode()
            if any(secret in data for secret in key) or any(secret.encode() in data for secret in raw):
                found.append(f"{relation} holds {value!r}")
        files = [consumer / "warehouse.duckdb", *attached_files(consumer).values(), *files_read(connection)]
    assert relations and files, "the consumer reaches nothing: the check would prove nothing"
    for path in files:
        data = path.read_bytes()
        found.extend(f"{path} holds key material" for secret in key if secret in data)
        found.extend(f"{path} holds {secret}" for secret in raw if secret.encode() in data)
        if os.path.commonpath([path.resolve(), producer.resolve()]) == str(producer.resolve()):
            found.append(f"{path} is a file of the producer's project")
    return found

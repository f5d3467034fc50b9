"""Snapshots of published data: what a DuckDB domain ships with each release, and how a consumer reads it.

On DuckDB anyone who opens a warehouse file reads all of it (raw models, every schema), and an open file locks
out the producer's next build. So consumers never open a producer's warehouse: ``publish`` exports each published
(masked) relation to Parquet and stores the files in the release, under its content digest; ``consume`` fetches
the pinned release's files into ``.dmesh/snapshots/`` and builds ``.dmesh/catalog/<domain>.duckdb``, a small
read-only DuckDB file of views over them named as the published relations are, which the consumer's profile
attaches under the producer's domain. ``source('payments', 'customers')`` and dbt-loom's ``ref`` then resolve
to ``"payments"."main_published"."customers"`` as before, and read the release, not the producer's last build.

Large relations never pass through Python: DuckDB writes the Parquet and reads it; the registry streams it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.identifiers import NameKind
from dmesh_dbt.registry import Release, check_name

#: Where a consumer keeps what it fetched from releases; local state, never committed (the template ignores it).
STATE_DIR = ".dmesh"
SNAPSHOTS_DIR = Path(STATE_DIR) / "snapshots"
CATALOG_DIR = Path(STATE_DIR) / "catalog"


@dataclass(frozen=True)
class Snapshot:
    """One product version's published data, exported to a local Parquet file."""

    file_name: str  # its name in the release
    path: Path
    rows: int


def snapshot_file_name(product: str, model_version: str | None) -> str:
    """``customers.parquet``, or ``customers_v1.parquet`` for model version 1."""
    return f"{product}.parquet" if model_version is None else f"{product}_v{model_version}.parquet"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------------- the producer


@contextmanager
def open_warehouse(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The producer's DuckDB file, read only. A running build holds its lock and is rewriting what publish would
    snapshot (the last checked build), so publish refuses rather than copy a file in flux."""
    if not path.is_file():
        raise ConfigError(f"no DuckDB warehouse at {path}; run `dbt build` before publishing")
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as error:
        raise ConfigError(
            f"cannot open {path} to snapshot the published data ({error}); a dbt build is probably running: "
            "publish when it has finished"
        ) from None
    try:
        yield connection
    finally:
        connection.close()


def export_snapshot(connection: duckdb.DuckDBPyConnection, schema: str, identifier: str, destination: Path) -> Snapshot:
    """Write the published relation ``schema.identifier`` of the open warehouse to ``destination`` as Parquet.

    Rows are sorted on every column: the same data always makes the same bytes, so publishing a rebuilt but
    unchanged project again is recognised as the same release (DuckDB's Parquet writer is otherwise deterministic).
    Pages are left uncompressed (dictionary and run-length encodings still apply): consumers scan every release
    many times, and decompressing cost them 1.5x to 2x the scan time of the producer's own table in
    bench/snapshot.py, against 1.06x uncompressed, for files about 8% larger.
    """
    relation = f"{quote_identifier(schema)}.{quote_identifier(identifier)}"
    target = _quote_string(str(destination))
    try:
        written = connection.execute(
            f"copy (select * from {relation} order by all) to {target} (format parquet, compression uncompressed)"
        ).fetchone()
    except duckdb.CatalogException:
        raise ConfigError(
            f"the warehouse has no published relation {schema}.{identifier}; run `dbt build` before publishing"
        ) from None
    return Snapshot(destination.name, destination, int(written[0]) if written else 0)


# ---------------------------------------------------------------------------------------------- the consumer


def release_dir(project_dir: Path, release: Release) -> Path:
    """Where a consumer keeps a release's snapshot files: one folder per release, never rewritten."""
    # Names from the registry become paths: checked again here, though the marker's reader checked them.
    domain = check_name(NameKind.DOMAIN, release.domain)
    version = check_name(NameKind.RELEASE_VERSION, release.version)
    return project_dir / SNAPSHOTS_DIR / domain / f"{version}-{release.digest[:12]}"


def catalog_path(project_dir: Path, domain: str) -> Path:
    return project_dir / CATALOG_DIR / f"{domain}.duckdb"


def _existing_views(catalog: Path) -> list[tuple[str, str, str]]:
    """(schema, view, create statement) of every view in the catalog file, if there is one."""
    if not catalog.is_file():
        return []
    with duckdb.connect(str(catalog), read_only=True) as connection:
        rows = connection.execute(
            "select schema_name, view_name, sql from duckdb_views() "
            "where not internal and database_name = current_database()"
        ).fetchall()
    return [(str(schema), str(view), str(sql)) for schema, view, sql in rows]


def install_view(catalog: Path, schema: str, identifier: str, parquet: Path) -> Path:
    """Make ``schema.identifier`` in ``catalog`` a view over the Parquet file ``parquet``, keeping its other views.

    The catalog is rebuilt in a temp file and renamed into place, so a consumer's build that has the old one open
    keeps reading the old release whole and the next one reads the new release whole.
    """
    catalog.parent.mkdir(parents=True, exist_ok=True)
    kept = [(s, v, sql) for s, v, sql in _existing_views(catalog) if (s, v) != (schema, identifier)]
    fd, name = tempfile.mkstemp(dir=catalog.parent, prefix=f".{catalog.stem}.", suffix=".duckdb")
    os.close(fd)
    staged = Path(name)
    staged.unlink()  # DuckDB creates the file itself; an empty file is not a database
    try:
        with duckdb.connect(str(staged)) as connection:
            for kept_schema in {s for s, _, _ in kept} | {schema}:
                connection.execute(f"create schema if not exists {quote_identifier(kept_schema)}")
            for _, _, sql in kept:
                connection.execute(sql)
            connection.execute(
                f"create view {quote_identifier(schema)}.{quote_identifier(identifier)} as "
                f"select * from read_parquet({_quote_string(str(parquet.resolve()))})"
            )
        os.replace(staged, catalog)
    finally:
        staged.unlink(missing_ok=True)
        Path(f"{staged}.wal").unlink(missing_ok=True)
    return catalog

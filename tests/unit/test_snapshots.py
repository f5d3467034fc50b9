"""Snapshots on real (embedded) DuckDB: the producer's published relation to Parquet, the consumer's catalog of
views over it, and the atomic switch to a newer release."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.snapshots import catalog_path, export_snapshot, install_view, open_warehouse


def warehouse(path: Path, rows: int, order: str = "i") -> Path:
    """A producer's file: a raw table in main and its masked published table in main_published."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "create or replace table main.customers as select i, 'raw' || i || '@x.com' as email from range(?) t(i)",
            [rows],
        )
        connection.execute("create schema if not exists main_published")
        connection.execute(
            "create or replace table main_published.customers as "
            f"select i, sha256(email) as email from main.customers order by {order}"
        )
    return path


def export(path: Path, destination: Path) -> tuple[int, str]:
    with open_warehouse(path) as connection:
        snapshot = export_snapshot(connection, "main_published", "customers", destination)
    return snapshot.rows, hashlib.sha256(destination.read_bytes()).hexdigest()


def test_the_published_relation_exports_to_parquet_with_its_row_count(tmp_path: Path) -> None:
    rows, _ = export(warehouse(tmp_path / "warehouse.duckdb", 1000), tmp_path / "customers.parquet")
    assert rows == 1000
    with duckdb.connect() as connection:
        emails = connection.execute(f"select email from '{tmp_path / 'customers.parquet'}'").fetchall()
    assert len(emails) == 1000 and not any("raw" in email for (email,) in emails)


def test_the_same_data_in_another_order_makes_the_same_bytes(tmp_path: Path) -> None:
    _, first = export(warehouse(tmp_path / "warehouse.duckdb", 5000), tmp_path / "first.parquet")
    _, second = export(warehouse(tmp_path / "warehouse.duckdb", 5000, "i desc"), tmp_path / "second.parquet")
    assert first == second  # a rebuilt, unchanged project publishes as the same release


def test_a_warehouse_a_build_holds_is_refused_not_copied(tmp_path: Path) -> None:
    path = warehouse(tmp_path / "warehouse.duckdb", 10)
    holder = f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('open', flush=True); sys.stdin.read()"
    with subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as build:
        assert build.stdout is not None and build.stdout.readline() == "open\n"
        try:
            with pytest.raises(ConfigError, match="a dbt build is probably running: publish when it has finished"):
                export(path, tmp_path / "customers.parquet")
        finally:
            build.communicate("")


def test_a_missing_published_relation_says_to_build(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(ConfigError, match="no published relation main_published.customers; run `dbt build`"):
        export(path, tmp_path / "customers.parquet")


def test_the_catalog_keeps_other_products_and_switches_a_release_atomically(tmp_path: Path) -> None:
    old, new, other = (tmp_path / f"{name}.parquet" for name in ("old", "new", "other"))
    with duckdb.connect() as connection:
        connection.execute(f"copy (select 1 as release) to '{old}' (format parquet)")
        connection.execute(f"copy (select 2 as release) to '{new}' (format parquet)")
        connection.execute(f"copy (select 'p' as payment) to '{other}' (format parquet)")
    catalog = catalog_path(tmp_path / "risk", "payments")
    install_view(catalog, "main_published", "customers", old)
    install_view(catalog, "main_published", "payments", other)

    reader = duckdb.connect()  # a consumer build that attached the catalog before the switch
    reader.execute(f"attach '{catalog}' as payments (read_only)")
    install_view(catalog, "main_published", "customers", new)

    assert reader.execute("select release from payments.main_published.customers").fetchall() == [(1,)]
    with duckdb.connect() as after:
        after.execute(f"attach '{catalog}' as payments (read_only)")
        assert after.execute("select release from payments.main_published.customers").fetchall() == [(2,)]
        assert after.execute("select payment from payments.main_published.payments").fetchall() == [("p",)]
    reader.close()
    assert [p.name for p in catalog.parent.iterdir()] == ["payments.duckdb"]  # no temp file left behind

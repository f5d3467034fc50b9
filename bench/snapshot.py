"""Benchmark: what reading published data through release snapshots costs a DuckDB consumer, and what publishing
them costs the producer.

Makes a producer's warehouse file with DuckDB (a raw table of N rows and its published table, the PII columns
already hashed: masking's own cost is bench/masking.py's business), then, with the library's own functions:

* publish: exports the published table to Parquet (``snapshots.export_snapshot``) and streams it into a local
  registry (``Registry.publish``); seconds per GB of snapshot;
* consume: fetches the verified snapshot (``Registry.fetch_snapshot``) and builds the consumer's catalog
  (``snapshots.install_view``);
* a consumer's full scan of the snapshot through its catalog view, against a full scan of the producer's own
  published table and of the raw table in the producer's file (what consumers attached before snapshots).

Each timing is the best of --repeat runs, every ratio from this one run.
Run: python bench/snapshot.py [--rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import duckdb
from timing import best_of  # bench/ is on sys.path when a benchmark runs

from dmesh_dbt.registry import ProductEntry, Registry
from dmesh_dbt.snapshots import catalog_path, export_snapshot, install_view, open_warehouse, release_dir

RAW_SQL = """
create table main.events as
select
    i as event_id,
    'customer' || i || '@example.com' as email,
    cast(4000000000000000 + i * 7919 as varchar) as card_number,
    i % 1000 as amount_cents,
    date '2024-01-01' + cast(i % 700 as integer) as event_date
from range(?) as t(i)
"""
#: Stand-ins with the published hash's shape (22 base64url characters, 128 bits: docs/masking.md); unkeyed, as
#: masking's cost is bench/masking.py's business and only the width and the spread of the values matter here.
PUBLISHED_SQL = """
create table main_published.events as
select event_id, {email} as email, {card} as card_number, amount_cents, event_date
from main.events
""".format(
    **{
        name: f"replace(replace(left(to_base64(unhex(left(sha256({column}), 32))), 22), '+', '-'), '/', '_')"
        for name, column in (("email", "email"), ("card", "card_number"))
    }
)
COLUMNS = ("event_id", "email", "card_number", "amount_cents", "event_date")


def make_warehouse(path: Path, rows: int) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute(RAW_SQL, [rows])
        connection.execute("create schema main_published")
        connection.execute(PUBLISHED_SQL)


def full_scan(relation: str) -> str:
    """A consumer reading every value of the relation (aggregates over every column: none can be skipped)."""
    aggregates = ", ".join(f"max({column})" for column in COLUMNS)
    lengths = " + ".join(f"length(cast({column} as varchar))" for column in ("email", "card_number"))
    return f"select {aggregates}, sum({lengths}) from {relation}"


def publish_once(warehouse: Path, staging: Path, registry: Registry, version: str) -> int:
    """Export and publish the snapshot as release ``version``; returns the snapshot's size in bytes."""
    destination = staging / version / "events.parquet"
    destination.parent.mkdir(parents=True)
    with open_warehouse(warehouse) as connection:
        snapshot = export_snapshot(connection, "main_published", "events", destination)
    entry = ProductEntry("events", None, None, "events.odcs.yaml", snapshot.file_name, snapshot.rows)
    files = {"events.odcs.yaml": b"contract\n"}
    registry.publish("bench", version, "bench", (entry,), files, snapshots={snapshot.file_name: destination})
    return destination.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the published table (default 10 M)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the best counts")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dmesh-bench-") as workdir:
        root = Path(workdir)
        warehouse = root / "warehouse.duckdb"
        make_warehouse(warehouse, options.rows)
        registry = Registry.open(str(root / "registry"))
        runs = iter(range(options.repeat))
        sizes: list[int] = []
        publish = best_of(
            options.repeat, lambda: sizes.append(publish_once(warehouse, root, registry, f"1.{next(runs)}"))
        )

        consumer = root / "consumer"
        release = registry.releases("bench")[-1]
        entry = release.products[0]

        def consume() -> None:
            local = release_dir(consumer, release)
            (local / "events.parquet").unlink(missing_ok=True)  # fetch it again each run
            install_view(
                catalog_path(consumer, "bench"),
                "main_published",
                "events",
                registry.fetch_snapshot(release, entry, local),
            )

        consume_seconds = best_of(options.repeat, consume)
        report(warehouse, catalog_path(consumer, "bench"), options, publish, sizes[-1], consume_seconds)


def report(
    warehouse: Path, catalog: Path, options: argparse.Namespace, publish: float, size: int, consume: float
) -> None:
    with duckdb.connect() as connection:
        connection.execute(f"attach '{warehouse}' as producer (read_only)")
        connection.execute(f"attach '{catalog}' as bench (read_only)")

        def timed(relation: str) -> float:
            return best_of(options.repeat, lambda: connection.execute(full_scan(relation)).fetchall())

        raw = timed("producer.main.events")
        published = timed("producer.main_published.events")
        snapshot = timed("bench.main_published.events")

    gigabytes = size / 1e9
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"dmesh snapshot benchmark, DuckDB {duckdb.__version__}, {options.rows:,} rows, {len(COLUMNS)} columns")
    print(
        f"(best of {options.repeat}; {os.cpu_count()} cores, load average {load}: other work slows every figure alike)"
    )
    print()
    print("consumer full scan                           seconds   vs published table")
    print(f"  producer's published table (its file)     {published:8.2f}    1.00x")
    print(f"  producer's raw table (its file)           {raw:8.2f}  {raw / published:6.2f}x")
    print(f"  release snapshot (Parquet, catalog view)  {snapshot:8.2f}  {snapshot / published:6.2f}x")
    print()
    print(f"publish: export to Parquet + store in a local registry  {publish:6.2f} s for {size / 1e6:,.0f} MB")
    print(f"  {publish / gigabytes:6.1f} s per GB of snapshot")
    print(
        f"consume: fetch verified + build the catalog            {consume:6.2f} s ({consume / gigabytes:.1f} s per GB)"
    )


if __name__ == "__main__":
    main()

"""Throughput of `dmesh-dbt scan` on a generated 1,000-column DuckDB database, beside piicatcher's scanners.

    python bench/scan_throughput.py [--rows-per-table 5000] [--sample-rows 1000]
    python bench/scan_throughput.py --names-only 20000

``--names-only N`` times only the names-only scan (``dmesh-dbt scan`` without --sample-rows) of a manifest of N
distinct column names, every cache cleared first; the scan must keep above 10,000 columns/s.

Builds 20 tables x 50 columns (ids, amounts, statuses, UUIDs, hashes, emails, phones, IPs, card numbers, dates,
coordinates, ...) in a temporary DuckDB file, then times, in the same run:
  names   the name signal over all 1,000 column names        vs piicatcher's ColumnNameScanner
  values  validators over every sampled value of every column vs piicatcher's RegexScanner (CommonRegex)
  scan    sampling from DuckDB + name + value signals, end to end (columns/s and sampled rows/s)
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))

from peers import piicatcher_detectors  # noqa: E402

from dmesh_dbt.scan.detect import ColumnRef, classify, find_suspects, value_evidence  # noqa: E402
from dmesh_dbt.scan.names import match_name, tokenize  # noqa: E402
from dmesh_dbt.scan.sampling import sample_duckdb  # noqa: E402
from dmesh_dbt.scan.values import luhn_valid  # noqa: E402

TABLES = 20
COLUMNS_PER_TABLE = 50


def _card(rng: random.Random) -> str:
    body = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    return next(body + str(d) for d in range(10) if luhn_valid(body + str(d)))


#: (name stem, SQL type, value generator): a mix of PII and the columns that surround it in a warehouse.
KINDS: list[tuple[str, str, Callable[[random.Random, int], object]]] = [
    ("id", "bigint", lambda r, i: i),
    ("amount_cents", "bigint", lambda r, i: r.randrange(100, 10**6)),
    ("status", "varchar", lambda r, i: r.choice(["succeeded", "failed", "refunded"])),
    ("event_uuid", "varchar", lambda r, i: f"{r.getrandbits(128):032x}"),
    ("email", "varchar", lambda r, i: f"user{i}@example.com"),
    ("phone", "varchar", lambda r, i: f"+1206555{r.randrange(100, 200):04d}"),
    ("ip_address", "varchar", lambda r, i: f"203.0.113.{r.randrange(1, 255)}"),
    ("ref_code", "bigint", lambda r, i: r.randrange(10**15, 10**16)),
    ("card_number", "varchar", lambda r, i: _card(r)),
    (
        "created_at",
        "timestamp",
        lambda r, i: f"2024-0{r.randrange(1, 9)}-1{r.randrange(0, 9)} 12:{r.randrange(10, 59)}:00",
    ),
    ("birth_date", "date", lambda r, i: f"19{r.randrange(40, 99)}-0{r.randrange(1, 9)}-1{r.randrange(0, 9)}"),
    ("latitude", "double", lambda r, i: round(r.uniform(-60, 60), 6)),
    ("score", "double", lambda r, i: round(r.random(), 3)),
    ("sha_key", "varchar", lambda r, i: f"{r.getrandbits(256):064x}"),
    ("comment", "varchar", lambda r, i: r.choice(["great", "late delivery", "ok", "n/a"])),
]


def build_database(path: Path, rows: int) -> list[ColumnRef]:
    rng = random.Random(42)
    columns: list[ColumnRef] = []
    with duckdb.connect(str(path)) as connection:
        for table in range(TABLES):
            name = f"t{table:02d}"
            specs = [(f"{KINDS[c % len(KINDS)][0]}_{c}", *KINDS[c % len(KINDS)][1:]) for c in range(COLUMNS_PER_TABLE)]
            # A CSV loaded by DuckDB's reader: executemany inserts row by row and takes minutes.
            data_file = path.with_name(f"{name}.csv")
            with data_file.open("w", newline="") as handle:
                csv.writer(handle).writerows([make(rng, i) for _, _, make in specs] for i in range(rows))
            types = ", ".join(f"'{n}': '{t}'" for n, t, _ in specs)
            connection.execute(
                f"create table {name} as select * from read_csv('{data_file}', header=false, columns={{{types}}})"
            )
            relation = f'"{path.stem}"."main"."{name}"'
            columns += [ColumnRef(f"model.bench.{name}", relation, n, "", t) for n, t, _ in specs]
    return columns


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f}/s"


#: The names-only floor: a 20,000-column manifest scanned in two seconds.
NAMES_ONLY_FLOOR = 10_000
#: Words that qualify the stems of KINDS in a generated manifest, PII and not alike.
QUALIFIERS = ("customer", "billing", "agent", "product", "session", "contact", "total", "is", "primary", "legacy")


def names_only(count: int) -> None:
    """Time the names-only scan of ``count`` distinct column names (tables of 50), caches cleared."""
    rng = random.Random(7)
    stems = [stem for stem, _, _ in KINDS]
    columns = [
        ColumnRef(f"model.bench.t{i // 50}", f"t{i // 50}", f"{rng.choice(QUALIFIERS)}_{rng.choice(stems)}_{i}", "")
        for i in range(count)
    ]
    match_name.cache_clear()
    tokenize.cache_clear()
    started = time.perf_counter()
    suspects = find_suspects(columns)
    seconds = time.perf_counter() - started
    verdict = "ok" if count / seconds >= NAMES_ONLY_FLOOR else f"BELOW the {NAMES_ONLY_FLOOR:,} columns/s floor"
    print(f"names-only scan of {count:,} columns: {len(suspects):,} suspects, {rate(count, seconds)} ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-table", type=int, default=5000, help="rows generated per table")
    parser.add_argument("--sample-rows", type=int, default=1000, help="rows sampled per table")
    parser.add_argument("--names-only", type=int, metavar="N", help="only time a names-only scan of N columns")
    args = parser.parse_args()
    if args.names_only:
        names_only(args.names_only)
        return
    peer_name, peer_values = piicatcher_detectors()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "bench.duckdb"
        columns = build_database(database, args.rows_per_table)
        print(
            f"{len(columns)} columns in {TABLES} tables x {args.rows_per_table} rows;"
            f" sampling {args.sample_rows} rows per table"
        )

        repeats = 20
        started = time.perf_counter()
        for _ in range(repeats):
            match_name.cache_clear()  # every repeat tokenises and matches from scratch, as a new name would
            tokenize.cache_clear()
            for ref in columns:
                classify(ref)
        ours_names = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(repeats):
            for ref in columns:
                peer_name(ref.name)
        peer_names = time.perf_counter() - started

        started = time.perf_counter()
        samples = sample_duckdb(database, sorted({c.relation for c in columns if c.relation}), args.sample_rows)
        sampling = time.perf_counter() - started
        values = {
            (c.relation, c.name): [v for v in samples[c.relation or ""][c.name] if v is not None] for c in columns
        }
        sampled_rows = sum(len(next(iter(cols.values()))) for cols in samples.values())
        value_count = sum(len(v) for v in values.values())

        started = time.perf_counter()
        for ref in columns:
            value_evidence(values[(ref.relation, ref.name)])
        ours_values = time.perf_counter() - started
        started = time.perf_counter()
        for ref in columns:
            peer_values(values[(ref.relation, ref.name)])
        peer_value_time = time.perf_counter() - started

        started = time.perf_counter()
        suspects = [classify(ref, values[(ref.relation, ref.name)]) for ref in columns]
        classifying = time.perf_counter() - started
        found = Counter(s.column.rsplit("_", 1)[0] for s in suspects if s is not None)
        end_to_end = sampling + classifying

    n = len(columns)
    print(f"\n{'stage':<34}{'dmesh-dbt scan':>16}{'piicatcher':>16}{'ratio':>8}")
    print(f"{'names (columns)':<34}{rate(n * repeats, ours_names)}{rate(n * repeats, peer_names)}"
          f"{peer_names / ours_names:>7.1f}x")  # fmt: skip
    print(f"{'value checks (values)':<34}{rate(value_count, ours_values)}{rate(value_count, peer_value_time)}"
          f"{peer_value_time / ours_values:>7.1f}x")  # fmt: skip
    print(f"{'scan end to end (columns)':<34}{rate(n, end_to_end)}")
    print(f"{'scan end to end (sampled rows)':<34}{rate(sampled_rows, end_to_end)}")
    print(
        f"\nsampling {sampled_rows:,} rows from DuckDB: {sampling:.2f}s; classifying {n} columns with "
        f"{value_count:,} values: {classifying:.2f}s"
    )
    print("suspects by column kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(found.items())))
    print("ratio > 1: dmesh-dbt scan is faster (it also runs more checks: checksums, numbering plans, masking)")


if __name__ == "__main__":
    main()

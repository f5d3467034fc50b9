"""Throughput of `dmesh-dbt scan` as a user runs it (the whole process), beside piicatcher's scanners.

    python bench/scan_throughput.py [--rows-per-table 5000] [--sample-rows 1000] [--runs 5]

Generates two dbt projects on DuckDB in a temporary folder (models documented in YAML, tables written straight
into the DuckDB file, the manifest compiled by a first, untimed `dmesh-dbt scan`), then times whole processes,
median of ``--runs``:
  values      `dmesh-dbt scan --sample-rows N` on 20 tables x 50 columns (ids, amounts, statuses, UUIDs, hashes,
              emails, phones, IPs, card numbers, dates, coordinates, ...) of ``--rows-per-table`` rows:
              start-up, manifest, sampling, name and value signals, the report; goal >= 500 columns/s
  names-only  `dmesh-dbt scan` of a 20,000-column manifest (100 models x 200 columns); goal >= 10,000 columns/s
and, in this process, the two signals against piicatcher's (its ColumnNameScanner and RegexScanner):
  names   the name signal over all 1,000 column names
  values  the value signal over every column's sampled values
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))

from peers import piicatcher_detectors  # noqa: E402

from dmesh_dbt.scan.detect import ColumnRef, classify, value_evidence  # noqa: E402
from dmesh_dbt.scan.names import match_name, tokenize  # noqa: E402
from dmesh_dbt.scan.sampling import sample_duckdb  # noqa: E402
from dmesh_dbt.scan.values import luhn_valid  # noqa: E402

BIN = Path(sys.executable).parent
#: The scan with values and the names-only scan must keep above these.
VALUES_GOAL = 500
NAMES_ONLY_GOAL = 10_000
NAMES_ONLY_MODELS, NAMES_ONLY_COLUMNS_PER_MODEL = 100, 200

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


def table_spec(table: int) -> list[tuple[str, str, Callable[[random.Random, int], object]]]:
    """The columns of generated table ``table``: name, SQL type and value generator."""
    return [(f"{KINDS[c % len(KINDS)][0]}_{c}", *KINDS[c % len(KINDS)][1:]) for c in range(COLUMNS_PER_TABLE)]


def build_database(path: Path, rows: int) -> list[ColumnRef]:
    rng = random.Random(42)
    columns: list[ColumnRef] = []
    with duckdb.connect(str(path)) as connection:
        for table in range(TABLES):
            name = f"t{table:02d}"
            specs = table_spec(table)
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


#: Words that qualify the stems of KINDS in a generated manifest, PII and not alike.
QUALIFIERS = ("customer", "billing", "agent", "product", "session", "contact", "total", "is", "primary", "legacy")


def write_project(folder: Path, tables: dict[str, list[tuple[str, str]]]) -> None:
    """A dbt project on DuckDB (``bench.duckdb`` beside it) whose models document ``tables``' columns."""
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0'\nprofile: bench\nmodel-paths: [models]\n"
        "models:\n  bench:\n    +materialized: table\n"
    )
    (folder / "profiles.yml").write_text(
        f"bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {folder / 'bench.duckdb'}\n"
    )
    schema = ["version: 2", "models:"]
    for table, columns in tables.items():
        (folder / "models" / f"{table}.sql").write_text("select 1 as id\n")
        schema += [f"  - name: {table}", "    columns:"]
        schema += [f"      - name: {name}\n        data_type: {data_type}" for name, data_type in columns]
    (folder / "models" / "schema.yml").write_text("\n".join(schema) + "\n")


def scan_seconds(project: Path, runs: int, *options: str) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of ``runs`` whole ``dmesh-dbt scan`` processes on ``project``, after
    one untimed run that compiles the manifest. CPU time is what the machine's load does not inflate."""
    argv = [str(BIN / "dmesh-dbt"), "scan", "--project-dir", str(project), *options]
    env = {**os.environ, "DBT_PROFILES_DIR": str(project)}
    first = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if first.returncode not in (0, 1):
        sys.exit(f"dmesh-dbt scan failed ({first.returncode}): {(first.stdout + first.stderr)[-600:]}")
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def goal_lines(label: str, columns: int, timings: tuple[list[float], list[float]], goal: int) -> list[str]:
    lines = []
    for clock, seconds in zip(("wall", "cpu"), timings, strict=True):
        median = statistics.median(seconds)
        per_second = columns / median
        verdict = "goal met" if per_second >= goal else "BELOW the goal"
        lines.append(
            f"{label:<20}{clock:<5}{columns:>7,} columns {median:6.2f} s (median of {len(seconds)}, min "
            f"{min(seconds):.2f}, max {max(seconds):.2f}) {per_second:>8,.0f} columns/s  goal >= {goal:,}: {verdict}"
        )
    return lines


def names_only_tables() -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(7)
    stems = [stem for stem, _, _ in KINDS]
    return {
        f"m{m:03d}": [
            (f"{rng.choice(QUALIFIERS)}_{rng.choice(stems)}_{c}", "varchar")
            for c in range(NAMES_ONLY_COLUMNS_PER_MODEL)
        ]
        for m in range(NAMES_ONLY_MODELS)
    }


def peer_stages(columns: list[ColumnRef], database: Path, sample_rows: int) -> None:
    """The name and value signals in this process, beside piicatcher's on the same columns and values."""
    peer_name, peer_values = piicatcher_detectors()
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

    samples = sample_duckdb(database, sorted({c.relation for c in columns if c.relation}), sample_rows)
    values = {(c.relation, c.name): [v for v in samples[c.relation or ""][c.name] if v is not None] for c in columns}
    value_count = sum(len(v) for v in values.values())
    started = time.perf_counter()
    for ref in columns:
        value_evidence(values[(ref.relation, ref.name)])
    ours_values = time.perf_counter() - started
    started = time.perf_counter()
    for ref in columns:
        peer_values(values[(ref.relation, ref.name)])
    peer_value_time = time.perf_counter() - started

    n = len(columns)
    print(f"\nin process, same columns and values: {'dmesh-dbt scan':>16}{'piicatcher':>16}{'ratio':>8}")
    print(f"{'names (columns)':<36}{rate(n * repeats, ours_names)}{rate(n * repeats, peer_names)}"
          f"{peer_names / ours_names:>7.1f}x")  # fmt: skip
    print(f"{'value signal (sampled values)':<36}{rate(value_count, ours_values)}{rate(value_count, peer_value_time)}"
          f"{peer_value_time / ours_values:>7.1f}x")  # fmt: skip
    print("ratio > 1: dmesh-dbt scan is faster (it also runs more checks: checksums, numbering plans, masking)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-table", type=int, default=5000, help="rows generated per table")
    parser.add_argument("--sample-rows", type=int, default=1000, help="rows sampled per table")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command; the median is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        values_project, names_project = Path(tmp) / "values", Path(tmp) / "names"
        specs = {f"t{t:02d}": table_spec(t) for t in range(TABLES)}
        write_project(values_project, {table: [(n, t) for n, t, _ in spec] for table, spec in specs.items()})
        columns = build_database(values_project / "bench.duckdb", args.rows_per_table)
        write_project(names_project, names_only_tables())
        names_count = NAMES_ONLY_MODELS * NAMES_ONLY_COLUMNS_PER_MODEL
        print(
            f"{len(columns):,} columns in {TABLES} tables x {args.rows_per_table:,} rows, sampling "
            f"{args.sample_rows:,} rows per table; {names_count:,} columns in {NAMES_ONLY_MODELS} models, names only;"
            f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n"
        )
        with_values = scan_seconds(values_project, args.runs, "--sample-rows", str(args.sample_rows))
        names_only = scan_seconds(names_project, args.runs)
        print("whole `dmesh-dbt scan` process, as a user runs it:")
        print("\n".join(goal_lines(f"--sample-rows {args.sample_rows}", len(columns), with_values, VALUES_GOAL)))
        print("\n".join(goal_lines("names only", names_count, names_only, NAMES_ONLY_GOAL)))
        print(f"load average after the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        peer_stages(columns, values_project / "bench.duckdb", args.sample_rows)


if __name__ == "__main__":
    main()

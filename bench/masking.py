"""Benchmark: what masking by default costs on DuckDB, timed as a user meets it, with the real `dmesh` macros.

Generates two dbt projects with the same model (`events`, N rows, two PII columns the `hash` strategy masks):
one masks (public, `dmesh.on_run_start` and `dmesh.publish_masked`: the raw table plus its published, hashed
table), the other does not (the same model, plain dbt). Then, every ratio from this one run:

* the producer: the `dbt build` command, as a whole process, of the masked project against the unmasked one;
* a consumer: a full scan (every column aggregated, none can be skipped) of the published table and of the
  release snapshot (`dmesh_dbt.snapshots.export_snapshot`, what a DuckDB consumer reads), against the raw table
  (and, to tell the Parquet format's cost from the hashes', the same export of the raw table);
* masking throughput: the macros' own masked SELECT (keyed HMAC-SHA256, from `dbt compile --inline`), run with
  the key pads in the temporary table the macros read, against DuckDB's bare `sha256` over the same values.
  Goal: at least 1/4 of the bare digest's values/s, its compression-block bound (an HMAC of a short value runs
  SHA-256's compression four times, a bare digest once).

Rounds are interleaved (each round runs every contender once), so other work on the machine slows them alike;
each figure is the median of --repeat rounds. In-engine figures give wall time and the process's CPU time (on a
busy machine the CPU time is the steadier of the two; the goals are judged on wall time).
Run: python bench/masking.py [--rows 10000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from dmesh_dbt.masking import HASH_CHARACTERS, KEY_SOURCES, KeyScope, dbt_vars, hmac_pads
from dmesh_dbt.snapshots import export_snapshot

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
#: Benchmark keys: not secret, but strong enough for a target other than `dev`.
KEYS = {KeyScope.DOMAIN: "bench-domain-key-" + "d" * 32, KeyScope.MESH: "bench-mesh-key-" + "m" * 32}
HASHED_COLUMNS = ("email", "card_number")
COLUMNS = ("event_id", *HASHED_COLUMNS, "amount_cents")
#: Goals of issue 16: HMAC throughput / bare sha256 throughput, and a consumer's read / a read of the raw table.
THROUGHPUT_GOAL = 0.25
READ_GOAL = 1.2

EVENTS_SQL = """
select
    i as event_id,
    'customer' || i || '@example.com' as email,
    cast(4000000000000000 + i * 7919 as varchar) as card_number,
    i % 1000 as amount_cents
from range({{ var('rows') }}) as t(i)
"""


@dataclass
class Timings:
    """Wall and CPU seconds of each contender, one entry per round."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def record(self, name: str, run: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        self.wall.setdefault(name, []).append(time.perf_counter() - wall)
        self.cpu.setdefault(name, []).append(time.process_time() - cpu)

    def median(self, name: str, cpu: bool = False) -> float:
        return statistics.median((self.cpu if cpu else self.wall)[name])


def write_project(path: Path, rows: int, masked: bool) -> None:
    """A domain-like project with the model `events`: public and published masked, or a plain dbt model."""
    columns = [{"name": name, "meta": {"pii": name}} if name in HASHED_COLUMNS else {"name": name} for name in COLUMNS]
    model_config: dict[str, object] = {"+materialized": "table"}
    project: dict[str, object] = {
        "name": "masking_bench",
        "version": "1.0.0",
        "config-version": 2,
        "profile": "masking_bench",
        "flags": {"send_anonymous_usage_stats": False},
        "models": {"masking_bench": model_config},
        "vars": {**dbt_vars(), "rows": rows},
    }
    if masked:
        project["on-run-start"] = ["{{ dmesh.on_run_start() }}"]
        model_config.update({"+access": "public", "+post-hook": ["{{ dmesh.publish_masked() }}"]})
    profiles = {
        "masking_bench": {
            "target": "bench",
            "outputs": {"bench": {"type": "duckdb", "path": str(path / "bench.duckdb"), "threads": 2}},
        }
    }
    (path / "models").mkdir(parents=True)
    for name, document in {
        "dbt_project.yml": project,
        "profiles.yml": profiles,
        "packages.yml": {"packages": [{"local": str(REPO_ROOT)}]},
        "models/_models.yml": {"version": 2, "models": [{"name": "events", "columns": columns}]},
    }.items():
        (path / name).write_text(yaml.safe_dump(document, sort_keys=False))
    (path / "models" / "events.sql").write_text(EVENTS_SQL)


def dbt(project: Path, *args: str) -> str:
    """Run dbt in ``project`` as a user does (a whole process); returns its output."""
    env = {**os.environ, **{KEY_SOURCES[scope].env: key for scope, key in KEYS.items()}, "DO_NOT_TRACK": "1"}
    command = [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} in {project.name} failed:\n{result.stdout[-4000:]}")
    return result.stdout


def full_scan(relation: str) -> str:
    """A consumer reading every value of the relation: every column aggregated, so none can be skipped."""
    aggregates = ", ".join(f"max({column})" for column in COLUMNS)
    return f"select {aggregates}, sum(amount_cents) from {relation}"


def masked_select_sql(project: Path) -> str:
    """The SELECT the macros compile for the published relation of `events`."""
    # Parsing renders the inline query too, before any relation can be read: the macro runs at execution only,
    # and the ref outside the condition tells dbt the dependency.
    node = "graph.nodes['model.masking_bench.events']"
    macro = (
        "-- depends_on: {{ ref('events') }}\n"
        f"{{% if execute %}}{{{{ dmesh.masked_select({node}, ref('events')) }}}}{{% endif %}}"
    )
    output = dbt(project, "compile", "--quiet", "--output", "json", "--inline", macro)
    return str(json.loads(output)["compiled"])


def load_key_pads(connection: duckdb.DuckDBPyConnection) -> None:
    """The temporary table the macros read the HMAC pads from (dmesh.load_masking_keys), filled here."""
    rows = [(scope.value, *hmac_pads(key)) for scope, key in KEYS.items()]
    connection.execute("create or replace temp table dmesh_masking_keys (scope varchar, ipad blob, opad blob)")
    connection.executemany("insert into temp.main.dmesh_masking_keys values (?, ?, ?)", rows)


def time_builds(masked: Path, unmasked: Path, repeat: int) -> Timings:
    timings = Timings()
    for _ in range(repeat):
        timings.record("unmasked", lambda: dbt(unmasked, "build"))
        timings.record("masked", lambda: dbt(masked, "build"))
    return timings


def time_reads(connection: duckdb.DuckDBPyConnection, snapshots: dict[str, Path], repeat: int) -> Timings:
    relations = {
        "raw": "main.events",
        "published": "main_published.events",
        **{name: f"read_parquet('{path}')" for name, path in snapshots.items()},
    }
    timings = Timings()
    for _ in range(repeat):
        for name, relation in relations.items():
            timings.record(name, lambda relation=relation: connection.execute(full_scan(relation)).fetchall())
    return timings


def time_masking(connection: duckdb.DuckDBPyConnection, masked_sql: str, repeat: int) -> Timings:
    bare_hashes = ", ".join(f"sha256({column}) as {column}" for column in HASHED_COLUMNS)
    statements = {
        "bare": f"create or replace temp table bare as select event_id, amount_cents, {bare_hashes} from main.events",
        "hmac": f"create or replace temp table masked as {masked_sql}",
    }
    timings = Timings()
    for _ in range(repeat):
        for name, sql in statements.items():
            timings.record(name, lambda sql=sql: connection.execute(sql).fetchall())
    return timings


READ_LABELS = {
    "raw": "raw table",
    "published": "published table",
    "snapshot": "release snapshot",
    "raw_snapshot": "raw table's snapshot",
}


def verdict(met: bool) -> str:
    return "goal met" if met else "GOAL NOT MET"


def report(rows: int, repeat: int, builds: Timings, reads: Timings, masking: Timings, snapshot_mb: float) -> None:
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"dmesh masking benchmark, DuckDB {duckdb.__version__}, {rows:,} rows, {len(HASHED_COLUMNS)} hashed columns")
    print(f"(median of {repeat} interleaved rounds; {os.cpu_count()} cores, load average {load})")
    print()
    unmasked, masked = builds.median("unmasked"), builds.median("masked")
    print("producer: dbt build (whole process)        seconds   vs unmasked")
    print(f"  same model, unmasked                    {unmasked:8.2f}     1.00x")
    print(f"  masked (policy check + published table) {masked:8.2f}  {masked / unmasked:7.2f}x")
    print()
    raw, raw_cpu = reads.median("raw"), reads.median("raw", cpu=True)
    print(f"consumer full scan                 wall s   vs raw    cpu s   vs raw   (goal <= {READ_GOAL}x)")
    for name, label in READ_LABELS.items():
        wall, cpu = reads.median(name), reads.median(name, cpu=True)
        judged = verdict(wall / raw <= READ_GOAL) if name in ("published", "snapshot") else ""
        print(f"  {label:28s}{wall:8.2f}  {wall / raw:6.2f}x  {cpu:7.2f}  {cpu / raw_cpu:6.2f}x   {judged}")
    print(f"  (snapshot: {snapshot_mb:.0f} MB of Parquet; each hash is {HASH_CHARACTERS} base64url characters.")
    print("   The raw table's snapshot, which no consumer gets, tells the Parquet format's share from the hashes')")
    print()
    values = rows * len(HASHED_COLUMNS)
    bare, bare_cpu = masking.median("bare"), masking.median("bare", cpu=True)
    hmac, hmac_cpu = masking.median("hmac"), masking.median("hmac", cpu=True)
    print(
        f"masking throughput                 wall s   values/s  vs bare   cpu s  vs bare  (goal >= {THROUGHPUT_GOAL}x)"
    )
    print(f"  bare sha256 (no key)            {bare:8.2f}  {values / bare:9,.0f}    1.00x {bare_cpu:7.2f}    1.00x")
    print(
        f"  keyed HMAC-SHA256 (dmesh hash)  {hmac:8.2f}  {values / hmac:9,.0f}  {bare / hmac:6.2f}x "
        f"{hmac_cpu:7.2f}  {bare_cpu / hmac_cpu:6.2f}x  {verdict(bare / hmac >= THROUGHPUT_GOAL)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the model (default 10 M)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds per measurement; the median counts")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dmesh-bench-") as workdir:
        masked, unmasked = Path(workdir) / "masked", Path(workdir) / "unmasked"
        for project, is_masked in ((masked, True), (unmasked, False)):
            write_project(project, options.rows, is_masked)
            dbt(project, "deps")
        builds = time_builds(masked, unmasked, options.repeat)
        masked_sql = masked_select_sql(masked)
        snapshots = {"snapshot": Path(workdir) / "events.parquet", "raw_snapshot": Path(workdir) / "raw.parquet"}
        with duckdb.connect(str(masked / "bench.duckdb")) as connection:
            export_snapshot(connection, "main_published", "events", snapshots["snapshot"])
            export_snapshot(connection, "main", "events", snapshots["raw_snapshot"])
            reads = time_reads(connection, snapshots, options.repeat)
            load_key_pads(connection)
            masking = time_masking(connection, masked_sql, options.repeat)
        snapshot_mb = snapshots["snapshot"].stat().st_size / 1e6
        report(options.rows, options.repeat, builds, reads, masking, snapshot_mb)


if __name__ == "__main__":
    main()

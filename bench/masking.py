"""Benchmark: what masking by default costs on DuckDB, measured with the real `dmesh` macros.

Builds a generated dbt project (a public model of N rows with two hashed PII columns; DuckDB publishes it as a
table, since a view would need the key at read time) with real dbt, then times in one DuckDB session:

* a consumer's full scan of the published table, against a scan of the raw table;
* masking throughput: the macros' own masked SELECT (keyed HMAC-SHA256, from `dbt compile --inline`), run with the
  key pads in the temporary table the macros read, in values per second, against DuckDB's bare `sha256`.

Each timing is the best of --repeat runs. Run: python bench/masking.py [--rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml
from timing import best_of  # bench/ is on sys.path when a benchmark runs

from dmesh_dbt.masking import KEY_SOURCES, KeyScope, dbt_vars, hmac_pads

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
#: Benchmark keys: not secret, but strong enough for a target other than `dev`.
KEYS = {KeyScope.DOMAIN: "bench-domain-key-" + "d" * 32, KeyScope.MESH: "bench-mesh-key-" + "m" * 32}
HASHED_COLUMNS = ("email", "card_number")

EVENTS_SQL = """
select
    i as event_id,
    'customer' || i || '@example.com' as email,
    cast(4000000000000000 + i * 7919 as varchar) as card_number,
    i % 1000 as amount_cents
from range({{ var('rows') }}) as t(i)
"""


def write_project(path: Path, rows: int) -> None:
    """A domain-like project: `events`, public, published masked."""
    pii = {"email": "email", "card_number": "card_number"}
    columns = [{"name": name, "meta": {"pii": cls}} for name, cls in pii.items()]
    project = {
        "name": "masking_bench",
        "version": "1.0.0",
        "config-version": 2,
        "profile": "masking_bench",
        "flags": {"send_anonymous_usage_stats": False},
        "on-run-start": ["{{ dmesh.on_run_start() }}"],
        "models": {
            "masking_bench": {
                "+materialized": "table",
                "+access": "public",
                "+post-hook": ["{{ dmesh.publish_masked() }}"],
            }
        },
        "vars": {**dbt_vars(), "rows": rows},
    }
    models = {
        "version": 2,
        "models": [
            {"name": "events", "columns": columns},
        ],
    }
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
        "models/_models.yml": models,
    }.items():
        (path / name).write_text(yaml.safe_dump(document, sort_keys=False))
    (path / "models" / "events.sql").write_text(EVENTS_SQL)


def dbt(project: Path, *args: str) -> tuple[float, str]:
    """Run dbt in ``project``; returns its wall time in seconds and its output."""
    env = {**os.environ, **{KEY_SOURCES[scope].env: key for scope, key in KEYS.items()}, "DO_NOT_TRACK": "1"}
    command = [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}")
    return time.perf_counter() - started, result.stdout


def full_scan(relation: str) -> str:
    """A consumer reading every value of the relation (aggregates, so DuckDB cannot skip a column)."""
    hashed = ", ".join(f"sum(length({column}))" for column in HASHED_COLUMNS)
    return f"select max(event_id), sum(amount_cents), {hashed} from {relation}"


RAW_AND_PUBLISHED_TABLE = ("main.events", "main_published.events")


def text_bytes_per_row(connection: duckdb.DuckDBPyConnection, relation: str) -> float:
    lengths = " + ".join(f"length({column})" for column in HASHED_COLUMNS)
    return float(connection.execute(f"select avg({lengths}) from {relation}").fetchall()[0][0])


def masked_select_sql(project: Path) -> str:
    """The SELECT the macros compile for the published relation of `events`."""
    macro = "{{ dmesh.masked_select(graph.nodes['model.masking_bench.events'], ref('events')) }}"
    _, output = dbt(project, "compile", "--quiet", "--output", "json", "--inline", macro)
    return str(json.loads(output)["compiled"])


def load_key_pads(connection: duckdb.DuckDBPyConnection) -> None:
    """The temporary table the macros read the HMAC pads from (dmesh.load_masking_keys), filled here."""
    rows = [(scope.value, *hmac_pads(key)) for scope, key in KEYS.items()]
    connection.execute("create or replace temp table dmesh_masking_keys (scope varchar, ipad blob, opad blob)")
    connection.executemany("insert into temp.main.dmesh_masking_keys values (?, ?, ?)", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the raw table (default 10 M)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the best counts")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dmesh-bench-") as workdir:
        project = Path(workdir) / "masking_bench"
        write_project(project, options.rows)
        dbt(project, "deps")
        build_seconds, _ = dbt(project, "build")
        masked_sql = masked_select_sql(project)
        with duckdb.connect(str(project / "bench.duckdb")) as connection:
            load_key_pads(connection)
            report(connection, masked_sql, options.rows, options.repeat, build_seconds)


def report(
    connection: duckdb.DuckDBPyConnection, masked_sql: str, rows: int, repeat: int, build_seconds: float
) -> None:
    def timed(sql: str) -> float:
        return best_of(repeat, lambda: connection.execute(sql).fetchall())

    raw = timed(full_scan("main.events"))
    table = timed(full_scan("main_published.events"))

    masking = timed(f"create or replace temp table masked as {masked_sql}")
    bare_hashes = ", ".join(f"sha256({column}) as {column}" for column in HASHED_COLUMNS)
    bare = timed(f"create or replace temp table bare as select event_id, amount_cents, {bare_hashes} from main.events")

    values = rows * len(HASHED_COLUMNS)
    print(f"dmesh masking benchmark, DuckDB {duckdb.__version__}, {rows:,} rows, {len(HASHED_COLUMNS)} hashed columns")
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"(best of {repeat}; dbt build, publishing included, took {build_seconds:.1f} s;")
    print(f" {os.cpu_count()} cores, load average {load}: other work on the machine slows every figure alike)")
    print()
    print("consumer full scan                 seconds   vs raw")
    print(f"  raw table (private schema)      {raw:8.2f}    1.00x")
    print(f"  published table (masked once)   {table:8.2f}  {table / raw:6.2f}x")
    raw_bytes, published_bytes = (text_bytes_per_row(connection, relation) for relation in RAW_AND_PUBLISHED_TABLE)
    print(f"  (hashed columns hold {raw_bytes:.0f} bytes a row raw, {published_bytes:.0f} as 64-character hex hashes)")
    print()
    print("masking throughput                 seconds   values/s    vs bare sha256")
    print(f"  bare sha256 (no key)            {bare:8.2f}  {values / bare:10,.0f}    1.00x")
    print(f"  keyed HMAC-SHA256 (dmesh hash)  {masking:8.2f}  {values / masking:10,.0f}  {masking / bare:6.2f}x time")


if __name__ == "__main__":
    main()

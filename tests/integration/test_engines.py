"""The engine fixtures really serve dbt: a tiny project (seed, contracted table, view) builds on each engine.

The project is generated here and reads its connection from the same DMESH_PG_* / DMESH_BQ_* variables a
domain's profiles.yml reads, so these tests also prove the fixtures' `dbt_env()` dicts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg2.errors
import pytest

from tests.engines import REPO_ROOT, REQUIRE_ENGINES_ENV, BigQueryEngine, PostgresEngine
from tests.helpers import run_dbt

SEED_ROWS = [
    (1, "Ada Lovelace", Decimal("12.50"), date(2026, 1, 5)),
    (2, "Grace Hopper", Decimal("7.25"), date(2026, 2, 14)),
    (3, "Edsger Dijkstra", Decimal("0.99"), date(2026, 3, 1)),
]

# Contract types spelled the way each adapter names them.
ADAPTER_TYPES = {
    "postgres": {"id": "integer", "name": "text", "amount": "numeric", "ordered_on": "date"},
    "bigquery": {"id": "int64", "name": "string", "amount": "numeric", "ordered_on": "date"},
}

PROFILES = """
    engines_check:
      target: postgres
      outputs:
        postgres:
          type: postgres
          host: "{{ env_var('DMESH_PG_HOST') }}"
          port: "{{ env_var('DMESH_PG_PORT') | as_number }}"
          user: "{{ env_var('DMESH_PG_USER') }}"
          password: "{{ env_var('DMESH_PG_PASSWORD') }}"
          dbname: "{{ env_var('DMESH_PG_DBNAME') }}"
          schema: "{{ env_var('DMESH_PG_SCHEMA') }}"
          threads: 4
        prod:
          type: bigquery
          method: "{{ env_var('DMESH_BQ_METHOD', 'oauth') }}"
          project: "{{ env_var('DMESH_BQ_PROJECT') }}"
          dataset: "{{ env_var('DMESH_BQ_DATASET') }}"
          location: "{{ env_var('DMESH_BQ_LOCATION', 'US') }}"
          token: "{{ env_var('DMESH_BQ_TOKEN', '') }}"
          api_endpoint: "{{ env_var('DMESH_BQ_API_ENDPOINT', '') }}"
          threads: 4
    """

DBT_PROJECT = """
    name: engines_check
    version: "1.0.0"
    config-version: 2
    profile: engines_check
    flags:
      # The emulator cannot ALTER a relation's description; dbt also puts it in the CREATE options.
      bigquery_noop_alter_relation_comment: true
    models:
      engines_check:
        +persist_docs: {relation: true, columns: true}
    seeds:
      engines_check:
        +column_types: {column_types}
    """

MODELS_YML = """
    models:
      - name: orders
        description: Orders with an enforced contract.
        config:
          materialized: table
          contract: {{enforced: true}}
        columns:
          - name: id
            data_type: {id}
            constraints: [{{type: not_null}}]
          - name: name
            data_type: {name}
          - name: amount
            data_type: {amount}
          - name: ordered_on
            data_type: {ordered_on}
      - name: big_orders
        config:
          materialized: view
    """


def write_project(root: Path, adapter: str) -> Path:
    types = ADAPTER_TYPES[adapter]
    column_types = "{" + ", ".join(f"{column}: {kind}" for column, kind in types.items()) + "}"
    seed_csv = "id,name,amount,ordered_on\n" + "".join(f"{i},{n},{a},{d.isoformat()}\n" for i, n, a, d in SEED_ROWS)
    files = {
        "profiles.yml": PROFILES,
        "dbt_project.yml": DBT_PROJECT.replace("{column_types}", column_types),
        "seeds/raw_orders.csv": seed_csv,
        "models/orders.sql": "select id, name, amount, ordered_on from {{ ref('raw_orders') }}",
        "models/big_orders.sql": "select id, name from {{ ref('orders') }} where amount > 1",
        "models/models.yml": MODELS_YML.format(**types),
    }
    project = root / adapter
    for relative, content in files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip())
    return project


def dbt_build(project: Path, target: str, engine_env: dict[str, str]) -> None:
    run_dbt(project, "build", "--target", target, "--no-partial-parse", env=engine_env)


def test_postgres_engine_runs_a_dbt_build(postgres_engine: PostgresEngine, tmp_path: Path) -> None:
    database = postgres_engine.create_database("engines_check")
    dbt_build(write_project(tmp_path, "postgres"), "postgres", database.dbt_env(schema="analytics"))

    assert database.run_sql("select id, name, amount, ordered_on from analytics.orders order by id") == SEED_ROWS
    assert database.run_sql("select id, name from analytics.big_orders order by id") == [
        (1, "Ada Lovelace"),
        (2, "Grace Hopper"),
    ]
    # The enforced contract's constraint reached the DDL: PostgreSQL enforces NOT NULL.
    nullable = database.run_sql(
        "select is_nullable from information_schema.columns "
        "where table_schema = 'analytics' and table_name = 'orders' and column_name = 'id'"
    )
    assert nullable == [("NO",)]
    assert database.run_sql("select obj_description('analytics.orders'::regclass)") == [
        ("Orders with an enforced contract.",)
    ]


def test_postgres_engine_runs_sql_as_another_role(postgres_engine: PostgresEngine) -> None:
    database = postgres_engine.create_database("roles_check")
    database.run_sql("create extension if not exists pgcrypto")
    database.run_sql("drop role if exists reader")
    database.run_sql("create role reader login password 'reader-pw'")
    database.run_sql("create schema private")
    database.run_sql("create table private.secrets as select 'x' as value")

    digest = database.run_sql(
        "select encode(hmac('value', 'key', 'sha256'), 'hex')", user="reader", password="reader-pw"
    )
    assert digest == [(hmac.new(b"key", b"value", hashlib.sha256).hexdigest(),)]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="permission denied for schema private"):
        database.run_sql("select * from private.secrets", user="reader", password="reader-pw")


def test_bigquery_emulator_runs_a_dbt_build(bigquery_engine: BigQueryEngine, tmp_path: Path) -> None:
    project = write_project(tmp_path, "bigquery")
    dbt_build(project, "prod", bigquery_engine.dbt_env(dataset="engines_check"))

    dataset = f"{bigquery_engine.project}.engines_check"
    orders = bigquery_engine.query(f"select id, name, amount, ordered_on from `{dataset}.orders` order by id")
    assert [tuple(row.values()) for row in orders] == SEED_ROWS
    big_orders = bigquery_engine.query(f"select id, name from `{dataset}.big_orders` order by id")
    assert big_orders == [{"id": 1, "name": "Ada Lovelace"}, {"id": 2, "name": "Grace Hopper"}]
    # crucible does not enforce NOT NULL (docs/engines.md): check that the constraint reached the DDL.
    ddl = next(project.glob("target/run/**/orders.sql")).read_text()
    assert "id int64 not null" in ddl
    tables = {table.table_id: table.table_type for table in bigquery_engine.client().list_tables(dataset)}
    assert tables == {"raw_orders": "TABLE", "orders": "TABLE", "big_orders": "VIEW"}


PROBE = """
def test_needs_postgres(postgres_engine):
    pass

def test_needs_bigquery(bigquery_engine):
    pass
"""


@pytest.mark.parametrize(("required", "outcome", "exit_code"), [("", "2 skipped", 0), ("1", "2 errors", 1)])
def test_missing_engines_skip_locally_and_fail_when_required(
    tmp_path: Path, required: str, outcome: str, exit_code: int
) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    missing = {"DMESH_PG_BINDIR": str(tmp_path / "no-postgres"), "DMESH_CRUCIBLE": str(tmp_path / "no-crucible")}
    env = {**os.environ, **missing, REQUIRE_ENGINES_ENV: required}
    # This suite's conftest as a plugin, on a probe file outside the suite.
    probe = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsE", "-p", "tests.conftest", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == exit_code, probe.stdout
    assert outcome in probe.stdout.splitlines()[-1]
    assert "DMESH_PG_BINDIR=" in probe.stdout and "DMESH_CRUCIBLE=" in probe.stdout

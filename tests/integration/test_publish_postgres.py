"""Publish and consume across two domains on a real PostgreSQL server: no DuckDB file, no attach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dmesh_dbt.masking import HASH_PATTERN
from tests.engines import PostgresEngine
from tests.helpers import init_domain, masking_keys_env, run_cli, run_dbt

pytestmark = pytest.mark.postgres

RISK_MODEL = "select customer_id, email from {{ source('payments', 'customers') }}\n"


def test_payments_publishes_from_postgres_and_risk_builds_on_it(
    postgres_engine: PostgresEngine, tmp_path: Path
) -> None:
    engine = postgres_engine.create_database("publish_mesh")
    base = {
        "DMESH_TARGET": "postgres",
        **masking_keys_env("publish"),
        "DMESH_REGISTRY": str(tmp_path / "registry"),
    }
    payments_env = base | engine.dbt_env("payments")
    risk_env = base | engine.dbt_env("risk")
    payments = init_domain(tmp_path, "payments")
    risk = init_domain(tmp_path, "risk", "--no-examples")

    run_dbt(payments, "build", env=payments_env)
    published = run_cli("publish", cwd=payments, env=payments_env)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "publish_mesh.payments_published.customers" in published.stdout

    shown = json.loads(
        run_cli("registry", "show", "payments.customers", "--format", "json", cwd=risk, env=risk_env).stdout
    )
    assert shown["server"] == {
        "name": "postgres",
        "type": "postgres",
        "host": engine.host,
        "port": str(engine.port),
        "database": "publish_mesh",
        "schema": "payments_published",
    }
    email = next(c for c in shown["columns"] if c["name"] == "email")
    assert (email["type"], email["masking"]) == ("text", "hash")

    consumed = run_cli("consume", "payments.customers", cwd=risk, env=risk_env)
    assert consumed.returncode == 0, consumed.stdout + consumed.stderr
    assert "attached" not in consumed.stdout
    (source,) = yaml.safe_load((risk / "models" / "consumed" / "payments.yml").read_text())["sources"]
    assert (source["database"], source["schema"]) == ("publish_mesh", "payments_published")

    (risk / "models" / "customer_emails.sql").write_text(RISK_MODEL)
    run_dbt(risk, "build", "--select", "customer_emails", env=risk_env)
    rows = engine.run_sql("select email from risk.customer_emails")
    assert rows and all(HASH_PATTERN.fullmatch(email) for (email,) in rows if email is not None)

"""Publish from the BigQuery `prod` target (against the local emulator): a BigQuery server block and relation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dmesh_dbt.contracts import validation_errors
from dmesh_dbt.masking import HASH_PATTERN
from dmesh_dbt.registry import Registry
from tests.engines import BigQueryEngine
from tests.helpers import init_domain, masking_keys_env, run_cli, run_dbt

pytestmark = pytest.mark.bigquery


def test_payments_publishes_from_bigquery(bigquery_engine: BigQueryEngine, tmp_path: Path) -> None:
    env = bigquery_engine.dbt_env("payments") | masking_keys_env("publish")
    payments = init_domain(tmp_path, "payments")
    installed = run_cli("key", "install", "--target", "prod", cwd=payments, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    run_dbt(payments, "build", "--target", "prod", env=env)

    published = run_cli("publish", "--target", "prod", cwd=payments, env=env)
    assert published.returncode == 0, published.stdout + published.stderr
    assert f"{bigquery_engine.project}.payments_published.customers" in published.stdout

    registry = Registry.open(str(tmp_path / "registry"))
    release = registry.release("payments", "1.0.0")
    assert release is not None
    [contract_name] = [name for name in release.files if name.endswith("customers.odcs.yaml")]
    contract = yaml.safe_load(registry.read_file(release, contract_name))
    assert validation_errors(contract) == []
    assert contract["servers"] == [
        {
            "server": "prod",
            "type": "bigquery",
            "environment": "prod",
            "project": bigquery_engine.project,
            "dataset": "payments_published",
        }
    ]
    types = {p["name"]: p["physicalType"] for p in contract["schema"][0]["properties"]}
    assert types["email"] == "string" and types["customer_id"] == "bigint"

    [manifest_name] = [name for name in release.files if name.endswith("manifest.json")]
    manifest = json.loads(registry.read_file(release, manifest_name))
    node = manifest["nodes"]["model.payments.customers"]
    assert node["relation_name"] == f"`{bigquery_engine.project}`.`payments_published`.`customers`"
    rows = bigquery_engine.query(f"select email from `{bigquery_engine.project}.payments_published.customers`")
    assert rows and all(HASH_PATTERN.fullmatch(row["email"]) for row in rows if row["email"] is not None)

"""`dmesh-dbt onboard --target prod` against the BigQuery emulator: the dataset is listed through BigQuery's tables
API (the emulator has no INFORMATION_SCHEMA), sampled through `dbt show`, built and checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.engines import BigQueryEngine
from tests.helpers import init_domain, masking_keys_env, run_cli
from tests.onboard_cases import EXPECTED_PII, RAW_SCHEMA, bigquery, onboard_report, proposals

pytestmark = pytest.mark.bigquery


def test_onboard_on_bigquery_proposes_the_loaded_pii_builds_and_checks(
    bigquery_engine: BigQueryEngine, tmp_path: Path
) -> None:
    client = bigquery_engine.client()
    for statement in bigquery(bigquery_engine.project):
        client.query(statement).result()
    env = bigquery_engine.dbt_env("shop") | masking_keys_env("onboard")
    project = init_domain(tmp_path, "shop", "--no-examples", "--warehouse", "bigquery")

    result = run_cli("onboard", RAW_SCHEMA, "--target", "prod", "--format", "json", cwd=project, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = onboard_report(result.stdout)
    assert proposals(report) == EXPECTED_PII
    assert report["built"] == ["stg_raw_crm__customers", "stg_raw_crm__events"]

    staging = project / "models" / "staging" / RAW_SCHEMA
    sql = (staging / "stg_raw_crm__customers.sql").read_text()
    assert '{{ adapter.quote("Full Name") }} as full_name' in sql
    [source] = yaml.safe_load((staging / "_raw_crm__sources.yml").read_text())["sources"]
    types = {c["name"]: c["data_type"] for c in source["tables"][0]["columns"]}
    assert types["signup_date"] == "DATE" and types["Order Total"].startswith("NUMERIC")
    assert types["is_active"] in ("BOOL", "BOOLEAN") and types["shipping"].startswith("STRUCT<")
    rows = bigquery_engine.query(
        f"select customer_id, full_name, order_total from `{bigquery_engine.project}.shop.stg_raw_crm__customers`"
    )
    assert len(rows) == 30

    checked = run_cli("check", "--target", "prod", cwd=project, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr

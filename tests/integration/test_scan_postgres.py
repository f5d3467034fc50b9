"""`dmesh-dbt scan --target postgres`: values sampled through dbt (`dbt show`) on a real PostgreSQL server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.engines import PostgresEngine
from tests.helpers import init_domain, masking_keys_env, run_cli, run_dbt

pytestmark = pytest.mark.postgres

PII_META = re.compile(r"^\s*meta: \{pii: [a-z_]+\}\s*\n|, meta: \{pii: [a-z_]+\}", re.M)


def test_scan_samples_postgres_through_dbt_and_confirms_classes_by_value(
    postgres_engine: PostgresEngine, tmp_path: Path
) -> None:
    env = postgres_engine.create_database("scan_mesh").dbt_env(schema="payments")
    env.update(masking_keys_env("scan"))
    project = init_domain(tmp_path, "payments")
    run_dbt(project, "seed", "--target", "postgres", env=env)
    seeds_yml = project / "seeds" / "_seeds.yml"
    seeds_yml.write_text(PII_META.sub("", seeds_yml.read_text()))

    result = run_cli(
        "scan", "--project-dir", str(project), "--target", "postgres", "--sample-rows", "25",
        "--select", "resource_type:seed", "--format", "json", env=env,
    )  # fmt: skip
    assert result.returncode == 1 and result.stdout.startswith("{"), result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["target"] == "postgres" and report["relations_sampled"] == 2
    by_column = {(s["node"].rsplit(".", 1)[-1], s["column"]): s for s in report["suspects"]}
    for column, pii in [("email", "email"), ("ssn", "national_id"), ("phone", "phone"), ("ip_address", "ip_address")]:
        suspect = by_column[("raw_customers", column)]
        assert suspect["class"] == pii and suspect["evidence"]["sampled"] == 25
        assert suspect["evidence"]["match_rate"] == 1.0
    card = by_column[("raw_payments", "card_number")]
    assert card["class"] == "card_number" and card["evidence"]["match_rate"] == 1.0
    assert ("raw_customers", "city") not in by_column and ("raw_payments", "amount_cents") not in by_column

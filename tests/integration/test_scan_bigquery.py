"""`dmesh-dbt scan --target prod` on the BigQuery emulator: every relation sampled in one `dbt show`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines import BigQueryEngine
from tests.helpers import init_domain, masking_keys_env, run_cli
from tests.scan_cases import scan_seeds_through_dbt

pytestmark = pytest.mark.bigquery


def test_scan_samples_bigquery_in_one_dbt_show_and_confirms_classes_by_value(
    bigquery_engine: BigQueryEngine, tmp_path: Path
) -> None:
    env = bigquery_engine.dbt_env("scan_payments") | masking_keys_env("scan")
    project = init_domain(tmp_path, "payments")
    installed = run_cli("key", "install", "--target", "prod", cwd=project, env=env)  # the on-run-start hook needs it
    assert installed.returncode == 0, installed.stdout + installed.stderr
    scan_seeds_through_dbt(project, "prod", env)

"""`dmesh-dbt scan --target postgres`: values sampled through dbt (`dbt show`) on a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines import PostgresEngine
from tests.helpers import init_domain, masking_keys_env
from tests.scan_cases import scan_seeds_through_dbt

pytestmark = pytest.mark.postgres


def test_scan_samples_postgres_through_dbt_and_confirms_classes_by_value(
    postgres_engine: PostgresEngine, tmp_path: Path
) -> None:
    env = postgres_engine.create_database("scan_mesh").dbt_env(schema="payments")
    env.update(masking_keys_env("scan"))
    scan_seeds_through_dbt(init_domain(tmp_path, "payments"), "postgres", env)

"""Every masking strategy of the dmesh package's bigquery__ bodies, run by dbt-bigquery on the BigQuery emulator.

The generated `masking_proof` project (the one the DuckDB and Postgres tests build) targets `prod` (BigQuery);
its published view and table must equal what Python computes, keyed hash included. The example domain on
BigQuery (no-leak, policy tags, compiled SQL) is tests/integration/test_bigquery_masking.py.
"""

from __future__ import annotations

import json

import pytest

from dmesh_dbt.masking import MaskingKeys
from tests.engines import BigQueryEngine
from tests.helpers import masking_keys_env, run_dbt
from tests.integration.masking_leaks import files_containing
from tests.integration.masking_project import (
    PEOPLE_COLUMNS,
    MaskingProject,
    expected_published_person,
    write_masking_project,
)

pytestmark = pytest.mark.bigquery

KEYS_ENV = masking_keys_env("bq")
KEYS = MaskingKeys(domain=KEYS_ENV["DMESH_MASKING_KEY"], mesh=KEYS_ENV["DMESH_MESH_KEY"])
DATASET = "masking_proof"


@pytest.fixture(scope="module")
def proof(bigquery_engine: BigQueryEngine, tmp_path_factory: pytest.TempPathFactory) -> MaskingProject:
    project = write_masking_project(tmp_path_factory.mktemp("bq") / "masking_proof", warehouse="bigquery")
    run_dbt(project.path, "deps")
    env = {**bigquery_engine.dbt_env(DATASET), **KEYS_ENV}
    run_dbt(project.path, "build", "--target", "prod", env=env)
    return project


@pytest.mark.parametrize("relation", ["people", "people_snapshot"])
def test_every_strategy_publishes_what_python_computes(
    bigquery_engine: BigQueryEngine, proof: MaskingProject, relation: str
) -> None:
    table = f"`{bigquery_engine.project}.{DATASET}_published.{relation}`"
    rows = bigquery_engine.query(f"select * from {table} order by person_id")
    published = [{name: row[name] for name in PEOPLE_COLUMNS} for row in rows]
    assert published == [expected_published_person(row, KEYS) for row in proof.people]


def test_privacy_tests_run_on_bigquery_and_catch_the_leak(proof: MaskingProject) -> None:
    results = json.loads((proof.path / "target" / "run_results.json").read_text())["results"]
    outcome = {
        r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in results if "dmesh_" in r["unique_id"]
    }
    assert outcome["dmesh_no_valid_card_numbers_people_card_number"] == ("pass", 0)
    assert outcome["dmesh_no_valid_card_numbers_card_leak_card_number"] == ("warn", len(proof.people))
    assert outcome["dmesh_k_anonymity_people_5__date_of_birth__country_code"] == ("pass", 0)


def test_the_key_is_in_no_compiled_or_run_sql(proof: MaskingProject) -> None:
    # dbt-bigquery takes no query parameters: the key is a literal in the on-run-start statement, which dbt logs
    # in logs/dbt.log (docs/masking.md) but writes to no file under target/.
    leaking = [path for key in KEYS_ENV.values() for path in files_containing(proof.path, key) if "/target/" in path]
    assert leaking == []

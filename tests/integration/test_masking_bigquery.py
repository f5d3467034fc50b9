"""Every masking strategy of the dmesh package's bigquery__ bodies, run by dbt-bigquery on the BigQuery emulator.

The generated `masking_proof` project (the one the DuckDB and Postgres tests build) targets `prod` (BigQuery);
its published view and table must equal what Python computes, keyed hash included. The example domain on
BigQuery (no-leak, policy tags, compiled SQL) is tests/integration/test_bigquery_masking.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmesh_dbt.masking import MaskingKeys
from tests.engines import BigQueryEngine
from tests.helpers import masking_keys_env, run_cli, run_dbt
from tests.integration.masking_leaks import key_material
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
NO_KEYS = {"DMESH_MASKING_KEY": "", "DMESH_MESH_KEY": ""}


@pytest.fixture(scope="module")
def proof(bigquery_engine: BigQueryEngine, tmp_path_factory: pytest.TempPathFactory) -> MaskingProject:
    project = write_masking_project(tmp_path_factory.mktemp("bq") / "masking_proof", warehouse="bigquery")
    run_dbt(project.path, "deps")
    installed = run_cli(
        "key", "install", "--target", "prod", cwd=project.path, env=bigquery_engine.dbt_env(DATASET) | KEYS_ENV
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (
        f"Installed the domain, mesh key(s) of target prod in {bigquery_engine.project}.{DATASET}." in installed.stdout
    )
    # The build itself never sees a key: it reads the table `key install` filled.
    run_dbt(project.path, "build", "--target", "prod", env=bigquery_engine.dbt_env(DATASET) | NO_KEYS)
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


def test_no_key_material_is_in_any_file_the_build_wrote(proof: MaskingProject) -> None:
    # logs/dbt.log holds every statement the build sent to BigQuery: none carries a key or its pads.
    material = [value for key in KEYS_ENV.values() for value in key_material(key).values()]
    files = [path for folder in ("logs", "target") for path in (proof.path / folder).rglob("*") if path.is_file()]
    assert any(path.name == "dbt.log" for path in files)
    assert [str(path) for path in files if any(value in path.read_bytes() for value in material)] == []


def test_a_build_without_installed_keys_fails_naming_the_command(
    bigquery_engine: BigQueryEngine, proof: MaskingProject, tmp_path: Path
) -> None:
    env = bigquery_engine.dbt_env("masking_proof_nokeys") | KEYS_ENV
    result = run_dbt(proof.path, "build", "--target", "prod", "--target-path", str(tmp_path), env=env, check=False)
    assert result.returncode == 2
    message = " ".join(result.stdout.split())
    assert "lacks the key of DMESH_MASKING_KEY and DMESH_MESH_KEY for target 'prod'" in message
    assert "run `dmesh-dbt key install --target prod`" in message


def test_key_install_refuses_a_weak_key(bigquery_engine: BigQueryEngine, proof: MaskingProject) -> None:
    env = bigquery_engine.dbt_env(DATASET) | KEYS_ENV | {"DMESH_MASKING_KEY": "too-short"}
    result = run_cli("key", "install", "--target", "prod", cwd=proof.path, env=env)
    assert result.returncode == 2
    assert "DMESH_MASKING_KEY is too weak for target 'prod' (9 bytes, fewer than 32)" in result.stderr

"""The dmesh masking macros on DuckDB: every strategy, the keyed hash against Python's hmac, mask-by-default
publishing, the privacy tests, and the key rules. One real `dbt build` of a generated project, asserted many ways."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dmesh_dbt.masking import (
    DEVELOPMENT_MASKING_KEY,
    DEVELOPMENT_MESH_KEY,
    MaskingKeys,
    column_masking,
    hash_value,
    published_data_type,
    weak_key_problem,
)
from tests.helpers import masking_keys_env, run_dbt
from tests.integration.masking_leaks import files_containing
from tests.integration.masking_project import (
    PEOPLE_COLUMNS,
    MaskingProject,
    expected_published_person,
    write_masking_project,
    write_policy_breaking_project,
)

KEYS_ENV = masking_keys_env("proof")
KEYS = MaskingKeys(domain=KEYS_ENV["DMESH_MASKING_KEY"], mesh=KEYS_ENV["DMESH_MESH_KEY"])


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory) -> MaskingProject:
    project = write_masking_project(tmp_path_factory.mktemp("masking") / "masking_proof")
    run_dbt(project.path, "deps")
    build = run_dbt(project.path, "build", env=KEYS_ENV)
    (project.path / "build.log").write_text(build.stdout)
    return project


def query(project: MaskingProject, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project.path / "proof.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def published_people(project: MaskingProject, relation: str = "people") -> list[dict[str, object]]:
    names = list(PEOPLE_COLUMNS)
    rows = query(project, f"select {', '.join(names)} from main_published.{relation} order by person_id")
    return [dict(zip(names, row, strict=True)) for row in rows]


@pytest.mark.parametrize("relation", ["people", "people_snapshot"])
def test_every_strategy_publishes_what_python_computes(proof: MaskingProject, relation: str) -> None:
    expected = [expected_published_person(row, KEYS) for row in proof.people]
    assert published_people(proof, relation) == expected


def test_hash_is_hmac_sha256_keyed_by_scope_as_pythons_hmac_computes_it(proof: MaskingProject) -> None:
    [(email, published_email, ssn, published_ssn)] = query(
        proof,
        "select r.email, p.email, r.ssn, p.ssn from main.people r"
        " join main_published.people p using (person_id) limit 1",
    )
    assert isinstance(email, str) and isinstance(ssn, str)
    # email is joinable across domains: the mesh key. An SSN can be enumerated: only the domain's own key.
    assert published_email == hash_value(KEYS.mesh, email) != hash_value(KEYS.domain, email)
    assert published_ssn == hash_value(KEYS.domain, ssn) != hash_value(KEYS.mesh, ssn)
    assert published_ssn != hash_value(DEVELOPMENT_MASKING_KEY, ssn)


def test_published_types_are_what_python_tools_announce(proof: MaskingProject) -> None:
    raw_types = dict(
        query(
            proof,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'main' and table_name = 'people'",
        )
    )
    published_types = dict(
        query(
            proof,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'main_published' and table_name = 'people'",
        )
    )
    for column, (_, meta) in PEOPLE_COLUMNS.items():
        masking = column_masking("people", column, meta)
        announced = published_data_type(masking, str(raw_types[column]), "duckdb")
        assert str(published_types[column]).lower() == announced.lower(), column


def test_public_models_are_published_as_configured_and_nothing_else(proof: MaskingProject) -> None:
    kinds = dict(
        query(
            proof, "select table_name, table_type from information_schema.tables where table_schema = 'main_published'"
        )
    )
    # people_internal is protected: never published. accounts is versioned: published with its version. DuckDB
    # publishes tables only: a view would need the key at read time.
    assert kinds == {name: "BASE TABLE" for name in ("people", "people_snapshot", "card_leak", "accounts_v2")}


def test_an_approved_exception_publishes_the_column_unmasked_and_says_so(proof: MaskingProject) -> None:
    published = [row["ip_address"] for row in published_people(proof)]
    assert published == [row["ip_address"] for row in proof.people]
    log = (proof.path / "build.log").read_text()
    assert "people.ip_address (ip_address) is published UNMASKED: exception approved by dpo@example.com" in log


def test_the_keys_are_written_to_no_file_dbt_produces(proof: MaskingProject) -> None:
    assert files_containing(proof.path, KEYS.domain) == []
    assert files_containing(proof.path, KEYS.mesh) == []


def test_privacy_tests_pass_on_masked_data_and_catch_a_leak(proof: MaskingProject) -> None:
    results = json.loads((proof.path / "target" / "run_results.json").read_text())["results"]
    outcome = {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in data_test_results(results)}
    assert outcome["dmesh_no_valid_card_numbers_people_card_number"] == ("pass", 0)
    assert outcome["dmesh_no_forbidden_pii_people_"] == ("pass", 0)
    assert outcome["dmesh_k_anonymity_people_5__date_of_birth__country_code"] == ("pass", 0)
    # card_leak publishes card numbers unmasked (an exception) and one row per person: both tests must fire.
    assert outcome["dmesh_no_valid_card_numbers_card_leak_card_number"] == ("warn", len(proof.people))
    assert outcome["dmesh_k_anonymity_card_leak_2__person_id"] == ("warn", len(proof.people))


def data_test_results(results: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in results if str(r["unique_id"]).startswith("test.")]


def test_a_target_other_than_dev_refuses_to_run_without_a_key(proof: MaskingProject, tmp_path: Path) -> None:
    result = side_build(proof, tmp_path, "build", "--target", "ci", keys={})
    assert result.returncode == 2
    assert "no masking key for target 'ci': set the environment variable DMESH_MASKING_KEY" in result.stdout
    with duckdb.connect(str(tmp_path / "side.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from information_schema.tables").fetchall() == [(0,)]


def side_build(
    proof: MaskingProject, workdir: Path, *args: str, keys: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Another dbt run of the proof project into its own database, target and log folders (the fixture's stay),
    with exactly the key variables in ``keys``."""
    return run_dbt(
        proof.path,
        *args,
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
        env={"DMESH_MASKING_KEY": "", "DMESH_MESH_KEY": "", **keys, "PROOF_DUCKDB_PATH": str(workdir / "side.duckdb")},
        check=False,
    )


@pytest.fixture(scope="module")
def dev_build_without_key(proof: MaskingProject, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`dbt build --quiet` of `accounts` on dev with no key, publishing into another schema as tables."""
    workdir = tmp_path_factory.mktemp("dev")
    result = side_build(
        proof,
        workdir,
        "build",
        "--quiet",
        "--select",
        "+accounts",
        "--vars",
        "{dmesh_published_schema: mesh_products, dmesh_published_materialization: table}",
        keys={},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return workdir / "side.duckdb", result.stdout


def test_dev_without_a_key_warns_and_hashes_with_the_development_key(dev_build_without_key: tuple[Path, str]) -> None:
    database, output = dev_build_without_key
    # Loud even under --quiet, which hides dbt's warnings (the README's demo runs quiet).
    assert "WARNING: DMESH_MASKING_KEY is not set, so target 'dev' hashes with the public development masking key" in (
        output
    )
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(
            "select r.ssn, p.ssn from main.accounts_v2 r join mesh_products.accounts_v2 p using (person_id)"
        ).fetchall()
    assert rows and all(published == hash_value(DEVELOPMENT_MASKING_KEY, str(raw)) for raw, published in rows)


def test_vars_choose_the_published_schema_and_materialization(dev_build_without_key: tuple[Path, str]) -> None:
    database, _ = dev_build_without_key
    with duckdb.connect(str(database), read_only=True) as connection:
        published = connection.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
            " where table_name = 'accounts_v2'"
        ).fetchall()
    assert sorted(published) == [("main", "accounts_v2", "BASE TABLE"), ("mesh_products", "accounts_v2", "BASE TABLE")]


def test_an_unsupported_adapter_fails_naming_it_and_the_macro_to_add(proof: MaskingProject, tmp_path: Path) -> None:
    # Every dispatched macro's default__ body; called directly, since only engines we test have bodies.
    result = side_build(
        proof, tmp_path, "run-operation", "dmesh.default__mask_hash", "--args", "{expression: email}", keys=KEYS_ENV
    )
    assert result.returncode != 0
    message = " ".join(result.stdout.split())
    assert (
        "dmesh does not support the 'duckdb' adapter: mask_hash has bodies for duckdb, postgres and bigquery" in message
    )
    assert "add a duckdb__mask_hash macro" in message


def test_a_project_breaking_the_pii_policy_fails_before_building_and_names_every_problem(tmp_path: Path) -> None:
    project = tmp_path / "broken"
    write_policy_breaking_project(project)
    run_dbt(project, "deps")
    result = run_dbt(project, "build", env=KEYS_ENV, check=False)
    assert result.returncode != 0
    output = " ".join(result.stdout.split())
    assert "the project breaks the mesh PII policy (4 problems)" in output
    assert "column broken.cvv is classified 'cvv', which no model may carry" in output
    assert "column broken.email has unknown PII class 'e-mail': use one of address," in output
    assert "column broken.phone asks for unknown masking strategy 'scramble': use one of date_month," in output
    assert "column broken.ssn has a mask_exception without both a reason and an approver" in output
    assert not (project / "proof.duckdb").exists() or _tables(project / "proof.duckdb") == []


def _tables(database: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute("select table_name from information_schema.tables").fetchall()


def test_dates_keep_their_type_when_generalized(proof: MaskingProject) -> None:
    [(birth, first_seen)] = query(proof, "select date_of_birth, first_seen_on from main_published.people limit 1")
    assert isinstance(birth, date) and (birth.month, birth.day) == (1, 1)
    assert isinstance(first_seen, date) and first_seen.day == 1


STRONG = "x" * 32


@pytest.mark.parametrize(
    ("domain_key", "mesh_key"),
    [
        ("short-key", STRONG + "-mesh"),  # fewer than 32 bytes
        (STRONG + "\n", STRONG + "-mesh"),  # a pasted newline
        (DEVELOPMENT_MASKING_KEY, STRONG + "-mesh"),  # the public development key
        (STRONG, DEVELOPMENT_MESH_KEY),  # the public development mesh key
        (STRONG, "é" * 15),  # 15 characters, 30 bytes
    ],
)
def test_a_target_other_than_dev_refuses_a_weak_key_naming_the_variable_and_the_fix(
    proof: MaskingProject, tmp_path: Path, domain_key: str, mesh_key: str
) -> None:
    keys = {"DMESH_MASKING_KEY": domain_key, "DMESH_MESH_KEY": mesh_key}
    result = side_build(proof, tmp_path, "build", "--target", "ci", keys=keys)
    assert result.returncode == 2
    problems = [weak_key_problem(key, variable, "ci") for variable, key in keys.items()]
    [problem] = [p for p in problems if p is not None]  # the same rule as the Python tools, word for word
    assert problem in result.stdout
    assert "openssl rand -hex 32" in problem
    assert _tables(tmp_path / "side.duckdb") == []


def test_a_target_other_than_dev_refuses_a_mesh_key_equal_to_the_domain_key(
    proof: MaskingProject, tmp_path: Path
) -> None:
    keys = {"DMESH_MASKING_KEY": KEYS.domain, "DMESH_MESH_KEY": KEYS.domain}
    result = side_build(proof, tmp_path, "build", "--target", "ci", keys=keys)
    assert result.returncode == 2
    assert "DMESH_MESH_KEY equals DMESH_MASKING_KEY on target 'ci'" in result.stdout


def test_a_target_other_than_dev_needs_the_mesh_key_to_hash_joinable_classes(
    proof: MaskingProject, tmp_path: Path
) -> None:
    result = side_build(proof, tmp_path, "build", "--target", "ci", keys={"DMESH_MASKING_KEY": KEYS.domain})
    assert result.returncode == 2
    assert "no mesh key for target 'ci': set the environment variable DMESH_MESH_KEY" in result.stdout


def test_strong_keys_build_a_target_other_than_dev(proof: MaskingProject, tmp_path: Path) -> None:
    result = side_build(proof, tmp_path, "build", "--target", "ci", "--select", "people_raw+", keys=KEYS_ENV)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "development" not in result.stdout

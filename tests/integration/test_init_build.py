"""A project fresh from `dmesh-dbt init` builds with plain dbt, offline, on DuckDB; what lands is what we meant."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from tests.helpers import init_domain, run_dbt

CONTRACTED_MARTS = {"customers", "payments"}


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = init_domain(tmp_path_factory.mktemp("mesh"), "payments")
    run_dbt(project, "build")
    return project


def query(project: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def seed_rows(project: Path, seed: str) -> int:
    with (project / "seeds" / f"{seed}.csv").open() as handle:
        return sum(1 for _ in csv.DictReader(handle))


def test_marts_hold_every_seeded_row(built_project: Path) -> None:
    customers = seed_rows(built_project, "raw_customers")
    payments = seed_rows(built_project, "raw_payments")
    assert query(built_project, "select count(*) from main.customers") == [(customers,)]
    assert query(built_project, "select count(*) from main.payments") == [(payments,)]


def test_staging_is_views_and_marts_are_tables(built_project: Path) -> None:
    rows = query(
        built_project, "select table_name, table_type from information_schema.tables where table_schema = 'main'"
    )
    kinds = dict(rows)
    assert kinds["stg_customers"] == "VIEW" and kinds["stg_payments"] == "VIEW"
    assert kinds["customers"] == "BASE TABLE" and kinds["payments"] == "BASE TABLE"


def test_card_numbers_keep_their_digits(built_project: Path) -> None:
    # agate would read 16-digit PANs as integers; the explicit seed column_types keep them strings.
    [(data_type,)] = query(
        built_project,
        "select data_type from information_schema.columns"
        " where table_schema = 'main' and table_name = 'payments' and column_name = 'card_number'",
    )
    assert data_type == "VARCHAR"
    [(shortest,)] = query(built_project, "select min(length(card_number)) from main.payments")
    assert isinstance(shortest, int) and shortest >= 15


def test_lifetime_value_counts_only_succeeded_payments(built_project: Path) -> None:
    [(mismatches,)] = query(
        built_project,
        """
        select count(*) from main.customers as c
        where c.lifetime_value_cents <> (
            select coalesce(sum(p.amount_cents), 0) from main.payments as p
            where p.customer_id = c.customer_id and p.status = 'succeeded')
        """,
    )
    assert mismatches == 0


def test_manifest_marks_access_contracts_group_and_pii(built_project: Path) -> None:
    manifest = json.loads((built_project / "target" / "manifest.json").read_text())
    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    for name, node in models.items():
        assert node["group"] == "payments"
        if name in CONTRACTED_MARTS:
            assert node["access"] == "public" and node["config"]["contract"]["enforced"] is True
            assert all(column["data_type"] and column["description"] for column in node["columns"].values())
        else:
            assert node["access"] == "private"
    assert models["customers"]["columns"]["email"]["meta"]["pii"] == "email"
    assert models["payments"]["columns"]["card_number"]["meta"]["pii"] == "card_number"
    assert manifest["groups"]["group.payments.payments"]["owner"]["email"] == "payments-team@acme.test"


def test_every_test_kind_ran_and_passed(built_project: Path) -> None:
    results = json.loads((built_project / "target" / "run_results.json").read_text())["results"]
    assert {result["status"] for result in results} <= {"success", "pass"}
    ids = [result["unique_id"] for result in results]
    assert any(i.startswith("unit_test.") for i in ids), "the example unit test ran"
    assert any(i.startswith("test.payments.assert_payment_amounts_are_positive") for i in ids), "singular test ran"
    assert any(i.startswith("test.payments.accepted_values_") for i in ids)


def test_generated_sql_passes_sqlfluff(built_project: Path) -> None:
    from sqlfluff.core import FluffConfig, Linter

    config = FluffConfig.from_path(str(built_project))
    linter = Linter(config=config)
    result = linter.lint_paths((str(built_project / "models"), str(built_project / "tests")))
    violations = result.as_records()
    assert [record for record in violations if record["violations"]] == []
    assert len(violations) >= 5, "every example SQL file was linted"


def test_project_without_examples_builds(tmp_path: Path) -> None:
    project = init_domain(tmp_path, "risk", "--no-examples")
    result = run_dbt(project, "build")
    assert "Nothing to do" in result.stdout or "Completed successfully" in result.stdout

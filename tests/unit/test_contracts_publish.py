"""What publish promises consumers: the build gate, and the guarantees that survive masking."""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

import pytest
from msgspec.structs import replace

from dmesh_dbt.artifacts import (
    Access,
    Column,
    ColumnConstraints,
    DataTest,
    Model,
    Project,
    RunResult,
    RunResults,
)
from dmesh_dbt.contracts import published_model
from dmesh_dbt.errors import PolicyViolation
from dmesh_dbt.project import Target
from dmesh_dbt.publish import build_problems, require_build_results, require_current_build, require_green_build

DUCKDB = Target("dev", "duckdb", {"type": "duckdb", "path": "warehouse.duckdb"})


def column(name: str, data_type: str, pii: str | None = None, mask: str | None = None, key: bool = False) -> Column:
    meta = {k: v for k, v in {"pii": pii, "mask": mask}.items() if v}
    constraints = ColumnConstraints(not_null=True, unique=True, primary_key=True) if key else ColumnConstraints()
    return Column(name, data_type, f"{name}.", MappingProxyType(meta), pii, mask, constraints)


def model(
    name: str, version: str | None = None, columns: tuple[Column, ...] = (), tests: tuple[str, ...] = ()
) -> Model:
    unique_id = f"model.payments.{name}" + (f".v{version}" if version else "")
    return Model(
        unique_id=unique_id,
        name=name,
        package_name="payments",
        version=version,
        latest_version=version,
        access=Access.PUBLIC,
        group="payments",
        contract_enforced=True,
        database="warehouse",
        schema="main",
        alias=name if version is None else f"{name}_v{version}",
        relation_name=None,
        description=f"The {name}.",
        deprecation_date=None,
        columns=columns,
        depends_on=(),
        original_file_path=f"models/marts/{name}.sql",
        patch_path=None,
        meta=MappingProxyType({}),
        tests=tuple(DataTest(f"test.payments.{t}", t.split("_")[0], None, unique_id, None) for t in tests),
    )


def project(*models: Model) -> Project:
    return Project("payments", "duckdb", "1.11.16", None, models, (), (), (), ())


def results(**statuses: str) -> RunResults:
    return RunResults(
        "1.11.16", None, tuple(RunResult(uid, status, None, 0.1, None) for uid, status in statuses.items())
    )


CUSTOMERS = model(
    "customers",
    columns=(
        column("customer_id", "bigint", key=True),
        column("email", "varchar", pii="email"),
        column("account_number", "bigint", pii="bank_account"),
        column("full_name", "varchar", pii="person_name"),
        column("device_id", "varchar", pii="device_id", mask="null"),
        column("country_code", "varchar"),
    ),
    tests=("unique_customers_customer_id",),
)


def test_a_green_build_passes_the_gate() -> None:
    passed = results(**{"model.payments.customers": "success", "test.payments.unique_customers_customer_id": "pass"})
    assert build_problems(project(CUSTOMERS), passed) == []


@pytest.mark.parametrize(
    ("statuses", "problem"),
    [
        ({}, "customers was not built by the last dbt run"),
        ({"model.payments.customers": "error"}, "customers error in the last dbt run"),
        (
            {"model.payments.customers": "success", "test.payments.unique_customers_customer_id": "fail"},
            "test unique_customers_customer_id of customers fail",
        ),
        ({"model.payments.customers": "success"}, "test unique_customers_customer_id of customers did not run"),
        (
            {
                "model.payments.customers": "success",
                "test.payments.unique_customers_customer_id": "pass",
                "unit_test.payments.customers.counts_only_succeeded": "fail",
            },
            "unit test counts_only_succeeded fail",
        ),
    ],
)
def test_the_gate_names_what_is_not_green(statuses: dict[str, str], problem: str) -> None:
    assert problem in build_problems(project(CUSTOMERS), results(**statuses))
    with pytest.raises(PolicyViolation, match=rf"not publishing: .*{problem}.*; run `dbt build` until it passes"):
        require_green_build(project(CUSTOMERS), results(**statuses))


@pytest.mark.parametrize(
    ("command", "shown"), [("generate", "docs generate"), ("compile", "compile"), ("show", "show")]
)
def test_run_results_of_a_command_that_builds_nothing_are_refused_as_such(command: str, shown: str) -> None:
    path = Path("target/run_results.json")
    with pytest.raises(PolicyViolation) as refused:
        require_build_results(path, replace(results(**{"model.payments.customers": "success"}), command=command))
    assert str(refused.value) == f"{path} is from `dbt {shown}`, not a build: run `dbt build` and publish again"


@pytest.mark.parametrize("command", ["build", "run", "test", "seed", "snapshot", "retry", None])
def test_run_results_of_a_build_or_of_no_named_command_go_on_to_the_green_gate(command: str | None) -> None:
    require_build_results(Path("target/run_results.json"), replace(results(), command=command))


def test_the_published_relation_is_in_the_published_schema_with_the_version_suffix() -> None:
    published = published_model(model("customers", "2"), DUCKDB, {}, "payments")
    assert (published.relation.database, published.relation.schema) == ("payments", "main_published")
    assert published.relation.identifier == "customers_v2"
    assert published.materialization == "table"  # DuckDB publishes tables only: no key is needed to read them
    postgres = Target("postgres", "postgres", {"type": "postgres", "schema": "payments"})
    assert published_model(model("customers"), postgres, {}, "payments").materialization == "view"
    custom = published_model(
        model("customers"),
        DUCKDB,
        {"dmesh_published_schema": "shared", "dmesh_published_materialization": "table"},
        "payments",
    )
    assert (custom.relation.schema, custom.relation.identifier, custom.materialization) == (
        "shared",
        "customers",
        "table",
    )


def test_published_columns_carry_post_masking_types_and_surviving_guarantees() -> None:
    columns = {c.name: c for c in published_model(CUSTOMERS, DUCKDB, {}, "payments").columns}
    key = columns["customer_id"]
    assert (key.physical_type, key.primary_key, key.unique, key.required, key.pii) == ("bigint", True, True, True, None)
    assert (columns["email"].physical_type, columns["email"].masking) == ("varchar", "hash")
    assert columns["account_number"].physical_type == "varchar"  # a keyed hash of a number is text
    assert (columns["full_name"].masking, columns["device_id"].masking) == ("redact", "null")
    assert columns["country_code"].masking is None


def test_a_keyed_hash_keeps_a_key_but_redaction_and_null_do_not() -> None:
    keys = model(
        "people",
        columns=(
            column("email", "varchar", pii="email", key=True),
            column("full_name", "varchar", pii="person_name", key=True),
            column("device_id", "varchar", pii="device_id", mask="null", key=True),
        ),
    )
    columns = {c.name: c for c in published_model(keys, DUCKDB, {}, "payments").columns}
    assert (columns["email"].unique, columns["email"].primary_key, columns["email"].required) == (True, True, True)
    assert (columns["full_name"].unique, columns["full_name"].primary_key) == (False, False)
    assert (columns["device_id"].unique, columns["device_id"].required) == (False, False)


def test_a_build_older_than_the_project_files_is_not_published(tmp_path: Path) -> None:
    results_path = tmp_path / "target" / "run_results.json"
    results_path.parent.mkdir()
    results_path.write_text("{}")
    os.utime(results_path, (1_000, 1_000))
    (tmp_path / "dbt_project.yml").write_text('version: "1.1.0"\n')
    with pytest.raises(PolicyViolation, match=r"files changed after the last dbt build \(the version bump too\)"):
        require_current_build(tmp_path, results_path)
    os.utime(results_path)  # the build is newer again
    require_current_build(tmp_path, results_path)

"""`dmesh-dbt diff` between two published ODCS contracts of one product."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from click.testing import CliRunner

from dmesh_dbt.cli import cli
from dmesh_dbt.contracts import ContractColumn, ProductContract, Relation, Server, render_contract

COLUMNS = (
    ContractColumn("customer_id", "BIGINT", "Key.", required=True, unique=True, primary_key=True),
    ContractColumn("email", "VARCHAR", "Email, hashed.", pii="email", masking="hash"),
    ContractColumn("city", "VARCHAR", "City."),
)

V1 = ProductContract(
    domain="payments",
    product="customers",
    model_version=None,
    latest_version=None,
    release="1.0.0",
    description="One row per customer.",
    owner="payments-team@example.com",
    team_description="Payments",
    tier="silver",
    relation=Relation("warehouse", "main_published", "customers"),
    materialization="table",
    server=Server("dev", "duckdb", MappingProxyType({"database": "warehouse.duckdb"})),
    columns=COLUMNS,
)


def write(path: Path, contract: ProductContract) -> Path:
    path.write_text(render_contract(contract))
    return path


def diff(tmp_path: Path, new: ProductContract) -> tuple[int, str]:
    old_file = write(tmp_path / "old.odcs.yaml", V1)
    new_file = write(tmp_path / "new.odcs.yaml", new)
    result = CliRunner().invoke(cli, ["diff", str(old_file), str(new_file), "--format", "json"])
    return result.exit_code, result.output


def test_identical_contracts_have_no_changes(tmp_path: Path) -> None:
    code, output = diff(tmp_path, replace(V1, release="1.0.1"))
    assert code == 0 and '"findings": []' in output


def test_contract_changes_are_classified(tmp_path: Path) -> None:
    new_columns = (
        replace(COLUMNS[0], unique=False, primary_key=False),  # key removed
        replace(COLUMNS[1], masking=None),  # now published unmasked: a leak
        ContractColumn("segment", "VARCHAR", "Segment."),  # where city was, with its type: read as a rename
    )
    code, output = diff(tmp_path, replace(V1, release="2.0.0", columns=new_columns))
    assert code == 1
    for expected in (
        '"rule": "BC007"',
        '"rule": "BC021"',
        '"message": "customers.email is now published unmasked (a mask_exception was added; it was masked with hash)"',
        '"rule": "BC004"',
    ):
        assert expected in output

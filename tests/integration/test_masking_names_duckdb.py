"""YAML names match relation columns the way DuckDB matches them: a misspelt, re-cased or extra column either is
masked or fails the build with one line naming model and column; no raw PII value reaches the published schema."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from dmesh_dbt.artifacts import load_manifest
from dmesh_dbt.contracts import published_model
from dmesh_dbt.loom import published_manifest
from dmesh_dbt.masking import column_key, hash_value, warehouse_column_name
from dmesh_dbt.project import Target
from tests.helpers import init_domain, run_dbt
from tests.integration.masking_leaks import find_leaks
from tests.integration.names_cases import (
    COMMON_CASES,
    SPELLINGS,
    NameCase,
    apply,
    contract_off,
    copy_domain,
    error_lines,
    macro_readings,
    raw_pii_values,
    rename_ssn,
)

KEY = "names-duckdb-key"
PUBLISHED_SCHEMA = "main_published"

CASES = (
    *COMMON_CASES,
    # DuckDB keeps a quoted name's case but holds no two columns apart by case: both spellings are the column ssn.
    NameCase("upper-case", (contract_off, rename_ssn("SSN"))),
    NameCase("quoted-mixed-case", (contract_off, rename_ssn("'\"Ssn\"'"))),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_domain(tmp_path_factory.mktemp("names"), "payments")


def query(project: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def published_values(project: Path) -> list[tuple[str, str, str]]:
    columns = query(
        project,
        f"select table_name, column_name from information_schema.columns where table_schema = '{PUBLISHED_SCHEMA}'",
    )
    return [
        (str(table), str(column), str(value))
        for table, column in columns
        for (value,) in query(project, f'select cast("{column}" as varchar) from {PUBLISHED_SCHEMA}."{table}"')
        if value is not None
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_yaml_name_masks_its_column_or_fails_the_build(template: Path, tmp_path: Path, case: NameCase) -> None:
    project = copy_domain(template, tmp_path / "payments")
    apply(case, project)
    result = run_dbt(
        project,
        "build",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
        env={"DMESH_MASKING_KEY": KEY},
        check=case.error is None,
    )

    assert find_leaks(raw_pii_values(template), published_values(project)) == []
    if case.error is not None:
        assert result.returncode != 0
        assert [line[: len(case.error)] for line in dict.fromkeys(error_lines(result.stdout))] == [case.error]
        assert ("customers",) not in query(
            project, f"select table_name from information_schema.tables where table_schema = '{PUBLISHED_SCHEMA}'"
        )
        return
    rows = query(
        project, f"select r.ssn, p.ssn from main.customers r join {PUBLISHED_SCHEMA}.customers p using (customer_id)"
    )
    assert rows and all(published == hash_value(KEY, str(raw)) for raw, published in rows)
    # The Python tools name the column as the warehouse does: the contract and the dbt-loom manifest say `ssn`.
    manifest_path = project / "target" / "manifest.json"
    model = load_manifest(manifest_path).model("model.payments.customers")
    assert model is not None
    published = published_model(model, Target("dev", "duckdb", {}), {}, "payments")
    [ssn] = [c for c in published.columns if c.name.lower() == "ssn"]
    assert (ssn.name.lower(), ssn.pii, ssn.masking) == ("ssn", "national_id", "hash")
    loom = published_manifest(json.loads(manifest_path.read_text()), [published])
    columns = loom["nodes"]["model.payments.customers"]["columns"]
    assert [name for name in columns if name.strip().lower() == "ssn"] == [ssn.name]
    assert columns[ssn.name]["meta"]["pii"] == "national_id"


def test_the_macros_read_names_as_the_python_tools_do(template: Path) -> None:
    python = [(warehouse_column_name(name, "duckdb"), column_key(name, "duckdb")) for name in SPELLINGS]
    assert macro_readings(template) == python

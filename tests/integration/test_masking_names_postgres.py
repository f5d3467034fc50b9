"""YAML names match relation columns the way PostgreSQL matches them: unquoted names fold to lower case, quoted ones
are exact. A misspelt, re-cased or extra column either is masked or fails the build with one line naming model and
column; no raw PII value reaches the published schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmesh_dbt.masking import column_key, hash_value, warehouse_column_name
from tests.engines import PostgresEngine
from tests.helpers import init_domain, run_dbt
from tests.integration.masking_leaks import find_leaks
from tests.integration.names_cases import (
    COMMON_CASES,
    SPELLINGS,
    UNDOCUMENTED_SSN,
    NameCase,
    apply,
    contract_off,
    copy_domain,
    error_lines,
    macro_readings,
    raw_pii_values,
    rename_ssn,
)

pytestmark = pytest.mark.postgres

KEY = "names-postgres-domain-key-of-at-least-32-bytes"  # non-dev targets refuse weak keys
MESH_KEY = "names-postgres-mesh-key-of-at-least-32-bytes"

CASES = (
    *COMMON_CASES,
    # Unquoted, SSN is the column ssn: dbt's contract agrees, so masking must too.
    NameCase("upper-case", (rename_ssn("SSN"),)),
    # Quoted, "Ssn" is another column than ssn: the real ssn is undocumented.
    NameCase("quoted-mixed-case", (contract_off, rename_ssn("'\"Ssn\"'")), UNDOCUMENTED_SSN),
)


@pytest.fixture(scope="module")
def engine(postgres_engine: PostgresEngine) -> PostgresEngine:
    engine = postgres_engine.create_database("dmesh_names")
    engine.run_sql("create extension if not exists pgcrypto")
    return engine


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_domain(tmp_path_factory.mktemp("names"), "payments")


def published_values(engine: PostgresEngine, schema: str) -> list[tuple[str, str, str]]:
    columns = engine.run_sql(
        "select table_name, column_name from information_schema.columns where table_schema = %s", (schema,)
    )
    return [
        (str(table), str(column), str(value))
        for table, column in columns
        for (value,) in engine.run_sql(f'select "{column}"::text from "{schema}"."{table}"')
        if value is not None
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_yaml_name_masks_its_column_or_fails_the_build(
    engine: PostgresEngine, template: Path, tmp_path: Path, case: NameCase
) -> None:
    project = copy_domain(template, tmp_path / "payments")
    apply(case, project)
    schema = "names_" + case.id.replace("-", "_")
    env = {**engine.dbt_env(schema), "DMESH_MASKING_KEY": KEY, "DMESH_MESH_KEY": MESH_KEY}
    build = ("build", "--target", "postgres", "--resource-type", "seed", "--resource-type", "model")
    result = run_dbt(project, *build, env=env, check=case.error is None)

    published = f"{schema}_published"
    assert find_leaks(raw_pii_values(template), published_values(engine, published)) == []
    if case.error is not None:
        assert result.returncode != 0
        assert [line[: len(case.error)] for line in dict.fromkeys(error_lines(result.stdout))] == [case.error]
        tables = engine.run_sql(
            "select table_name from information_schema.tables where table_schema = %s", (published,)
        )
        assert ("customers",) not in tables
        return
    rows = engine.run_sql(
        f'select r.ssn, p.ssn from "{schema}".customers r join "{published}".customers p using (customer_id)'
    )
    assert rows and all(masked == hash_value(KEY, str(raw)) for raw, masked in rows)


def test_the_macros_read_names_as_the_python_tools_do(engine: PostgresEngine, template: Path) -> None:
    python = [(warehouse_column_name(name, "postgres"), column_key(name, "postgres")) for name in SPELLINGS]
    assert macro_readings(template, "--target", "postgres", env=engine.dbt_env("names_readings")) == python

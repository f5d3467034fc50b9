"""`dmesh-dbt onboard --target postgres`: a raw schema on a real PostgreSQL server, read and sampled through dbt."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.engines import PostgresEngine
from tests.helpers import init_domain, masking_keys_env, run_cli
from tests.onboard_cases import EXPECTED_PII, POSTGRES, RAW_SCHEMA, onboard_report, proposals

pytestmark = pytest.mark.postgres


def test_onboard_on_postgres_proposes_the_loaded_pii_builds_and_checks(
    postgres_engine: PostgresEngine, tmp_path: Path
) -> None:
    engine = postgres_engine.create_database("onboard_mesh")
    for statement in POSTGRES:
        engine.run_sql(statement)
    env = engine.dbt_env(schema="shop") | masking_keys_env("onboard")
    project = init_domain(tmp_path, "shop", "--no-examples", "--warehouse", "postgres")

    result = run_cli("onboard", RAW_SCHEMA, "--target", "postgres", "--format", "json", cwd=project, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = onboard_report(result.stdout)
    assert proposals(report) == EXPECTED_PII
    assert report["built"] == ["stg_raw_crm__customers", "stg_raw_crm__events"]

    staging = project / "models" / "staging" / RAW_SCHEMA
    sql = (staging / "stg_raw_crm__customers.sql").read_text()
    assert "cast(attributes as jsonb) as attributes,  -- json has no equality" in sql
    assert "cast(code as text) as code," in sql  # char(4) pads with blanks
    [source] = yaml.safe_load((staging / "_raw_crm__sources.yml").read_text())["sources"]
    types = {c["name"]: c["data_type"] for c in source["tables"][0]["columns"]}
    assert types["Order Total"] == "numeric(12,2)" and types["signup_date"] == "date"
    assert types["is_active"] == "boolean" and types["attributes"] == "jsonb"
    assert source["tables"][0]["config"]["loaded_at_field"] == "_loaded_at"
    rows = engine.run_sql("select customer_id, full_name, order_total, code from shop.stg_raw_crm__customers limit 1")
    assert rows and rows[0][3] == rows[0][3].rstrip()

    checked = run_cli("check", "--target", "postgres", cwd=project, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    again = run_cli("onboard", RAW_SCHEMA, "--target", "postgres", "--format", "json", cwd=project, env=env)
    assert {f["status"] for f in onboard_report(again.stdout)["files"]} == {"unchanged"}, again.stdout


def test_a_table_the_dbt_user_may_not_read_exits_2_naming_it_and_writes_nothing(
    postgres_engine: PostgresEngine, tmp_path: Path
) -> None:
    """The loader's role owns the raw tables; the domain's dbt role was granted the schema and `events` only, and
    then a second role lost the schema itself: onboard refuses with one line naming the table and the grant, and
    leaves the project as it was (no sources file half written)."""
    engine = postgres_engine.create_database("onboard_denied")
    for statement in POSTGRES:
        engine.run_sql(statement)
    for role in ("no_select", "no_usage"):
        engine.run_sql(f"drop role if exists {role}")
        engine.run_sql(f"create role {role} login password 'pw-{role}'")
    engine.run_sql(f"grant usage on schema {RAW_SCHEMA} to no_select")
    engine.run_sql(f"grant select on {RAW_SCHEMA}.events to no_select")  # not "Customers"
    engine.run_sql(f"grant select on all tables in schema {RAW_SCHEMA} to no_usage")  # but no usage of the schema
    project = init_domain(tmp_path, "shop", "--no-examples", "--warehouse", "postgres")
    before = sorted(p.relative_to(project) for p in project.rglob("*") if "target" not in p.parts)

    for role, expected in [
        ("no_select", f'cannot read the columns of "onboard_denied"."{RAW_SCHEMA}"."Customers" on target '
         "'postgres'; grant the target's user SELECT on it (and USAGE on its schema)"),
        ("no_usage", f"may not read schema {RAW_SCHEMA} (permission denied): grant it USAGE on the schema"),
    ]:  # fmt: skip
        env = engine.dbt_env(schema="shop") | {"DMESH_PG_USER": role, "DMESH_PG_PASSWORD": f"pw-{role}"}
        result = run_cli("onboard", RAW_SCHEMA, "--target", "postgres", cwd=project, env=env)
        assert result.returncode == 2, role + ": " + result.stdout + result.stderr
        [line] = result.stderr.strip().splitlines()
        assert expected in line, line
        assert "Traceback" not in result.stdout + result.stderr
        after = sorted(p.relative_to(project) for p in project.rglob("*") if "target" not in p.parts)
        assert after == before, role

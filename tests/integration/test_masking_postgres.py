"""The dmesh masking macros on a real PostgreSQL server (dbt-postgres), built by a role that is not a superuser.

Two builds share the module: the generated `masking_proof` project (every strategy against Python) and the example
domain `dmesh-dbt init` renders (no raw PII value reaches the published schema). A consumer role reads the
published relations and is denied the private schema, where the raw models and the key table live.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2.errors
import pytest

from dmesh_dbt.masking import KEY_TABLE, MaskingKeys, hash_value
from tests.engines import PostgresEngine
from tests.helpers import init_domain, masking_keys_env, run_dbt
from tests.integration.masking_leaks import files_containing, find_leaks, raw_pii_values
from tests.integration.masking_project import (
    PEOPLE_COLUMNS,
    MaskingProject,
    expected_published_person,
    write_masking_project,
)

pytestmark = pytest.mark.postgres

KEYS_ENV = masking_keys_env("pg")
KEYS = MaskingKeys(domain=KEYS_ENV["DMESH_MASKING_KEY"], mesh=KEYS_ENV["DMESH_MESH_KEY"])
NO_KEYS = {"DMESH_MASKING_KEY": "", "DMESH_MESH_KEY": ""}
BUILDER = "domain_builder"
CONSUMER = "mesh_consumer"
PASSWORDS = {BUILDER: secrets.token_hex(8), CONSUMER: secrets.token_hex(8)}


@dataclass(frozen=True)
class Warehouse:
    engine: PostgresEngine  # connected as the superuser, to look at what the build left

    def dbt_env(self, schema: str, keys: dict[str, str] = KEYS_ENV) -> dict[str, str]:
        """The domain's postgres target, as the non-superuser builder, with its masking keys."""
        env = self.engine.dbt_env(schema)
        env.update(DMESH_PG_USER=BUILDER, DMESH_PG_PASSWORD=PASSWORDS[BUILDER], **keys)
        return env

    def as_consumer(self, sql: str) -> list[tuple[object, ...]]:
        return self.engine.run_sql(sql, user=CONSUMER, password=PASSWORDS[CONSUMER])


@pytest.fixture(scope="module")
def warehouse(postgres_engine: PostgresEngine) -> Iterator[Warehouse]:
    engine = postgres_engine.create_database("dmesh_masking")
    for role in (BUILDER, CONSUMER):
        engine.run_sql(f"drop role if exists {role}")
        engine.run_sql(f"create role {role} login password '{PASSWORDS[role]}'")
    engine.run_sql(f"grant create on database dmesh_masking to {BUILDER}")
    # As a DBA would: pgcrypto (for hmac) is installed once; builders need no superuser rights.
    engine.run_sql("create extension if not exists pgcrypto")
    yield Warehouse(engine)


@pytest.fixture(scope="module")
def proof(warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> MaskingProject:
    project = write_masking_project(tmp_path_factory.mktemp("pg") / "masking_proof")
    run_dbt(project.path, "deps")
    run_dbt(
        project.path,
        "build",
        "--target",
        "postgres",
        "--vars",
        f"{{dmesh_consumer_roles: [{CONSUMER}]}}",
        env=warehouse.dbt_env("proof"),
    )
    return project


@pytest.fixture(scope="module")
def domain(warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = init_domain(tmp_path_factory.mktemp("pg"), "payments")
    run_dbt(
        project,
        "build",
        "--target",
        "postgres",
        "--vars",
        f"{{dmesh_consumer_roles: [{CONSUMER}]}}",
        env=warehouse.dbt_env("payments"),
    )
    return project


@pytest.mark.parametrize("relation", ["people", "people_snapshot"])
def test_every_strategy_publishes_what_python_computes(
    warehouse: Warehouse, proof: MaskingProject, relation: str
) -> None:
    names = list(PEOPLE_COLUMNS)
    rows = warehouse.engine.run_sql(f"select {', '.join(names)} from proof_published.{relation} order by person_id")
    published = [dict(zip(names, row, strict=True)) for row in rows]
    assert published == [expected_published_person(row, KEYS) for row in proof.people]


def test_the_keys_are_in_no_file_the_build_wrote(proof: MaskingProject) -> None:
    assert files_containing(proof.path, KEYS.domain) == []
    assert files_containing(proof.path, KEYS.mesh) == []


def test_the_key_table_is_private_and_holds_each_scope_s_key_as_bytes(
    warehouse: Warehouse, proof: MaskingProject
) -> None:
    stored = warehouse.engine.run_sql(f"select scope, convert_from(key, 'UTF8') from proof.{KEY_TABLE} order by 1")
    assert stored == [("domain", KEYS.domain), ("mesh", KEYS.mesh)]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="permission denied for schema proof"):
        warehouse.as_consumer(f"select * from proof.{KEY_TABLE}")


def test_a_consumer_reads_published_views_and_tables(warehouse: Warehouse, proof: MaskingProject) -> None:
    for relation in ("people", "people_snapshot"):  # a view and a table
        [(email, ssn)] = warehouse.as_consumer(f"select email, ssn from proof_published.{relation} where person_id = 1")
        assert email == hash_value(KEYS.mesh, proof.people[0]["email"])  # joinable: the mesh key
        assert ssn == hash_value(KEYS.domain, proof.people[0]["ssn"])  # enumerable: the domain's own key


def test_a_consumer_role_is_denied_every_private_relation_and_reads_every_published_one(
    warehouse: Warehouse, domain: Path
) -> None:
    # The consumer holds exactly what dmesh grants (var dmesh_consumer_roles): try everything the warehouse holds.
    relations = warehouse.engine.run_sql(
        "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname in ('payments', 'payments_published') and c.relkind in ('r', 'v', 'm', 'p')"
    )
    private = sorted(name for schema, name in relations if schema == "payments")
    published = sorted(name for schema, name in relations if schema == "payments_published")
    assert {KEY_TABLE, "customers", "raw_customers", "payments"} <= set(private)
    assert published == ["customers", "payments"]
    for name in private:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="permission denied for schema payments"):
            warehouse.as_consumer(f'select * from payments."{name}"')
    for name in published:
        assert warehouse.as_consumer(f'select count(*) from payments_published."{name}"') != [(0,)]
    # Not even through a grant to PUBLIC, should the schema ever be opened to the consumer.
    [(can_use_schema, can_read_keys)] = warehouse.engine.run_sql(
        f"select has_schema_privilege('{CONSUMER}', 'payments', 'usage'),"
        f" has_table_privilege('{CONSUMER}', 'payments.{KEY_TABLE}', 'select')"
    )
    assert (can_use_schema, can_read_keys) == (False, False)


def test_no_raw_pii_value_reaches_the_published_schema(warehouse: Warehouse, domain: Path) -> None:
    raw = raw_pii_values(domain)
    assert len(raw) > 300
    columns = warehouse.engine.run_sql(
        "select table_name, column_name from information_schema.columns where table_schema = 'payments_published'"
    )
    assert {table for table, _ in columns} == {"customers", "payments"}
    published = [
        (str(table), str(column), str(value))
        for table, column in columns
        for (value,) in warehouse.engine.run_sql(f'select "{column}"::text from payments_published."{table}"')
        if value is not None
    ]
    assert len(published) > 1000
    assert find_leaks(raw, published) == []


def test_postgres_and_python_hash_alike(warehouse: Warehouse, domain: Path) -> None:
    rows = warehouse.engine.run_sql(
        "select r.card_number, p.card_number from payments.payments r "
        "join payments_published.payments p using (payment_id)"
    )
    assert rows and all(published == hash_value(KEYS.domain, str(raw)) for raw, published in rows)


def test_a_missing_key_fails_the_postgres_target_loudly(warehouse: Warehouse, proof: MaskingProject) -> None:
    result = run_dbt(
        proof.path, "build", "--target", "postgres", env=warehouse.dbt_env("proof_nokey", NO_KEYS), check=False
    )
    assert result.returncode != 0
    assert "no masking key for target 'postgres': set the environment variable DMESH_MASKING_KEY" in result.stdout
    assert warehouse.engine.run_sql(
        "select count(*) from information_schema.tables where table_schema like 'proof_nokey%'"
    ) == [(0,)]


def test_a_rebuild_can_switch_the_published_materialization_and_keeps_grants(
    warehouse: Warehouse, proof: MaskingProject
) -> None:
    # Runs last in this module: it rebuilds `proof`, publishing every model as a table this time.
    run_dbt(
        proof.path,
        "build",
        "--target",
        "postgres",
        "--vars",
        f"{{dmesh_consumer_roles: [{CONSUMER}], dmesh_published_materialization: table}}",
        env=warehouse.dbt_env("proof"),
    )
    kinds = warehouse.engine.run_sql(
        "select table_name, table_type from information_schema.tables where table_schema = 'proof_published'"
    )
    assert dict(kinds) == {name: "BASE TABLE" for name in ("people", "people_snapshot", "card_leak", "accounts_v2")}
    [(email,)] = warehouse.as_consumer("select email from proof_published.people where person_id = 1")
    assert email == hash_value(KEYS.mesh, proof.people[0]["email"])

"""Mask by default on the example domain `dmesh-dbt init` renders, built on DuckDB: nothing a consumer can read in
the published schema contains a raw PII value, and the keyed hash joins across domains that share the key."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from dmesh_dbt.masking import dbt_vars
from tests.helpers import init_domain, run_dbt
from tests.integration.masking_leaks import files_containing, find_leaks, raw_pii_values

KEY = f"mesh-{secrets.token_hex(12)}"
OTHER_KEY = f"other-{secrets.token_hex(12)}"
PUBLISHED_SCHEMA = "main_published"


@dataclass(frozen=True)
class Domain:
    path: Path

    @property
    def database(self) -> Path:
        return self.path / "warehouse.duckdb"

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql).fetchall()


def build(domain: Domain, *args: str, key: str) -> None:
    run_dbt(domain.path, *args, env={"DMESH_MASKING_KEY": key})


@pytest.fixture(scope="module")
def domains(tmp_path_factory: pytest.TempPathFactory) -> tuple[Domain, Domain]:
    parent = tmp_path_factory.mktemp("mesh")
    payments, billing = Domain(init_domain(parent, "payments")), Domain(init_domain(parent, "billing"))
    build(payments, "build", key=KEY)
    # The second domain only needs its published relations: its data tests would prove nothing new.
    build(billing, "build", "--resource-type", "seed", "--resource-type", "model", key=KEY)
    return payments, billing


def published_values(domain: Domain) -> Iterator[tuple[str, str, str]]:
    """(relation, column, value as text) for every non-null value in the published schema."""
    columns = domain.query(
        f"select table_name, column_name from information_schema.columns where table_schema = '{PUBLISHED_SCHEMA}'"
    )
    for table, column in columns:
        for (value,) in domain.query(f'select cast("{column}" as varchar) from {PUBLISHED_SCHEMA}."{table}"'):
            if value is not None:
                yield str(table), str(column), str(value)


def test_every_public_model_is_published(domains: tuple[Domain, Domain]) -> None:
    payments, _ = domains
    published = payments.query(
        f"select table_name from information_schema.tables where table_schema = '{PUBLISHED_SCHEMA}' order by 1"
    )
    assert published == [("customers",), ("payments",)]
    for table in ("customers", "payments"):
        assert payments.query(f"select count(*) from {PUBLISHED_SCHEMA}.{table}") == payments.query(
            f"select count(*) from main.{table}"
        )


def test_no_raw_pii_value_reaches_the_published_schema(domains: tuple[Domain, Domain]) -> None:
    payments, _ = domains
    raw = raw_pii_values(payments.path)
    assert len(raw) > 300  # the example seeds: emails, phones, SSNs, card numbers, coordinates...
    values = list(published_values(payments))
    assert len(values) > 1000
    assert find_leaks(raw, values) == []


def test_the_key_is_in_no_file_the_build_wrote(domains: tuple[Domain, Domain]) -> None:
    payments, _ = domains
    assert files_containing(payments.path, KEY) == []


def test_hashes_join_across_domains_with_one_key_and_not_with_another(domains: tuple[Domain, Domain]) -> None:
    payments, billing = domains
    hashed = f"select customer_id, email, ssn from {PUBLISHED_SCHEMA}.customers order by customer_id"
    card_hashes = f"select payment_id, card_number from {PUBLISHED_SCHEMA}.payments order by payment_id"
    assert payments.query(hashed) == billing.query(hashed)
    assert payments.query(card_hashes) == billing.query(card_hashes)

    # The published views read the key at query time: installing another key changes every hash.
    build(billing, "run", "--select", "customers", key=OTHER_KEY)
    mine, theirs = payments.query(hashed), billing.query(hashed)
    assert len(mine) == len(theirs)
    assert all(a[1] != b[1] and a[2] != b[2] for a, b in zip(mine, theirs, strict=True))


def test_the_domain_reads_the_mesh_policy_the_python_tools_read(domains: tuple[Domain, Domain]) -> None:
    payments, _ = domains
    project_vars = yaml.safe_load((payments.path / "dbt_project.yml").read_text())["vars"]
    expected = dbt_vars()
    assert project_vars["dmesh_pii_classes"] == expected["dmesh_pii_classes"]
    assert sorted(project_vars["dmesh_forbidden_pii_classes"]) == expected["dmesh_forbidden_pii_classes"]

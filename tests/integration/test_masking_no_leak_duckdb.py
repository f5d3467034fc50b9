"""Mask by default on the example domain `dmesh-dbt init` renders, built on DuckDB: nothing a consumer can read in
the published schema contains a raw PII value, no key material is ever written to the warehouse file (nor survives a
key rotation), and keyed hashes join across domains only for the classes the mesh policy marks joinable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from dmesh_dbt.masking import LEGACY_KEY_TABLE, MaskingKeys, dbt_vars, hash_value
from tests.helpers import init_domain, masking_keys_env, run_dbt
from tests.integration.masking_leaks import (
    files_containing,
    find_leaks,
    key_material,
    key_material_found,
    raw_pii_values,
)

PUBLISHED_SCHEMA = "main_published"


def keys_of(env: dict[str, str]) -> MaskingKeys:
    return MaskingKeys(domain=env["DMESH_MASKING_KEY"], mesh=env["DMESH_MESH_KEY"])


PAYMENTS_ENV = masking_keys_env("payments")
#: Billing shares the mesh key with payments (every domain does) and has its own domain key.
BILLING_ENV = {**masking_keys_env("billing"), "DMESH_MESH_KEY": PAYMENTS_ENV["DMESH_MESH_KEY"]}
ROTATED_ENV = masking_keys_env("rotated")
#: The key an earlier dmesh version left in the file, as its single-key table of HMAC pads.
LEGACY_KEY = "legacy-" + "k" * 32


@dataclass(frozen=True)
class Domain:
    path: Path

    @property
    def database(self) -> Path:
        return self.path / "warehouse.duckdb"

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql).fetchall()


def build(domain: Domain, *args: str, env: dict[str, str]) -> str:
    return run_dbt(domain.path, *args, env=env).stdout


def plant_legacy_key_table(domain: Domain) -> None:
    """What a build of an earlier version left: `main.dmesh_masking_key` holding the HMAC pads."""
    material = key_material(LEGACY_KEY)
    with duckdb.connect(str(domain.database)) as connection:
        connection.execute(
            f"create table main.{LEGACY_KEY_TABLE} as select ?::blob as ipad, ?::blob as opad",
            [material["ipad"], material["opad"]],
        )


@pytest.fixture(scope="module")
def domains(tmp_path_factory: pytest.TempPathFactory) -> tuple[Domain, Domain, str]:
    """payments, billing (upgraded from a version that kept the key in the file) and billing's build output."""
    parent = tmp_path_factory.mktemp("mesh")
    payments, billing = Domain(init_domain(parent, "payments")), Domain(init_domain(parent, "billing"))
    build(payments, "build", env=PAYMENTS_ENV)
    plant_legacy_key_table(billing)
    # The second domain only needs its published relations: its data tests would prove nothing new.
    output = build(billing, "build", "--resource-type", "seed", "--resource-type", "model", env=BILLING_ENV)
    return payments, billing, output


def published_values(domain: Domain) -> Iterator[tuple[str, str, str]]:
    """(relation, column, value as text) for every non-null value in the published schema."""
    columns = domain.query(
        f"select table_name, column_name from information_schema.columns where table_schema = '{PUBLISHED_SCHEMA}'"
    )
    for table, column in columns:
        for (value,) in domain.query(f'select cast("{column}" as varchar) from {PUBLISHED_SCHEMA}."{table}"'):
            if value is not None:
                yield str(table), str(column), str(value)


def test_every_public_model_is_published_as_a_table(domains: tuple[Domain, Domain, str]) -> None:
    payments, _, _ = domains
    published = payments.query(
        "select table_name, table_type from information_schema.tables"
        f" where table_schema = '{PUBLISHED_SCHEMA}' order by 1"
    )
    assert published == [("customers", "BASE TABLE"), ("payments", "BASE TABLE")]
    for table in ("customers", "payments"):
        assert payments.query(f"select count(*) from {PUBLISHED_SCHEMA}.{table}") == payments.query(
            f"select count(*) from main.{table}"
        )


def test_no_raw_pii_value_reaches_the_published_schema(domains: tuple[Domain, Domain, str]) -> None:
    payments, _, _ = domains
    raw = raw_pii_values(payments.path)
    assert len(raw) > 300  # the example seeds: emails, phones, SSNs, card numbers, coordinates...
    values = list(published_values(payments))
    assert len(values) > 1000
    assert find_leaks(raw, values) == []


def test_the_keys_are_in_no_file_the_build_wrote(domains: tuple[Domain, Domain, str]) -> None:
    payments, _, _ = domains
    assert files_containing(payments.path, PAYMENTS_ENV["DMESH_MASKING_KEY"]) == []
    assert files_containing(payments.path, PAYMENTS_ENV["DMESH_MESH_KEY"]) == []


def test_no_key_material_is_in_the_warehouse_file(domains: tuple[Domain, Domain, str]) -> None:
    payments, _, _ = domains
    assert key_material_found(payments.database, PAYMENTS_ENV.values()) == []


def test_the_scan_finds_key_material_where_it_is(domains: tuple[Domain, Domain, str], tmp_path: Path) -> None:
    # The scan itself, against a file that does hold the pads: it must see them through SQL and in the bytes.
    decoy = Domain(tmp_path)
    plant_legacy_key_table(decoy)
    found = key_material_found(decoy.database, [LEGACY_KEY])
    assert any("ipad of key" in f and f'"main"."{LEGACY_KEY_TABLE}"' in f for f in found)
    assert any("opad of key" in f and "the bytes of warehouse.duckdb" in f for f in found)


def test_hashes_are_pythons_hmac_with_the_mesh_key_for_joinable_classes_only(
    domains: tuple[Domain, Domain, str],
) -> None:
    payments, _, _ = domains
    keys = keys_of(PAYMENTS_ENV)
    rows = payments.query(
        f"select r.email, p.email, r.ssn, p.ssn, r.device_id, p.device_id from main.customers r"
        f" join {PUBLISHED_SCHEMA}.customers p using (customer_id)"
    )
    assert len(rows) > 10
    for email, hashed_email, ssn, hashed_ssn, device, hashed_device in rows:
        assert hashed_email == hash_value(keys.mesh, str(email))
        assert hashed_device == hash_value(keys.mesh, str(device))
        assert hashed_ssn == hash_value(keys.domain, str(ssn))


def test_only_joinable_hashes_join_across_domains(domains: tuple[Domain, Domain, str]) -> None:
    payments, billing, _ = domains
    joinable = f"select customer_id, email, device_id from {PUBLISHED_SCHEMA}.customers order by customer_id"
    assert payments.query(joinable) == billing.query(joinable)
    # An SSN or a card number can be enumerated: hashed with each domain's own key, billing cannot look them up.
    private = f"select customer_id, ssn from {PUBLISHED_SCHEMA}.customers where ssn is not null order by customer_id"
    mine, theirs = payments.query(private), billing.query(private)
    assert len(mine) == len(theirs) > 10
    assert all(a[1] != b[1] for a, b in zip(mine, theirs, strict=True))
    cards = f"select card_number from {PUBLISHED_SCHEMA}.payments where card_number is not null order by payment_id"
    assert set(payments.query(cards)).isdisjoint(billing.query(cards))


def test_an_upgrade_drops_the_key_table_an_earlier_version_left(domains: tuple[Domain, Domain, str]) -> None:
    _, billing, output = domains
    assert billing.query(f"select count(*) from duckdb_tables() where table_name = '{LEGACY_KEY_TABLE}'") == [(0,)]
    assert f'dropped "warehouse"."main"."{LEGACY_KEY_TABLE}"' in output
    assert "Rotate DMESH_MASKING_KEY, and rebuild the file from scratch" in output
    # What SQL can reach holds no key material, of the legacy key either (its bytes may survive in free blocks:
    # hence the advice to rebuild the file).
    assert [f for f in key_material_found(billing.database, [LEGACY_KEY]) if "the bytes of" not in f] == []


def test_a_key_rotation_leaves_neither_the_old_nor_the_new_key_in_the_file(
    domains: tuple[Domain, Domain, str],
) -> None:
    _, billing, _ = domains
    assert key_material_found(billing.database, BILLING_ENV.values()) == []
    before = billing.query(f"select email from {PUBLISHED_SCHEMA}.customers order by customer_id")
    build(billing, "run", env=ROTATED_ENV)
    after = billing.query(f"select email from {PUBLISHED_SCHEMA}.customers order by customer_id")
    assert len(before) == len(after) and all(a != b for a, b in zip(before, after, strict=True) if a[0])
    assert key_material_found(billing.database, [*BILLING_ENV.values(), *ROTATED_ENV.values()]) == []


def test_the_domain_reads_the_mesh_policy_the_python_tools_read(domains: tuple[Domain, Domain, str]) -> None:
    payments, _, _ = domains
    project_vars = yaml.safe_load((payments.path / "dbt_project.yml").read_text())["vars"]
    expected = dbt_vars()
    assert project_vars["dmesh_pii_classes"] == expected["dmesh_pii_classes"]
    assert sorted(project_vars["dmesh_forbidden_pii_classes"]) == expected["dmesh_forbidden_pii_classes"]
    assert sorted(project_vars["dmesh_joinable_pii_classes"]) == expected["dmesh_joinable_pii_classes"]

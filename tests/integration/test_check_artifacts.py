"""artifacts.load_manifest / load_run_results on manifests written by a real `dbt parse` and `dbt build`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from msgspec.structs import replace

from dmesh_dbt.artifacts import Access, load_manifest, load_run_results
from dmesh_dbt.errors import ArtifactError
from tests.manifest_oracle import oracle_project

DBT = str(Path(sys.executable).with_name("dbt"))

FILES = {
    "dbt_project.yml": """
        name: shop
        version: "1.0.0"
        profile: shop
        """,
    "profiles.yml": """
        shop:
          target: dev
          outputs:
            dev: {type: duckdb, path: "{dir}/dev.duckdb"}
        """,
    "seeds/raw_customers.csv": "id,email\n1,a@example.com\n2,b@example.com\n",
    "models/groups.yml": """
        groups:
          - name: shop
            owner: {name: Shop team, email: shop@example.com}
        """,
    "models/stg_customers.sql": "select * from {{ ref('raw_customers') }}",
    "models/customers_v1.sql": "select id, email from {{ ref('stg_customers') }}",
    "models/customers_v2.sql": "select id, email, 1 as orders from {{ ref('stg_customers') }}",
    "models/schema.yml": """
        models:
          - name: stg_customers
            access: private
            group: shop
          - name: customers
            description: One row per customer.
            access: public
            group: shop
            latest_version: 2
            config:
              materialized: table
              contract: {enforced: true}
              meta: {domain: shop}
              post-hook: ["select 1"]
            constraints:
              - type: primary_key
                columns: [id]
            columns:
              - name: id
                data_type: integer
                description: Customer id.
                data_tests: [unique, not_null]
              - name: email
                data_type: varchar
                description: Email address.
                meta: {pii: email, mask: redact}
                constraints: [{type: not_null}]
                data_tests:
                  - accepted_values:
                      arguments: {values: ['a@example.com', 'b@example.com']}
            versions:
              - v: 1
                deprecation_date: 2027-01-01
              - v: 2
                columns:
                  - include: all
                  - name: orders
                    data_type: integer
                    description: Number of orders.
                    meta: {pii: none, pii_reason: a count}
        sources:
          - name: crm
            schema: main
            tables:
              - name: raw_contacts
                columns: [{name: phone, meta: {pii: phone}}]
        """,
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small versioned dbt project, built once on DuckDB (so it has a manifest and run results)."""
    root = tmp_path_factory.mktemp("shop")
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).replace("{dir}", str(root)).lstrip())
    args = ["--project-dir", str(root), "--profiles-dir", str(root)]
    subprocess.run([DBT, "build", *args], check=False, capture_output=True, text=True, cwd=root)
    assert (root / "target" / "run_results.json").is_file()
    return root


def test_models_carry_access_contract_versions_and_columns_in_order(shop: Path) -> None:
    project = load_manifest(shop / "target" / "manifest.json")
    assert project.name == "shop" and project.adapter_type == "duckdb"
    by_name = {m.display_name: m for m in project.models}
    assert set(by_name) == {"stg_customers", "customers.v1", "customers.v2"}
    v1, v2 = by_name["customers.v1"], by_name["customers.v2"]
    assert v2.is_public and v2.contract_enforced and v2.version == "2" and v2.latest_version == "2"
    assert by_name["stg_customers"].access is Access.PRIVATE
    assert v1.deprecation_date == datetime(2027, 1, 1, tzinfo=UTC) and v2.deprecation_date is None
    assert v2.column_names == ("id", "email", "orders")
    assert v1.column_names == ("id", "email")
    assert v2.depends_on == ("model.shop.stg_customers",)
    assert v2.meta["domain"] == "shop" and v2.materialized == "table" and v2.post_hooks == ("select 1",)
    assert v2.relation_name == '"dev"."main"."customers_v2"' and v2.alias == "customers_v2"
    assert v2.group == "shop" and project.group("shop") is not None
    assert project.group("shop").owner_email == "shop@example.com"  # type: ignore[union-attr]
    assert v2.original_file_path == "models/customers_v2.sql" and v2.patch_path == "shop://models/schema.yml"


def test_columns_carry_pii_constraints_and_tests(shop: Path) -> None:
    project = load_manifest(shop / "target" / "manifest.json")
    v2 = next(m for m in project.models if m.version == "2")
    id_, email, orders = v2.columns
    assert id_.constraints.primary_key and id_.is_not_null and id_.is_unique  # model-level primary key
    assert {t.name for t in id_.tests} == {"unique", "not_null"}
    assert email.pii == "email" and email.mask == "redact" and email.constraints.not_null
    assert not email.is_unique
    assert email.accepted_values == ("a@example.com", "b@example.com")
    assert orders.pii == "none" and orders.pii_reason == "a count" and orders.tests == ()
    assert len(v2.tests) == 3 and all(t.attached_node == v2.unique_id for t in v2.tests)
    source = project.sources[0]
    assert (source.source_name, source.name, source.columns[0].pii) == ("crm", "raw_contacts", "phone")
    assert [s.name for s in project.seeds] == ["raw_customers"]


def test_run_results_list_every_executed_node(shop: Path) -> None:
    results = load_run_results(shop / "target" / "run_results.json")
    statuses = {r.unique_id: r.status for r in results.results}
    assert statuses["seed.shop.raw_customers"] == "success"
    assert statuses["model.shop.customers.v2"] == "success"
    assert any(uid.startswith("test.shop.not_null_customers") and s == "pass" for uid, s in statuses.items())


def test_missing_manifest_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"no dbt manifest at .*run `dbt parse`"):
        load_manifest(tmp_path / "manifest.json")


def test_truncated_manifest_is_an_artifact_error(shop: Path, tmp_path: Path) -> None:
    text = (shop / "target" / "manifest.json").read_text()
    truncated = tmp_path / "manifest.json"
    truncated.write_text(text[: len(text) // 2])
    with pytest.raises(ArtifactError, match="truncated or not JSON"):
        load_manifest(truncated)


@pytest.mark.parametrize("version", ["v11", "v13", None])
def test_foreign_schema_version_names_the_supported_one(shop: Path, tmp_path: Path, version: str | None) -> None:
    document = json.loads((shop / "target" / "manifest.json").read_text())
    if version is None:
        del document["metadata"]["dbt_schema_version"]
    else:
        document["metadata"]["dbt_schema_version"] = f"https://schemas.getdbt.com/dbt/manifest/{version}.json"
    foreign = tmp_path / "manifest.json"
    foreign.write_text(json.dumps(document))
    with pytest.raises(ArtifactError, match="reads dbt manifest v12 only"):
        load_manifest(foreign)


def test_run_results_are_not_a_manifest(shop: Path) -> None:
    with pytest.raises(ArtifactError, match="reads dbt manifest v12 only"):
        load_manifest(shop / "target" / "run_results.json")


def test_the_typed_reader_makes_of_real_manifests_the_project_the_dict_reader_made(shop: Path) -> None:
    """dbt's own manifests, with seeds, tests, versions, groups and compiled code (tests/manifest_oracle.py)."""
    path = shop / "target" / "manifest.json"
    project, expected = load_manifest(path), replace(oracle_project(path.read_bytes()), manifest_path=path)
    assert project == expected and repr(project) == repr(expected)
    assert project.seeds and project.tests and project.groups

"""`consume` on a consumer project written by the test: sources YAML, DuckDB attach, dbt-loom config, the record."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from dmesh_dbt.consume import columns_read, consume, describe_product
from dmesh_dbt.contracts import ContractColumn, ProductContract, ProductRef, Relation, Server, render_contract
from dmesh_dbt.errors import RegistryError, UsageError
from dmesh_dbt.loom import loom_reference
from dmesh_dbt.registry import ProductEntry, Registry
from dmesh_dbt.snapshots import snapshot_file_name

PROFILES = """# Connection profiles of the risk domain; comments survive consume.
risk:
  target: "{{ env_var('DMESH_TARGET', 'dev') }}"
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('DMESH_DUCKDB_PATH', 'warehouse.duckdb') }}"  # the domain's own file
      threads: 4
    prod:
      type: bigquery
      method: oauth
      project: acme
      dataset: risk
"""


def contract(
    product: str, version: str | None = None, columns: tuple[str, ...] = ("customer_id", "email")
) -> ProductContract:
    return ProductContract(
        domain="payments",
        product=product,
        model_version=version,
        latest_version=version,
        release="1.0.0",
        description=f"The {product} product.",
        owner="payments-team@example.com",
        team_description="Payments.",
        tier="gold",
        relation=Relation("payments", "main_published", product if version is None else f"{product}_v{version}"),
        materialization="view",
        server=Server("dev", "duckdb", {"database": "payments", "schema": "main_published"}),
        columns=tuple(
            ContractColumn(
                name,
                "varchar",
                f"{name} of the row",
                pii="email" if name == "email" else None,
                masking="hash" if name == "email" else None,
            )
            for name in columns
        ),
        freshness={"warn_after": {"count": 24, "period": "hour"}},
    )


def snapshot(directory: Path, published: ProductContract) -> Path:
    """The product's data as its producer's publish would export it: one row per column of the contract."""
    path = directory / snapshot_file_name(published.product, published.model_version)
    values = ", ".join(f"'{published.relation.identifier} {c.name}' as {c.name}" for c in published.columns)
    with duckdb.connect() as connection:
        connection.execute(f"copy (select {values}) to '{path}' (format parquet)")
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    store = Registry.open(str(tmp_path / "registry"))
    contracts = [contract("customers", "1"), contract("customers", "2", ("customer_id",)), contract("payments")]
    staging = tmp_path / "staging"
    staging.mkdir()
    snapshots = {c.file_name: snapshot(staging, c) for c in contracts}
    entries = tuple(
        ProductEntry(c.product, c.model_version, "2" if c.model_version else None, c.file_name, path.name, 1)
        for c, path in zip(contracts, snapshots.values(), strict=True)
    )
    files = {c.file_name: render_contract(c).encode() for c in contracts} | {"manifest.json": b'{"nodes": {}}'}
    paths = {path.name: path for path in snapshots.values()}
    store.publish("payments", "1.0.0", "payments-team@example.com", entries, files, snapshots=paths)
    return store


@pytest.fixture
def risk(tmp_path: Path) -> Path:
    project = tmp_path / "risk"
    project.mkdir()
    (project / "dbt_project.yml").write_text('name: risk\nversion: "1.0.0"\nprofile: risk\n')
    (project / "dmesh.yml").write_text("domain: risk\nowner: risk-team@example.com\nregistry: ../registry\n")
    (project / "profiles.yml").write_text(PROFILES)
    return project


def test_consume_writes_a_source_with_the_contract_columns(risk: Path, registry: Registry) -> None:
    result = consume(risk, ProductRef("payments", "payments"))
    document = yaml.safe_load((risk / "models" / "consumed" / "payments.yml").read_text())
    (source,) = document["sources"]
    assert (source["name"], source["database"], source["schema"]) == ("payments", "payments", "main_published")
    assert source["config"]["freshness"] == {"warn_after": {"count": 24, "period": "hour"}}
    (table,) = source["tables"]
    assert (table["name"], table["identifier"]) == ("payments", "payments")
    assert table["columns"][1] == {
        "name": "email",
        "data_type": "varchar",
        "description": "email of the row",
        "meta": {"pii": "email", "masking": "hash"},
    }
    assert result.source_call == "{{ source('payments', 'payments') }}"


def test_one_table_per_product_and_a_version_pins_what_it_reads(risk: Path, registry: Registry) -> None:
    consume(risk, ProductRef("payments", "payments"))
    consume(risk, ProductRef("payments", "customers", "1"))
    consume(risk, ProductRef("payments", "customers", "1"))  # again: replaced, not duplicated

    def tables() -> dict[str, str]:
        (source,) = yaml.safe_load((risk / "models" / "consumed" / "payments.yml").read_text())["sources"]
        return {t["name"]: t["identifier"] for t in source["tables"]}

    assert tables() == {"payments": "payments", "customers": "customers_v1"}
    consume(risk, ProductRef("payments", "customers"))  # the latest version, v2
    assert tables() == {"payments": "payments", "customers": "customers_v2"}


def test_moving_to_a_version_without_a_column_the_models_read_is_refused(risk: Path, registry: Registry) -> None:
    consume(risk, ProductRef("payments", "customers", "1"))
    _write_manifest(risk, "select customer_id, email from src")
    sources = (risk / "models" / "consumed" / "payments.yml").read_text()
    with pytest.raises(
        UsageError,
        match=r"payments.customers@2 \(release 1.0.0\) has no email, which this project's models read from "
        r"source\('payments', 'customers'\); pin the version you read: dmesh-dbt consume payments.customers@1",
    ):
        consume(risk, ProductRef("payments", "customers"))
    assert (risk / "models" / "consumed" / "payments.yml").read_text() == sources
    (record,) = registry.consumers("payments", "customers")
    assert record.version == "1"


def test_the_release_snapshot_catalog_is_attached_read_only_and_comments_survive(
    risk: Path, registry: Registry
) -> None:
    profiles = risk / "profiles.yml"
    # What consume attached before snapshots: the producer's own file. It must go.
    profiles.write_text(
        PROFILES.replace(
            "      threads: 4\n",
            "      threads: 4\n      attach:\n        - path: "
            "/data/payments/warehouse.duckdb\n          alias: payments\n",
            1,
        )
    )
    result = consume(risk, ProductRef("payments", "payments"))
    consume(risk, ProductRef("payments", "customers"))
    text = profiles.read_text()
    assert "# Connection profiles of the risk domain; comments survive consume." in text
    assert "# the domain's own file" in text
    assert "{{ env_var('DMESH_DUCKDB_PATH', 'warehouse.duckdb') }}" in text
    assert "/data/payments" not in text
    dev = yaml.safe_load(text)["risk"]["outputs"]["dev"]
    catalog = (risk / ".dmesh" / "catalog" / "payments.duckdb").resolve()
    assert dev["attach"] == [{"path": str(catalog), "alias": "payments", "read_only": True}]
    assert result.attached == catalog
    assert "attach" not in yaml.safe_load(text)["risk"]["outputs"]["prod"]
    with duckdb.connect() as connection:
        connection.execute(f"attach '{catalog}' as payments (read_only)")
        for relation in ("payments", "customers_v2"):
            read = connection.execute(f"select customer_id from payments.main_published.{relation}").fetchall()
            assert read == [(f"{relation} customer_id",)]


def test_pinning_a_version_switches_the_catalog_view_to_its_snapshot(risk: Path, registry: Registry) -> None:
    consume(risk, ProductRef("payments", "customers", "1"))
    catalog = risk / ".dmesh" / "catalog" / "payments.duckdb"
    with duckdb.connect() as connection:
        connection.execute(f"attach '{catalog}' as payments (read_only)")
        assert connection.execute("select email from payments.main_published.customers_v1").fetchall() == [
            ("customers_v1 email",)
        ]
    release = registry.latest_release("payments")
    assert release is not None
    fetched = risk / ".dmesh" / "snapshots" / "payments" / f"1.0.0-{release.digest[:12]}"
    assert sorted(p.name for p in fetched.iterdir()) == ["customers_v1.parquet"]


def test_a_duckdb_release_without_snapshots_is_refused_not_attached(risk: Path, tmp_path: Path) -> None:
    store = Registry.open(str(tmp_path / "registry"))
    published = contract("payments")
    entry = ProductEntry("payments", None, None, published.file_name)
    store.publish("payments", "1.0.0", "team", (entry,), {published.file_name: render_contract(published).encode()})
    with pytest.raises(RegistryError, match="has no data snapshot of payments; ask the payments team to publish"):
        consume(risk, ProductRef("payments", "payments"))
    assert "attach" not in (risk / "profiles.yml").read_text()
    assert not (risk / "models" / "consumed").exists()


def test_no_attach_for_a_warehouse_target(risk: Path, registry: Registry) -> None:
    result = consume(risk, ProductRef("payments", "payments"), target="prod")
    assert result.attached is None
    assert "attach" not in (risk / "profiles.yml").read_text()


def test_the_dbt_loom_config_points_at_the_release_manifest(risk: Path, registry: Registry) -> None:
    result = consume(risk, ProductRef("payments", "payments"), dbt_loom=True)
    (reference,) = yaml.safe_load((risk / "dbt_loom.config.yml").read_text())["manifests"]
    assert reference["name"] == "payments" and reference["type"] == "file"
    assert Path(reference["config"]["path"]).is_file()
    assert result.loom_config == risk / "dbt_loom.config.yml"


def test_an_object_store_registry_gives_an_s3_loom_reference(registry: Registry) -> None:
    release = registry.latest_release("payments")
    assert release is not None
    reference = loom_reference(Registry.open("s3://mesh-bucket/registry"), release)
    assert reference["type"] == "s3"
    assert reference["config"] == {
        "bucket_name": "mesh-bucket",
        "object_name": f"registry/releases/payments/1.0.0/{release.digest}/manifest.json",
    }


def test_consume_records_the_consumer_with_every_column_before_any_build(risk: Path, registry: Registry) -> None:
    consume(risk, ProductRef("payments", "customers", "1"))
    (record,) = registry.consumers("payments", "customers")
    assert (record.consumer, record.version, record.columns) == ("risk", "1", ("customer_id", "email"))
    shown = describe_product(registry, ProductRef("payments", "customers", "1"))
    assert shown.to_json()["consumers"][0]["consumer"] == "risk"
    assert shown.versions == ("1", "2")


def _write_manifest(project: Path, sql: str) -> None:
    node = {"depends_on": {"nodes": ["source.risk.payments.customers"]}, "compiled_code": sql}
    (project / "target").mkdir(exist_ok=True)
    (project / "target" / "manifest.json").write_text(json.dumps({"nodes": {"model.risk.scores": node}}))


@pytest.mark.parametrize(
    ("sql", "read"),
    [
        ("select customer_id, count(*) as n from src group by 1", ("customer_id",)),
        ('select "EMAIL" from src', ("email",)),
        ("select customer_id * 2 as doubled from src", ("customer_id",)),
        ("select 1 as nothing from src", ()),
        ("select * from src", None),
        ("select s.* from src as s", None),
    ],
)
def test_columns_read_come_from_the_consumer_models_compiled_sql(
    risk: Path, sql: str, read: tuple[str, ...] | None
) -> None:
    assert columns_read(risk, "payments", "customers", ["customer_id", "email"]) is None  # nothing compiled yet
    _write_manifest(risk, sql)
    assert columns_read(risk, "payments", "customers", ["customer_id", "email"]) == read


def test_consuming_your_own_domain_or_an_unknown_product_is_refused(risk: Path, registry: Registry) -> None:
    with pytest.raises(UsageError, match="belongs to this domain"):
        consume(risk, ProductRef("risk", "scores"))
    with pytest.raises(RegistryError, match=r"payments publishes no product refunds"):
        consume(risk, ProductRef("payments", "refunds"))
    assert not (risk / "models").exists()

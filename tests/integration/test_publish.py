"""`publish` on a real, built domain project (DuckDB): the gate, the contracts, the dbt-loom manifest, the registry."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from dmesh_dbt import __version__
from dmesh_dbt.artifacts import Project, load_manifest
from dmesh_dbt.check import require_passing_check
from dmesh_dbt.contracts import parse_contract, validation_errors
from dmesh_dbt.errors import ArtifactError, PolicyViolation, RegistryError
from dmesh_dbt.loom import MANIFEST_FILE
from dmesh_dbt.project import registry_url
from dmesh_dbt.publish import publish
from dmesh_dbt.registry import BuiltWith, PublishOutcome, Registry
from tests.helpers import init_domain, run_dbt


@pytest.fixture(scope="module")
def payments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example `payments` domain, built once for the module."""
    project = init_domain(tmp_path_factory.mktemp("mesh"), "payments")
    run_dbt(project, "build")
    return project


@pytest.fixture(scope="module")
def published(payments: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, Path]:
    url = str(tmp_path_factory.mktemp("registry"))
    result = publish(payments, url, passing_check=require_passing_check)
    assert result.outcome is PublishOutcome.PUBLISHED
    return Registry.open(url), payments


def test_publish_refuses_before_any_build(tmp_path: Path) -> None:
    project = init_domain(tmp_path, "cards")
    with pytest.raises(ArtifactError, match=r"no dbt manifest at .*; run `dbt parse`"):
        publish(project, str(tmp_path / "registry"), passing_check=require_passing_check)
    assert not (tmp_path / "registry").exists()


def test_every_public_model_version_gets_a_valid_odcs_contract(published: tuple[Registry, Path]) -> None:
    registry, project = published
    release = registry.latest_release("payments")
    assert release is not None
    assert (release.version, release.owner) == ("1.0.0", "payments-team@acme.test")
    assert sorted(p.ref for p in release.products) == ["customers", "payments"]
    for product in release.products:
        document = yaml.safe_load(registry.read_file(release, product.contract))
        assert validation_errors(document) == []
        assert document["id"] == f"payments.{product.name}"


def test_contracts_point_at_the_masked_published_relation(published: tuple[Registry, Path]) -> None:
    registry, project = published
    release, entry = registry.find_product("payments", "customers")
    contract = parse_contract(registry.read_file(release, entry.contract))
    assert contract.relation.schema == "main_published"
    assert contract.server.type == "duckdb"
    # The name consumers attach the release's snapshot catalog under; never the producer's own file.
    assert contract.server.details == {"database": "payments", "schema": "main_published"}
    assert "warehouse.duckdb" not in registry.read_file(release, entry.contract).decode()
    email, key = contract.column("email"), contract.column("customer_id")
    assert email is not None and (email.pii, email.masking, email.physical_type) == ("email", "hash", "varchar")
    assert key is not None and key.primary_key and key.required and key.unique
    birth = contract.column("date_of_birth")
    assert birth is not None and (birth.masking, birth.physical_type) == ("date_year", "date")
    assert contract.freshness["error_after"] == {"count": 48, "period": "hour"}
    assert contract.availability == "99.5%" and contract.tier == "silver"


def test_published_types_are_the_types_of_the_published_relation(published: tuple[Registry, Path]) -> None:
    registry, project = published
    release, entry = registry.find_product("payments", "customers")
    contract = parse_contract(registry.read_file(release, entry.contract))
    with duckdb.connect(str(project / "warehouse.duckdb"), read_only=True) as connection:
        actual = dict(
            connection.execute(
                "select column_name, lower(data_type) from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [contract.relation.schema, contract.relation.identifier],
            ).fetchall()
        )
    declared = {c.name: c.physical_type.lower().replace("double precision", "double") for c in contract.columns}
    assert actual == declared


def test_the_dbt_loom_manifest_holds_only_public_nodes_at_published_relations(
    published: tuple[Registry, Path],
) -> None:
    registry, project = published
    release = registry.latest_release("payments")
    assert release is not None
    manifest = json.loads(registry.read_file(release, "manifest.json"))
    models = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
    assert sorted(models) == ["model.payments.customers", "model.payments.payments"]
    for node in models.values():
        assert node["access"] == "public"
        assert node["schema"] == "main_published"
        # The name consumers attach payments' DuckDB file under, not the file's own (every domain's is "warehouse").
        assert node["relation_name"] == f'"payments"."main_published"."{node["name"]}"'
        assert node["depends_on"] == {"nodes": [], "macros": []}
        assert "compiled_code" not in node and "raw_code" not in node
    raw = json.loads((project / "target" / "manifest.json").read_text())
    assert "stg_customers" not in json.dumps(manifest)
    assert manifest["metadata"]["dbt_schema_version"] == raw["metadata"]["dbt_schema_version"]
    tests = {v["name"] for v in manifest["nodes"].values() if v["resource_type"] == "test"}
    assert "unique_customers_customer_id" in tests and "not_null_customers_customer_id" in tests


def test_the_release_holds_a_parquet_snapshot_of_each_published_relation(
    published: tuple[Registry, Path], tmp_path: Path
) -> None:
    registry, project = published
    release = registry.latest_release("payments")
    assert release is not None
    assert sorted(p.snapshot or "" for p in release.products) == ["customers.parquet", "payments.parquet"]
    assert {"customers.parquet", "payments.parquet"} <= set(release.files)  # covered by the release's digest
    entry = release.product("customers")
    assert entry is not None
    snapshot = registry.fetch_snapshot(release, entry, tmp_path)
    with duckdb.connect(str(project / "warehouse.duckdb"), read_only=True) as connection:
        published_rows = connection.execute("select * from main_published.customers order by all").fetchall()
        raw_emails = {e for (e,) in connection.execute("select email from main.customers").fetchall()}
        snapshot_rows = connection.execute(f"select * from read_parquet('{snapshot}')").fetchall()
    assert snapshot_rows == published_rows and entry.rows == len(published_rows)
    assert not raw_emails & {value for row in snapshot_rows for value in row}


def test_republishing_the_same_build_is_a_no_op(published: tuple[Registry, Path]) -> None:
    registry, project = published
    before = registry.latest_release("payments")
    assert publish(project, registry.url, passing_check=require_passing_check).outcome is PublishOutcome.UNCHANGED
    assert registry.latest_release("payments") == before


def test_a_changed_project_cannot_republish_the_same_version(published: tuple[Registry, Path], tmp_path: Path) -> None:
    registry, project = published
    manifest_path = project / "target" / "manifest.json"
    original = manifest_path.read_text()
    changed = json.loads(original)
    changed["nodes"]["model.payments.customers"]["description"] = "A new description."
    try:
        manifest_path.write_text(json.dumps(changed))
        with pytest.raises(RegistryError, match=r"payments 1\.0\.0 is already published with different content"):
            publish(project, registry.url, passing_check=require_passing_check)
    finally:
        manifest_path.write_text(original)


def test_a_build_rewriting_the_manifest_while_publish_runs_changes_neither_the_check_nor_the_release(
    payments: Path, tmp_path: Path
) -> None:
    """The gate checks, and the release holds, the manifest publish read: a build that lands in between (here its
    customers.email lost its PII class, which the check refuses) reaches neither."""
    manifest_path = payments / "target" / "manifest.json"
    original = manifest_path.read_bytes()
    rewritten = json.loads(original)
    email = rewritten["nodes"]["model.payments.customers"]["columns"]["email"]
    email["meta"], email["config"] = {}, {**(email.get("config") or {}), "meta": {}}
    checked = []

    def gate(project_dir: Path, url: str, project: Project) -> None:
        manifest_path.write_text(json.dumps(rewritten))  # the other build lands after publish read the manifest
        checked.append(project)
        require_passing_check(project_dir, url, project)

    try:
        result = publish(payments, str(tmp_path / "registry"), passing_check=gate)
    finally:
        manifest_path.write_bytes(original)
    assert result.outcome is PublishOutcome.PUBLISHED
    customers = checked[0].model("model.payments.customers")
    email_column = customers.column("email") if customers is not None else None
    assert email_column is not None and email_column.pii == "email"
    registry = Registry.open(str(tmp_path / "registry"))
    release = registry.latest_release("payments")
    assert release is not None
    loom = json.loads(registry.read_file(release, MANIFEST_FILE))
    assert loom["nodes"]["model.payments.customers"]["columns"]["email"]["meta"]["pii"] == "email"

    def rereading_gate(project_dir: Path, url: str, project: Project) -> None:
        manifest_path.write_text(json.dumps(rewritten))
        require_passing_check(project_dir, url, load_manifest(manifest_path))  # the file read again

    try:  # what the gate would have checked had it read the file again: refused
        with pytest.raises(PolicyViolation, match=r"not publishing: dmesh-dbt check finds .*email"):
            publish(payments, str(tmp_path / "registry-2"), passing_check=rereading_gate)
    finally:
        manifest_path.write_bytes(original)


def test_the_registry_comes_from_dmesh_yml_relative_to_the_project(
    payments: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DMESH_REGISTRY", raising=False)
    assert registry_url(payments) == str((payments.parent / "registry").resolve())
    monkeypatch.setenv("DMESH_REGISTRY", "s3://bucket/mesh")
    assert registry_url(payments) == "s3://bucket/mesh"
    assert registry_url(payments, "/srv/registry") == "/srv/registry"


def test_publish_refuses_when_the_last_run_did_not_build_the_public_models(
    published: tuple[Registry, Path],
) -> None:
    registry, project = published
    # Last in the module: it leaves the project with a test-only run.
    run_dbt(project, "test", "--select", "customers")
    with pytest.raises(PolicyViolation, match=r"not publishing: payments was not built by the last dbt run"):
        publish(project, registry.url, passing_check=require_passing_check)


def test_the_release_records_the_template_and_package_versions_it_was_built_with(
    published: tuple[Registry, Path],
) -> None:
    registry, _ = published
    release = registry.latest_release("payments")
    assert release is not None and release.built_with == BuiltWith(template=__version__, dmesh_package=__version__)
    marker = json.loads((Path(registry.url) / "releases" / "payments" / "1.0.0" / "RELEASE.json").read_text())
    assert marker["built_with"] == {"template": __version__, "dmesh_package": __version__}

"""catalog.json (``dbt docs generate``) read as an artifact, and DM015's report line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dmesh_dbt import examples as ex
from dmesh_dbt.artifacts import Model, load_catalog
from dmesh_dbt.errors import ArtifactError
from dmesh_dbt.policy.drift import read_catalog

SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"


def catalog_document(columns: dict[str, list[str]], version: str = SCHEMA) -> dict[str, object]:
    """A catalog in dbt's shape: columns keyed by name, each with its position."""
    nodes = {
        node: {"columns": {name: {"name": name, "index": i, "type": "VARCHAR"} for i, name in enumerate(names, 1)}}
        for node, names in columns.items()
    }
    metadata = {"dbt_schema_version": version, "generated_at": "2026-12-01T09:50:12.5Z"}
    return {"metadata": metadata, "nodes": nodes, "sources": {}, "errors": None}


def test_a_catalog_gives_each_relation_s_columns_in_order(tmp_path: Path) -> None:
    path = tmp_path / "target" / "catalog.json"
    assert read_catalog(tmp_path, ex.project(), tmp_path / "target" / "catalog.json") == (None, None)
    path.parent.mkdir()
    document = catalog_document({"model.shop.customers": ["customer_id", "email"]})
    # dbt writes columns keyed by name, in no particular order: the index gives the relation's.
    document["nodes"]["model.shop.customers"]["columns"] = dict(  # type: ignore[index]
        reversed(list(document["nodes"]["model.shop.customers"]["columns"].items()))  # type: ignore[index]
    )
    path.write_text(json.dumps(document))
    catalog, _ = read_catalog(tmp_path, ex.project(), tmp_path / "target" / "catalog.json")
    assert catalog is not None and catalog.columns["model.shop.customers"] == ("customer_id", "email")
    assert catalog.generated_at is not None and catalog.generated_at.year == 2026


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"metadata": {', "is truncated or not JSON"),
        (json.dumps(catalog_document({}, "https://schemas.getdbt.com/dbt/catalog/v9.json")), "has schema v9"),
        (json.dumps({"metadata": {"dbt_schema_version": SCHEMA}, "nodes": {"m": {}}}), "is not a complete dbt catalog"),
    ],
)
def test_a_broken_catalog_is_an_artifact_error_naming_the_fix(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(text)
    with pytest.raises(ArtifactError, match=problem) as raised:
        load_catalog(path)
    assert "dbt docs generate" in str(raised.value)


def catalog_project(tmp_path: Path, *models: Model) -> Path:
    """A project whose target/catalog.json lists customer_id for customers, written after the models' SQL."""
    for model in models:
        (tmp_path / model.original_file_path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / model.original_file_path).write_text("select 1 as customer_id\n")
    path = tmp_path / "target" / "catalog.json"
    path.parent.mkdir()
    path.write_text(json.dumps(catalog_document({"model.shop.customers": ["customer_id"]})))
    return path


def test_the_note_says_what_was_compared_and_what_the_catalog_lacks(tmp_path: Path) -> None:
    customers, orders = ex.model("customers"), ex.model("orders")
    catalog_project(tmp_path, customers, orders)
    catalog, line = read_catalog(tmp_path, ex.project(customers, orders), tmp_path / "target" / "catalog.json")
    assert catalog is not None and set(catalog.columns) == {customers.unique_id}
    assert line == (
        "catalog: target/catalog.json (dbt docs generate, generated 2026-12-01 09:50 UTC): the columns of 1 public "
        "model(s) compared with their relations; not in it (build them, then `dbt docs generate`): orders"
    )


def test_a_relation_older_than_its_model_s_sql_is_not_judged(tmp_path: Path) -> None:
    customers = ex.model("customers")
    catalog = catalog_project(tmp_path, customers)
    sql = tmp_path / customers.original_file_path
    os.utime(sql, (catalog.stat().st_mtime + 10, catalog.stat().st_mtime + 10))  # edited after docs generate
    read, line = read_catalog(tmp_path, ex.project(customers), tmp_path / "target" / "catalog.json")
    assert read is not None and read.columns == {}
    assert line is not None and line.endswith(
        "the columns of 0 public model(s) compared with their relations; older than their SQL (rebuild, then "
        "`dbt docs generate`): customers"
    )


def test_the_catalog_gives_each_relation_s_column_types_sources_too(tmp_path: Path) -> None:
    document = catalog_document({"model.shop.customers": ["customer_id", "email"]})
    document["sources"] = {
        "source.shop.crm.contacts": {"columns": {"phone": {"name": "phone", "index": 1, "type": "TEXT"}}}
    }
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(document))
    types = load_catalog(path).types
    assert dict(types["model.shop.customers"]) == {"customer_id": "VARCHAR", "email": "VARCHAR"}
    assert dict(types["source.shop.crm.contacts"]) == {"phone": "TEXT"}


def test_scan_reads_the_catalog_through_the_one_reader_and_refuses_a_broken_one(tmp_path: Path) -> None:
    from dmesh_dbt.scan.scanner import project_columns

    project = ex.project(ex.model("customers", ex.KEY))
    documented = {(ref.node_id, ref.name) for ref in project_columns(project, tmp_path)}  # no catalog: YAML only
    path = tmp_path / "target" / "catalog.json"
    path.parent.mkdir()
    path.write_text(json.dumps(catalog_document({"model.shop.customers": ["customer_id", "e_mail"]})))
    found = {(ref.node_id, ref.name, ref.data_type) for ref in project_columns(project, tmp_path)}
    assert ("model.shop.customers", "e_mail", "VARCHAR") in found and len(found) == len(documented) + 1
    path.write_text('{"nodes": {')  # a build interrupted while writing it
    with pytest.raises(ArtifactError) as raised:
        project_columns(project, tmp_path)
    message = str(raised.value)
    assert str(path) in message and "\n" not in message and raised.value.exit_code == 2

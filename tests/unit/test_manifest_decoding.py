"""The typed manifest reader (msgspec, issue 16) makes the Project the dict reader made (``tests/manifest_oracle``)
of every manifest, odd ones included, and refuses what it refused in one line that names the file and the fix."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from dmesh_dbt.artifacts import (
    Project,
    load_manifest_keeping_bytes,
    manifest_document,
    parse_manifest,
    project_from_manifest,
)
from dmesh_dbt.errors import ArtifactError
from tests.manifest_oracle import oracle_project
from tests.unit.test_manifest_reading import _manifest

V12 = "https://schemas.getdbt.com/dbt/manifest/v12.json"
REGENERATE = "regenerate it with `dbt parse`"

Document = dict[str, Any]


def _model(name: str, **fields: Any) -> Document:
    node: Document = {
        "unique_id": f"model.shop.{name}",
        "resource_type": "model",
        "name": name,
        "package_name": "shop",
        "schema": "main",
        "raw_code": "select 1",
        "fqn": ["shop", name],
        "checksum": {"name": "sha256"},
    }
    node.update(fields)
    return node


def _test(name: str, **fields: Any) -> Document:
    return {
        "unique_id": f"test.shop.{name}",
        "resource_type": "test",
        "name": name,
        "package_name": "shop",
        "schema": "main_dbt_test__audit",
        **fields,
    }


def _document(*nodes: Document, **top: Any) -> Document:
    metadata = {
        "dbt_schema_version": V12,
        "project_name": "shop",
        "adapter_type": "postgres",
        "dbt_version": "1.11.2",
        "generated_at": "2026-12-01T09:50:12.5Z",
        "invocation_id": "x",
        "env": {},
    }
    document: Document = {
        "metadata": metadata,
        "nodes": {n["unique_id"]: n for n in nodes},
        "macros": {"macro.x": {"name": "x", "macro_sql": "{% macro x() %}{% endmacro %}"}},
        "docs": {},
        "exposures": {},
        "parent_map": {},
        "child_map": {},
        "disabled": {},
    }
    document.update(top)
    return document


def _odd_project() -> Document:
    """One manifest with every shape dbt 1.8-1.11 and Fusion write, and the odd ones the dict reader accepted."""
    columns = {
        "id": {"name": "id", "data_type": "bigint", "constraints": [{"type": "not_null"}, {"type": "unique"}]},
        "ssn ": {
            "name": "ssn ",
            "quote": True,
            "meta": {"pii": "ssn"},
            "config": {"meta": {"pii": "x", "mask": "hash"}},
        },
        "Email": {"name": "Email", "quote": "yes", "config": {"meta": {"pii": "email"}, "tags": []}},
        "phone": {"name": "phone", "meta": {"pii": "phone", "mask": 3}, "config": None, "constraints": None},
        "note": {"name": "note", "meta": None, "config": {"meta": None}, "description": None, "data_type": ""},
        "flag": {"name": "flag", "meta": {}, "config": {}, "constraints": [{"type": "check", "expression": "x"}]},
        "empty_meta": {"name": "empty_meta", "meta": [], "config": {"meta": ""}},
        "reviewed": {"name": "reviewed", "meta": {"pii": "none", "pii_reason": "synthetic"}, "granularity": None},
        "n": {"name": 7, "meta": {"pii": True}},
    }
    return _document(
        _model(
            "customers",
            access="public",
            group="sales",
            version=2,
            latest_version=2.0,
            columns=columns,
            contract={"enforced": True, "alias_types": True},
            constraints=[
                {"type": "primary_key", "columns": ["id", "Email"], "name": None},
                {"type": "unique", "columns": ["flag"]},
            ],
            config={
                "enabled": True,
                "materialized": "table",
                "meta": {"owner": "ana"},
                "post-hook": [
                    {"sql": "grant select on {{ this }} to reporter", "transaction": True},
                    "analyze {{ this }}",
                    {"sql": ""},
                ],
                "tags": ["pii"],
                "contract": {"enforced": False},
            },
            meta={"owner": "ignored: config.meta wins"},
            tags=["pii", "mart"],
            description="One row per customer.",
            deprecation_date="2027-01-01T00:00:00Z",
            depends_on={"macros": ["macro.x"], "nodes": ["model.shop.stg"]},
            database="analytics",
            alias="customers_v2",
            relation_name='"analytics"."main"."customers_v2"',
            original_file_path="models/customers_v2.sql",
            patch_path="shop://models/_marts.yml",
            compiled_code="select 1",
            unrendered_config={"materialized": "table"},
        ),
        _model(
            "stg",
            config=None,
            access=None,
            version="1.5",
            latest_version="",
            columns=None,
            meta={"owner": "bo"},
            depends_on=None,
            tags=None,
            compiled_code="",
        ),
        _model(
            "by_config",
            config={
                "access": "private",
                "group": "ops",
                "contract": {"enforced": True},
                "meta": None,
                "post-hook": None,
            },
            version=3.5,
        ),
        _model("bare", access="protected"),
        {
            **_model("snap"),
            "resource_type": "snapshot",
            "unique_id": "snapshot.shop.snap",
            "config": {"materialized": "snapshot", "strategy": "timestamp"},
            "columns": {"id": {"name": "id", "meta": {"pii": "customer_id"}}},
        },
        {
            **_model("raw_people"),
            "resource_type": "seed",
            "unique_id": "seed.shop.raw_people",
            "config": {"column_types": {"card": "varchar", "n": 16}, "delimiter": ","},
            "columns": {"card": {"name": "card", "config": {"meta": {"pii": "card_number"}}}},
        },
        {**_model("seed_without_config"), "resource_type": "seed", "unique_id": "seed.shop.s2", "config": None},
        _test(
            "not_null_customers_id",
            attached_node="model.shop.customers.v2",
            column_name="id",
            test_metadata={"name": "not_null", "kwargs": {"column_name": "id", "model": "{{ ref('customers') }}"}},
            config={"severity": "warn"},
        ),
        _test(
            "accepted_values_customers_v2_email",
            attached_node="model.shop.customers",
            column_name="EMAIL",
            test_metadata={"name": "accepted_values", "namespace": None, "kwargs": {"values": ["a", 1]}},
        ),
        _test(
            "unique_combo",
            attached_node="model.shop.customers",
            column_name=None,
            test_metadata={"name": "unique_combination_of_columns", "namespace": "dbt_utils", "kwargs": None},
            config=None,
        ),
        _test("singular_on_stg", depends_on={"nodes": ["model.shop.stg", "seed.shop.raw_people"]}),
        _test("singular_on_two", depends_on={"nodes": ["model.shop.stg", "model.shop.bare"]}, test_metadata=None),
        _test("unique_stg_id", attached_node="model.shop.stg", column_name="id", test_metadata={"name": "unique"}),
        {
            "unique_id": "analysis.shop.a",
            "resource_type": "analysis",
            "name": "a",
            "package_name": "shop",
            "schema": "main",
            "config": {"meta": "not read"},
            "columns": {},
        },
        {
            "unique_id": "operation.shop.hook",
            "resource_type": "operation",
            "name": "hook",
            "package_name": "shop",
            "schema": "main",
        },
        sources={
            "source.shop.crm.contacts": {
                "unique_id": "source.shop.crm.contacts",
                "source_name": "crm",
                "name": "contacts",
                "package_name": "shop",
                "relation_name": '"raw"."crm"."contacts"',
                "meta": {"owner": "crm"},
                "source_meta": {"contains_pii": True},
                "original_file_path": "models/sources.yml",
                "columns": {"phone": {"name": "phone", "meta": {"pii": "phone"}}},
                "freshness": {"warn_after": {"count": 1}},
                "loaded_at_field": None,
            },
            "source.shop.crm.bare": {
                "unique_id": "source.shop.crm.bare",
                "source_name": "crm",
                "name": "bare",
                "package_name": "shop",
                "columns": None,
                "meta": None,
                "source_meta": None,
            },
        },
        groups={
            "group.shop.sales": {
                "unique_id": "group.shop.sales",
                "name": "sales",
                "package_name": "shop",
                "owner": {"name": "Ana", "email": "ana@example.com", "slack": "#sales"},
            },
            "group.shop.ops": {"unique_id": "group.shop.ops", "name": "ops", "package_name": "shop", "owner": None},
        },
    )


def _fusion_like() -> Document:
    """Nulls and omissions where dbt-core writes empty values: Fusion's manifests and hand-trimmed ones."""
    document = _document(
        _model("m", config={"meta": {}, "access": "public"}, columns={"c": {"name": "c"}}),
        _test("t", attached_node="model.shop.m", column_name="c", test_metadata={"name": "not_null"}),
    )
    document["metadata"] = {"dbt_schema_version": V12, "adapter_type": None, "project_name": None}
    del document["macros"]
    return document


def _with_metadata(document: Document) -> Document:
    return {**document, "metadata": {**document["metadata"], "dbt_schema_version": V12}}


MANIFESTS: dict[str, Callable[[], Document]] = {
    "odd shapes": _odd_project,
    "fusion-like nulls": _fusion_like,
    "model-level key (test_manifest_reading)": lambda: _with_metadata(
        _manifest(["id", " Day ", "note"], [{"type": "primary_key", "columns": ['"ID"', "day"]}], "snowflake")
    ),
    "sources and groups missing": lambda: _document(_model("only")),
    "sources and groups empty": lambda: _document(sources={}, groups={}),
}


def _assert_same(project: Project, expected: Project) -> None:
    assert project == expected
    # repr tells apart what equality does not: 2 from 2.0 or "2", True from 1, a dict's order (meta precedence)
    assert repr(project) == repr(expected)
    for model, oracle_model in zip(project.models, expected.models, strict=True):
        for column, oracle_column in zip(model.columns, oracle_model.columns, strict=True):
            assert list(column.meta.items()) == list(oracle_column.meta.items())


@pytest.mark.parametrize("make", MANIFESTS.values(), ids=MANIFESTS.keys())
def test_the_typed_reader_makes_the_project_the_dict_reader_made(make: Callable[[], Document]) -> None:
    document = make()
    expected = oracle_project(copy.deepcopy(document))
    _assert_same(parse_manifest(orjson.dumps(document), "manifest.json"), expected)
    _assert_same(project_from_manifest(document), expected)


def test_pii_markings_are_read_with_meta_over_config_meta_key_by_key() -> None:
    project = parse_manifest(orjson.dumps(_odd_project()), "manifest.json")
    model = project.model("model.shop.customers")
    assert model is not None
    found = {c.name: (c.pii, c.mask) for c in model.columns}
    assert found["ssn "] == ("ssn", "hash")  # quoted on PostgreSQL: the name kept as written
    assert found["Email"] == ("email", None)
    assert found["phone"] == ("phone", "3")
    assert found["7"] == ("True", None)  # an odd name or marking is kept as text, for the rules to refuse
    assert found["note"] == found["empty_meta"] == (None, None)
    assert model.meta == {"owner": "ana"} and model.version == "2" and model.latest_version == "2"
    assert [t.name for t in model.column("email").tests] == ["accepted_values"]  # type: ignore[union-attr]
    stg = project.model("model.shop.stg")
    assert stg is not None and stg.version == "1.5" and stg.latest_version is None
    assert [t.name for t in stg.tests] == ["", "unique"]  # the singular test on stg alone is attached to it


def _manifest_bytes(change: Callable[[Document], object]) -> bytes:
    document = _odd_project()
    change(document)
    return orjson.dumps(document)


def _set(path: str, value: object) -> Callable[[Document], None]:
    """A change that sets ``value`` at ``a/b/c`` in the manifest."""

    def change(document: Document) -> None:
        *parents, last = path.split("/")
        target = document
        for key in parents:
            target = target[key]
        target[last] = value

    return change


CUSTOMERS = "nodes/model.shop.customers"
SSN = f"{CUSTOMERS}/columns/ssn "
REFUSED: dict[str, tuple[bytes, str]] = {
    "truncated": (_manifest_bytes(lambda d: None)[:5000], "is truncated or not JSON (unexpected end of data"),
    "not an object": (b"[]", "is not a dbt manifest (a JSON object was expected)"),
    "not json": (b"\xff\xfe{}", "is truncated or not JSON"),
    "another version": (
        _manifest_bytes(_set("metadata/dbt_schema_version", V12.replace("v12", "v11"))),
        "has schema v11; dmesh-dbt reads dbt manifest v12 only",
    ),
    "another version, other fields": (
        orjson.dumps({"metadata": {"dbt_schema_version": V12.replace("v12", "v7")}, "nodes": {"a": {"name": 1}}}),
        "has schema v7; dmesh-dbt reads dbt manifest v12 only",
    ),
    "metadata not an object": (_manifest_bytes(_set("metadata", 12)), "has no dbt_schema_version"),
    "no version": (_manifest_bytes(lambda d: d["metadata"].pop("dbt_schema_version")), "has no dbt_schema_version"),
    "no nodes": (_manifest_bytes(lambda d: d.pop("nodes")), "is not a complete dbt manifest (KeyError: 'nodes')"),
    "model without schema": (
        _manifest_bytes(lambda d: d["nodes"]["model.shop.stg"].pop("schema")),
        "is not a complete dbt manifest (KeyError: 'schema')",
    ),
    "node without unique_id": (
        _manifest_bytes(lambda d: d["nodes"]["model.shop.stg"].pop("unique_id")),
        "(ValidationError: Object missing required field `unique_id` - at `$.nodes[...]`)",
    ),
    "nodes not an object": (
        _manifest_bytes(_set("nodes", [])),
        "is not a complete dbt manifest (ValidationError: Expected `object`, got `array` - at `$.nodes`)",
    ),
    "unknown access": (_manifest_bytes(_set(f"{CUSTOMERS}/access", "everyone")), "'everyone' is not a valid Access"),
    # Fail closed: a column's markings that are not a mapping are refused, never read as "not PII".
    "meta a list": (
        _manifest_bytes(_set(f"{SSN}/meta", ["pii", "ssn"])),
        "(TypeError: 'list' object is not a mapping)",
    ),
    "config.meta a string": (_manifest_bytes(_set(f"{SSN}/config/meta", "pii=ssn")), "TypeError"),
    "config a string": (_manifest_bytes(_set(f"{SSN}/config", "x")), "ValidationError: Expected `object | null`"),
    "deeply nested, for orjson too": (
        _manifest_bytes(_set("macros", [orjson.Fragment(b"[" * 5000 + b"]" * 5000)])),
        "is truncated or not JSON (depth limit exceeded",
    ),
}


@pytest.mark.parametrize(("data", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_a_malformed_manifest_is_refused_in_one_line_that_names_it_and_the_fix(data: bytes, message: str) -> None:
    with pytest.raises(ArtifactError) as refused:
        parse_manifest(data, "target/manifest.json")
    text = str(refused.value)
    assert text.startswith("target/manifest.json ") and message in text and REGENERATE in text
    assert "\n" not in text


def test_a_registry_manifest_is_refused_with_the_fix_the_caller_gives() -> None:
    with pytest.raises(ArtifactError, match=r"^the manifest of payments 1\.0\.0 is not a complete .*republish"):
        parse_manifest(_manifest_bytes(_set("nodes", 3)), "the manifest of payments 1.0.0", "republish the domain")


def test_nesting_orjson_accepts_is_read_or_refused_in_one_line_never_a_crash() -> None:
    """msgspec's bound is the interpreter's recursion limit (about 1,000 levels less the stack on Python 3.11),
    orjson's 1,024: between the two, a manifest is refused as incomplete, or read where the interpreter allows."""
    data = _manifest_bytes(_set(f"{SSN}/meta", {"pii": "ssn", "x": orjson.Fragment(b"[" * 1000 + b"]" * 1000)}))
    try:
        project = parse_manifest(data, "target/manifest.json")
    except ArtifactError as refused:
        text = str(refused)
        assert "is not a complete dbt manifest (RecursionError: maximum recursion depth exceeded" in text
        assert REGENERATE in text and "\n" not in text
    else:
        model = project.model("model.shop.customers")
        assert model is not None and model.columns[1].pii == "ssn"


def test_publish_reads_its_models_and_the_manifest_it_republishes_from_one_read(tmp_path: Path) -> None:
    """A build that rewrites manifest.json while publish runs cannot mix two builds into one release."""
    path = tmp_path / "manifest.json"
    path.write_bytes(_manifest_bytes(lambda document: None))
    project, data = load_manifest_keeping_bytes(path)
    path.write_bytes(_manifest_bytes(_set("nodes/model.shop.customers/name", "rewritten")))
    document = manifest_document(data, str(path))
    model = project.model("model.shop.customers")
    assert model is not None and document["nodes"][model.unique_id]["name"] == model.name != "rewritten"
    assert project.manifest_path == path and data == _manifest_bytes(lambda document: None)

"""The manifest reader as it was before the typed decoder (issue 16): orjson's dicts modelled field by field.

Kept only here, as the oracle the typed reader (``artifacts.parse_manifest``) must agree with on every manifest the
tests have: the same Project, model by model and column by column, PII markings included. It builds each record
through its ``__init__`` by keyword, and reads every field with today's
leniency: null or missing configs, meta in config or node, access in config, versions as numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

from dmesh_dbt.artifacts import (
    _ACCESS,
    _UNCONSTRAINED,
    Access,
    Column,
    DataTest,
    Group,
    Model,
    Project,
    Seed,
    Source,
    _column_constraints,
    _ColumnNames,
    _hooks,
    _implied_constraints,
    _model_constraint,
    _parse_datetime,
    _string_mapping,
    _version,
    column_record,
)


def oracle_project(data: bytes | Mapping[str, Any]) -> Project:
    """The Project the dict-based reader made of a manifest (its bytes or its parsed document)."""
    document = orjson.loads(data) if isinstance(data, bytes) else data
    metadata = document["metadata"]
    by_type: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for node in document["nodes"].values():
        by_type[node["resource_type"]].append(node)
    tests = tuple(_data_test(node) for node in by_type["test"])
    tests_by_node: dict[str, list[DataTest]] = defaultdict(list)
    for test in tests:
        if test.attached_node:
            tests_by_node[test.attached_node].append(test)
    names = _ColumnNames(str(metadata.get("adapter_type") or ""))
    return Project(
        name=str(metadata.get("project_name") or ""),
        adapter_type=names.adapter,
        dbt_version=str(metadata.get("dbt_version") or ""),
        generated_at=_parse_datetime(metadata.get("generated_at")),
        models=tuple(_model(n, tuple(tests_by_node.get(n["unique_id"], ())), names) for n in by_type["model"]),
        snapshots=tuple(_model(n, (), names) for n in by_type["snapshot"]),
        seeds=tuple(_seed(n, names) for n in by_type["seed"]),
        sources=tuple(_source(s, names) for s in document.get("sources", {}).values()),
        groups=tuple(_group(g) for g in document.get("groups", {}).values()),
        tests=tests,
    )


def _data_test(node: Mapping[str, Any]) -> DataTest:
    metadata = node.get("test_metadata") or {}
    config = node.get("config") or {}
    attached = node.get("attached_node")
    if attached is None:
        parents = [p for p in (node.get("depends_on") or {}).get("nodes", []) if p.startswith("model.")]
        attached = parents[0] if len(parents) == 1 else None
    return DataTest(
        unique_id=node["unique_id"],
        name=str(metadata.get("name") or ""),
        namespace=metadata.get("namespace"),
        attached_node=attached,
        column_name=node.get("column_name"),
        kwargs=MappingProxyType(dict(metadata.get("kwargs") or {})),
        severity=str(config.get("severity") or "ERROR").upper(),
    )


def _model(node: Mapping[str, Any], tests: tuple[DataTest, ...], names: _ColumnNames) -> Model:
    get = node.get
    config = get("config") or {}
    constraints = tuple(_model_constraint(c) for c in get("constraints") or ())
    implied = _implied_constraints(constraints, names.adapter)
    column_tests: dict[str, list[DataTest]] = defaultdict(list)
    for test in tests:
        if test.column_name:
            column_tests[test.column_name.lower()].append(test)
    columns = tuple(
        _column(c, names, implied, tuple(column_tests.get(str(c["name"]).lower(), ())))
        for c in (get("columns") or {}).values()
    )
    access = get("access") or config.get("access") or "protected"
    return Model(
        unique_id=node["unique_id"],
        name=node["name"],
        package_name=node["package_name"],
        version=_version(get("version")),
        latest_version=_version(get("latest_version")),
        access=_ACCESS[access] if isinstance(access, str) and access in _ACCESS else Access(access),
        group=get("group") or config.get("group"),
        contract_enforced=bool((get("contract") or config.get("contract") or {}).get("enforced")),
        database=get("database"),
        schema=node["schema"],
        alias=get("alias") or node["name"],
        relation_name=get("relation_name"),
        description=get("description") or "",
        deprecation_date=_parse_datetime(get("deprecation_date")),
        columns=columns,
        depends_on=tuple((get("depends_on") or {}).get("nodes") or ()),
        original_file_path=get("original_file_path") or "",
        patch_path=get("patch_path"),
        meta=MappingProxyType(dict(config.get("meta") or get("meta") or {})),
        materialized=str(config.get("materialized") or "view"),
        post_hooks=_hooks(config.get("post-hook")),
        constraints=constraints,
        tests=tests,
        tags=tuple(get("tags") or ()),
        compiled_code=get("compiled_code") or None,
    )


def _column(
    raw: Mapping[str, Any], names: _ColumnNames, implied: Mapping[str, set[str]], tests: tuple[DataTest, ...]
) -> Column:
    get = raw.get
    name = names.name(str(raw["name"]), bool(get("quote")))
    config_meta = (get("config") or {}).get("meta")
    meta = {**config_meta, **(get("meta") or {})} if config_meta else {**(get("meta") or {})}
    column_level = get("constraints")
    constraints = _column_constraints(name, names, column_level, implied) if column_level or implied else _UNCONSTRAINED
    return column_record(name, get("data_type"), get("description"), meta, constraints, tests)


def _seed(node: Mapping[str, Any], names: _ColumnNames) -> Seed:
    config = node.get("config") or {}
    return Seed(
        unique_id=node["unique_id"],
        name=node["name"],
        package_name=node["package_name"],
        relation_name=node.get("relation_name"),
        columns=tuple(_column(c, names, {}, ()) for c in (node.get("columns") or {}).values()),
        original_file_path=node.get("original_file_path") or "",
        column_types=_string_mapping(config.get("column_types")),
        patch_path=node.get("patch_path"),
    )


def _source(node: Mapping[str, Any], names: _ColumnNames) -> Source:
    return Source(
        unique_id=node["unique_id"],
        source_name=node["source_name"],
        name=node["name"],
        package_name=node["package_name"],
        relation_name=node.get("relation_name"),
        columns=tuple(_column(c, names, {}, ()) for c in (node.get("columns") or {}).values()),
        meta=MappingProxyType(dict(node.get("meta") or {})),
        source_meta=MappingProxyType(dict(node.get("source_meta") or {})),
        original_file_path=node.get("original_file_path") or "",
    )


def _group(node: Mapping[str, Any]) -> Group:
    owner = node.get("owner") or {}
    return Group(
        unique_id=node["unique_id"],
        name=node["name"],
        package_name=node["package_name"],
        owner_name=owner.get("name"),
        owner_email=owner.get("email"),
    )

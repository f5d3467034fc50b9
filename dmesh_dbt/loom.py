"""dbt-loom: the manifest a release publishes for it, and the consumer's ``dbt_loom.config.yml`` pointing at one.

``published_manifest`` keeps a domain's public nodes at their *published* (masked) relations, with the tests that
still hold after masking and nothing private. ``write_loom_config`` adds (or refreshes) a reference to a release's
manifest; where that manifest lives is the registry's business (``Registry.file_location``), not ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dmesh_dbt import masking
from dmesh_dbt.artifacts import DataTest
from dmesh_dbt.contracts import ContractColumn, PublishedModel, Relation
from dmesh_dbt.files import dump_round_trip, load_round_trip, upsert
from dmesh_dbt.registry import Registry, Release

LOOM_CONFIG = "dbt_loom.config.yml"
#: The release file dbt-loom reads.
MANIFEST_FILE = "manifest.json"

# ------------------------------------------------------------------------------------- the published manifest

#: Keys of a model node worth publishing; the rest (compiled SQL, paths on the build machine, timestamps)
#: is either internal or changes on every parse, which would defeat idempotent publishing.
_MODEL_KEYS = (
    "name",
    "resource_type",
    "package_name",
    "path",
    "original_file_path",
    "patch_path",
    "unique_id",
    "fqn",
    "description",
    "meta",
    "tags",
    "docs",
    "version",
    "latest_version",
    "deprecation_date",
    "access",
    "group",
    "contract",
    "constraints",
    "checksum",
)
_CONFIG_KEYS = ("enabled", "materialized", "access", "group", "contract", "meta", "tags", "docs")
_TEST_KEYS = (
    "name",
    "resource_type",
    "package_name",
    "path",
    "original_file_path",
    "unique_id",
    "fqn",
    "attached_node",
    "column_name",
    "test_metadata",
    "file_key_name",
)


def _published_model_node(node: Mapping[str, Any], published: PublishedModel, adapter: str) -> dict[str, Any]:
    published_node = {key: node[key] for key in _MODEL_KEYS if key in node}
    relation = published.relation
    published_node.update(
        database=relation.database,
        schema=relation.schema,
        alias=relation.identifier,
        relation_name=_relation_name(node, relation),
        config={key: node["config"][key] for key in _CONFIG_KEYS if key in (node.get("config") or {})},
        depends_on={"nodes": [], "macros": []},  # the domain's internals are not the consumer's business
        columns={c.name: _published_column_node(node, c, adapter) for c in published.columns},
    )
    return published_node


def _published_column_node(node: Mapping[str, Any], column: ContractColumn, adapter: str) -> dict[str, Any]:
    key = masking.column_key(column.name, adapter)
    raw: Mapping[str, Any] = next(
        (c for name, c in (node.get("columns") or {}).items() if masking.yaml_column_key(name, adapter, c) == key), {}
    )
    return {
        "name": column.name,
        "description": column.description,
        "data_type": column.physical_type,
        "meta": raw.get("meta") or {},
        "constraints": raw.get("constraints") or [],
        "tags": raw.get("tags") or [],
    }


def _relation_name(node: Mapping[str, Any], relation: Relation) -> str:
    """The published relation quoted the way dbt quoted the raw one (backticks on BigQuery, quotes elsewhere)."""
    quote = "`" if "`" in str(node.get("relation_name") or "") else '"'
    return ".".join(
        f"{quote}{part}{quote}" for part in (relation.database, relation.schema, relation.identifier) if part
    )


def _test_survives_masking(test: DataTest, published: PublishedModel) -> bool:
    if test.column_name is None:
        return True
    column = next((c for c in published.columns if c.name.lower() == test.column_name.lower()), None)
    if column is None:
        return False
    if test.name == "unique":
        return column.unique
    if test.name == "not_null":
        return column.required
    return column.pii is None  # value tests on a masked column no longer describe the published values


def published_manifest(document: Mapping[str, Any], published: list[PublishedModel]) -> dict[str, Any]:
    """A manifest v12 that dbt-loom (and ``dmesh-dbt check``) can read: the public nodes at their published
    relations, the tests that still hold after masking, and the domain's groups; nothing private."""
    by_id = {p.model.unique_id: p for p in published}
    adapter = str(document["metadata"].get("adapter_type"))
    nodes: dict[str, Any] = {}
    for unique_id, node in document["nodes"].items():
        if unique_id in by_id:
            nodes[unique_id] = _published_model_node(node, by_id[unique_id], adapter)
    for test in (t for p in published for t in p.model.tests):
        node = document["nodes"].get(test.unique_id)
        attached = by_id.get(test.attached_node or "")
        if node is not None and attached is not None and _test_survives_masking(test, attached):
            kept = {key: node[key] for key in _TEST_KEYS if key in node}
            config = node.get("config") or {}
            kept["config"] = {"enabled": True, "severity": config.get("severity", "ERROR")}
            kept["depends_on"] = {"nodes": [attached.model.unique_id], "macros": []}
            nodes[test.unique_id] = kept
    metadata = document["metadata"]
    return {
        "metadata": {
            key: metadata[key]
            for key in ("dbt_schema_version", "dbt_version", "project_name", "adapter_type")
            if key in metadata
        },
        "nodes": nodes,
        "sources": {},
        "macros": {},
        "docs": {},
        "exposures": {},
        "metrics": {},
        "groups": document.get("groups") or {},
        "selectors": {},
        "disabled": {},
        "parent_map": {uid: [] for uid in nodes},
        "child_map": {uid: [] for uid in nodes},
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
    }


# ------------------------------------------------------------------------------------- the consumer's config

#: dbt-loom's manifest reference types by URL scheme; a local path is ``file``.
_LOOM_TYPES = {"s3": "s3", "gs": "gcs", "gcs": "gcs"}


def loom_reference(registry: Registry, release: Release) -> CommentedMap:
    """A dbt-loom manifest reference to the release's manifest in the registry."""
    location = registry.file_location(release, MANIFEST_FILE)
    reference = CommentedMap(name=release.domain)
    url = urlparse(location)
    if len(url.scheme) <= 1:  # a local path (or a Windows drive letter)
        reference["type"] = "file"
        reference["config"] = CommentedMap(path=location)
        return reference
    reference["type"] = _LOOM_TYPES.get(url.scheme, url.scheme)
    reference["config"] = CommentedMap(bucket_name=url.netloc, object_name=url.path.lstrip("/"))
    return reference


def write_loom_config(project_dir: Path, registry: Registry, release: Release) -> Path:
    """Add or refresh the release's domain in the project's ``dbt_loom.config.yml``; other entries are kept."""
    path = project_dir / LOOM_CONFIG
    document = load_round_trip(path)
    if not isinstance(document, dict):
        document = CommentedMap(manifests=CommentedSeq())
    upsert(document.setdefault("manifests", CommentedSeq()), "name", release.domain, loom_reference(registry, release))
    dump_round_trip(path, document)
    return path

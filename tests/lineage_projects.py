"""Small in-memory projects for lineage and lineage-rule tests: relations by name, SQL as dbt would compile it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from dmesh_dbt.artifacts import Access, Column, ColumnConstraints, Model, Project, Seed, Source

#: How each adapter names a relation in compiled SQL.
QUOTES = {"duckdb": '"{0}"."{1}"."{2}"', "postgres": '"{0}"."{1}"."{2}"', "bigquery": "`{0}`.`{1}`.`{2}`"}
DATABASE = {"duckdb": "warehouse", "postgres": "postgres", "bigquery": "proj"}


def relation(name: str, adapter: str = "duckdb", schema: str = "main") -> str:
    return QUOTES[adapter].format(DATABASE[adapter], schema, name)


def column(name: str, **meta: Any) -> Column:
    return Column(
        name, "varchar", f"{name}.", MappingProxyType(meta), meta.get("pii"), meta.get("mask"), ColumnConstraints()
    )


def model(
    name: str,
    sql: str | None,
    depends_on: tuple[str, ...] = (),
    columns: tuple[Column, ...] = (),
    adapter: str = "duckdb",
    access: Access = Access.PRIVATE,
    post_hooks: tuple[str, ...] = (),
    package: str = "payments",
    meta: Mapping[str, Any] | None = None,
) -> Model:
    """A model whose compiled SQL is ``sql`` with ``{name}`` placeholders replaced by relation names."""
    compiled = None if sql is None else _PLACEHOLDER.sub(lambda m: _relation_of(m.group(1), adapter), sql)
    return Model(
        unique_id=f"model.{package}.{name}",
        name=name,
        package_name=package,
        version=None,
        latest_version=None,
        access=access,
        group=None,
        contract_enforced=access is Access.PUBLIC,
        database=DATABASE[adapter],
        schema="main",
        alias=name,
        relation_name=relation(name, adapter),
        description="",
        deprecation_date=None,
        columns=columns,
        depends_on=depends_on,
        original_file_path=f"models/{name}.sql",
        patch_path=f"{package}://models/_models.yml",
        meta=MappingProxyType(dict(meta or {})),
        materialized="table",
        post_hooks=post_hooks,
        compiled_code=compiled,
    )


def source(name: str, columns: tuple[Column, ...], adapter: str = "duckdb") -> Source:
    return Source(f"source.payments.raw.{name}", "raw", name, "payments", relation(name, adapter, "raw"), columns)


def seed(name: str, columns: tuple[Column, ...] = (), adapter: str = "duckdb") -> Seed:
    return Seed(f"seed.payments.{name}", name, "payments", relation(name, adapter), columns, f"seeds/{name}.csv")


def project(*nodes: Model | Source | Seed, adapter: str = "duckdb") -> Project:
    return Project(
        name="payments",
        adapter_type=adapter,
        dbt_version="1.11.0",
        generated_at=None,
        models=tuple(n for n in nodes if isinstance(n, Model)),
        seeds=tuple(n for n in nodes if isinstance(n, Seed)),
        sources=tuple(n for n in nodes if isinstance(n, Source)),
        groups=(),
        tests=(),
    )


_PLACEHOLDER = re.compile(r"\{([\w.]+)\}")


def _relation_of(placeholder: str, adapter: str) -> str:
    """``{name}`` is a model in ``main``; ``{schema.name}`` names the schema; ``{db.schema.name}`` is hard-coded."""
    parts = placeholder.split(".")
    if len(parts) == 3:
        return ".".join(parts)
    schema, name = parts if len(parts) == 2 else ("main", parts[0])
    return relation(name, adapter, schema)

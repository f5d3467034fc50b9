"""Minimal projects for the examples each policy rule and change kind declares beside its code.

A rule's examples are projects it must flag (``fails``) and projects it must leave alone (``passes``); a change
kind's are (old, new) project pairs. They are built from ``artifacts``' records, not by ``dbt parse``, so
``tests/unit/test_rule_examples.py`` runs all of them in milliseconds; the real-dbt cases stay in
``tests/integration/test_check_cases.py``. Defaults describe a well-kept public model of a domain ``shop``:
contracted, typed, described, a tested key, the publish hook. An example changes only what it is about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec
from msgspec.structs import replace

from dmesh_dbt.artifacts import Access, Column, ColumnConstraints, DataTest, Group, Model, Project, Source

#: The domain every example project belongs to.
DOMAIN = "shop"
#: The dmesh package's post-hook that publishes a public model's masked relation.
PUBLISH_HOOK = "{{ dmesh.publish_masked() }}"

T = TypeVar("T")


class Examples(msgspec.Struct, Generic[T], frozen=True):
    """What a rule or change kind must flag (``fails``) and must leave alone (``passes``)."""

    fails: tuple[T, ...]
    passes: tuple[T, ...]
    #: Settings of the domain (``DomainConfig`` fields) the examples run under, when the rule reads them.
    domain: Mapping[str, Any] = msgspec.field(default_factory=dict)
    #: Settings over ``domain`` for the failing or the passing examples only: for rules that read the domain's
    #: files rather than its manifest (DM016 reads the template and package versions), where only they differ.
    failing_domain: Mapping[str, Any] = msgspec.field(default_factory=dict)
    passing_domain: Mapping[str, Any] = msgspec.field(default_factory=dict)
    #: Other inputs of the check (``PolicyContext`` fields, e.g. a ``catalog``), when the rule reads them.
    context: Mapping[str, Any] = msgspec.field(default_factory=dict)


def column(
    name: str,
    data_type: str | None = "varchar",
    *,
    description: str = "What the column holds.",
    meta: Mapping[str, Any] | None = None,
    tests: Sequence[str] = (),
    accepted_values: Sequence[str] | None = None,
) -> Column:
    """A documented column; ``tests`` names generic tests on it (unique, not_null)."""
    meta = dict(meta or {})
    data_tests = [_test(name, test) for test in tests]
    if accepted_values is not None:
        data_tests.append(_test(name, "accepted_values", {"values": list(accepted_values)}))
    return Column(
        name=name,
        data_type=data_type,
        description=description,
        meta=meta,
        pii=str(meta["pii"]) if "pii" in meta else None,
        mask=str(meta["mask"]) if "mask" in meta else None,
        constraints=ColumnConstraints(),
        tests=tuple(data_tests),
    )


def _test(column_name: str, name: str, kwargs: Mapping[str, Any] | None = None) -> DataTest:
    return DataTest(f"test.{DOMAIN}.{name}_{column_name}", name, None, None, column_name, dict(kwargs or {}))


#: The key column every example model starts with.
KEY = column("customer_id", "integer", tests=("unique", "not_null"))


def model(
    name: str = "customers",
    *columns: Column,
    access: Access = Access.PUBLIC,
    contract: bool = True,
    post_hooks: Sequence[str] = (PUBLISH_HOOK,),
    package: str = DOMAIN,
    version: str | None = None,
    latest_version: str | None = None,
    group: str | None = None,
    deprecation_date: datetime | None = None,
    depends_on: Sequence[str] = (),
    sql: str | None = None,
) -> Model:
    """A model of ``package``; without ``columns`` it has the tested key ``customer_id`` only; ``sql`` is its
    compiled SQL (None: as ``dbt parse`` leaves it)."""
    cols = columns or (KEY,)
    suffix = f".v{version}" if version is not None else ""
    return Model(
        unique_id=f"model.{package}.{name}{suffix}",
        name=name,
        package_name=package,
        version=version,
        latest_version=latest_version,
        access=access,
        group=group,
        contract_enforced=contract,
        database=None,
        schema="main",
        alias=name if version is None else f"{name}_v{version}",
        relation_name=f'"main"."{name}"',
        description="",
        deprecation_date=deprecation_date,
        columns=cols,
        depends_on=tuple(depends_on),
        original_file_path=f"models/{name}.sql",
        patch_path=f"{package}://models/_models.yml",
        meta={},
        post_hooks=tuple(post_hooks),
        tests=tuple(t for c in cols for t in c.tests),
        compiled_code=sql,
    )


def with_columns(base: Model, *columns: Column) -> Model:
    """``base`` with ``columns`` instead of its own (and their tests)."""
    return replace(base, columns=columns, tests=tuple(t for c in columns for t in c.tests))


def project(
    *models: Model, groups: Sequence[Group] = (), sources: Sequence[Source] = (), adapter: str = "duckdb"
) -> Project:
    """The domain ``shop`` holding ``models`` (others' models are those with another package)."""
    return Project(
        name=DOMAIN,
        adapter_type=adapter,
        dbt_version="1.11.0",
        generated_at=None,
        models=models,
        seeds=(),
        sources=tuple(sources),
        groups=tuple(groups),
        tests=tuple(t for m in models for t in m.tests),
    )


def group(name: str = DOMAIN, owner_email: str | None = "shop-team@example.com") -> Group:
    return Group(f"group.{DOMAIN}.{name}", name, DOMAIN, None, owner_email)


def source(
    name: str,
    meta: Mapping[str, Any] | None = None,
    source_meta: Mapping[str, Any] | None = None,
    columns: Sequence[Column] = (),
) -> Source:
    """A table of the source ``upstream`` (relation ``"upstream"."<name>"``)."""
    return Source(
        f"source.{DOMAIN}.upstream.{name}",
        "upstream",
        name,
        DOMAIN,
        f'"upstream"."{name}"',
        tuple(columns),
        dict(meta or {}),
        dict(source_meta or {}),
    )


def change(old: Sequence[Model], new: Sequence[Model]) -> tuple[Project, Project]:
    """An (old, new) pair of projects for a change kind's examples."""
    return project(*old), project(*new)

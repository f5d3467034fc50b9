"""Reading a manifest into the project model: what each column's key constraints are, and what the model answers."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import fields, replace

from dmesh_dbt.artifacts import Access, ColumnConstraints, Project, project_from_manifest


def _manifest(columns: list[str], constraints: list[dict[str, Any]], adapter: str = "duckdb") -> dict[str, Any]:
    model = {
        "unique_id": "model.shop.orders",
        "resource_type": "model",
        "name": "orders",
        "package_name": "shop",
        "schema": "main",
        "access": "public",
        "columns": {name: {"name": name, "constraints": []} for name in columns},
        "constraints": constraints,
    }
    private = {**model, "unique_id": "model.shop.stg", "name": "stg", "access": "private", "constraints": []}
    foreign = {**model, "unique_id": "model.other.orders", "package_name": "other", "constraints": []}
    return {
        "metadata": {"project_name": "shop", "adapter_type": adapter},
        "nodes": {n["unique_id"]: n for n in (model, private, foreign)},
    }


def _constraints(constraints: list[dict[str, Any]], adapter: str = "duckdb") -> dict[str, ColumnConstraints]:
    project = project_from_manifest(_manifest(["id", "day", "note"], constraints, adapter))
    model = project.model("model.shop.orders")
    assert model is not None
    return {c.name: c.constraints for c in model.columns}


PK = ColumnConstraints(not_null=True, primary_key=True)  # `is_unique` reads the key
NOT_NULL = ColumnConstraints(not_null=True)
UNIQUE = ColumnConstraints(unique=True)
NONE = ColumnConstraints()


@pytest.mark.parametrize(
    ("constraints", "expected"),
    [
        ([{"type": "primary_key", "columns": ["id"]}], {"id": PK, "day": NONE, "note": NONE}),
        # A key over two columns: each member is not null, neither is unique nor a key on its own.
        ([{"type": "primary_key", "columns": ["id", "day"]}], {"id": NOT_NULL, "day": NOT_NULL, "note": NONE}),
        ([{"type": "unique", "columns": ["id", "day"]}], {"id": NONE, "day": NONE, "note": NONE}),
        ([{"type": "unique", "columns": ["note"]}], {"id": NONE, "day": NONE, "note": UNIQUE}),
        (
            [{"type": "unique", "columns": ["day"]}, {"type": "primary_key", "columns": ["day", "id"]}],
            {"id": NOT_NULL, "day": ColumnConstraints(not_null=True, unique=True), "note": NONE},
        ),
        # A member named in another case, or quoted, is the same column on DuckDB.
        ([{"type": "primary_key", "columns": ["ID"]}], {"id": PK, "day": NONE, "note": NONE}),
        ([{"type": "not_null", "columns": ['"day"']}], {"id": NONE, "day": NOT_NULL, "note": NONE}),
    ],
)
def test_model_level_constraints_give_each_member_column_its_key_constraints(
    constraints: list[dict[str, Any]], expected: dict[str, ColumnConstraints]
) -> None:
    assert _constraints(constraints) == expected


def test_on_postgres_a_model_level_key_names_columns_by_their_exact_case_when_quoted() -> None:
    assert _constraints([{"type": "primary_key", "columns": ['"ID"']}], "postgres")["id"] == NONE
    assert _constraints([{"type": "primary_key", "columns": ["ID"]}], "postgres")["id"] == PK


def test_own_and_public_models_follow_the_project_they_were_asked_of() -> None:
    project = project_from_manifest(_manifest(["id"], []))
    assert [m.unique_id for m in project.own_models] == ["model.shop.orders", "model.shop.stg"]
    assert [m.unique_id for m in project.public_models] == ["model.shop.orders"]
    assert project.public_models is project.public_models  # worked out once per project
    narrowed = replace(project, models=tuple(replace(m, access=Access.PROTECTED) for m in project.models))
    assert narrowed.public_models == ()
    widened = replace(project, included_packages=frozenset({"other"}))
    assert [m.unique_id for m in widened.own_models] == [m.unique_id for m in project.models]
    assert isinstance(widened, Project) and widened == replace(widened)  # the answers are no part of equality


def test_models_and_columns_read_are_what_their_init_makes() -> None:
    """Each model and column the reader builds holds every field and equals the instance ``__init__`` makes of
    the same values, with nothing worked out ahead (no cached answer kept in it yet)."""
    document = _manifest(["id", " Day ", "note"], [{"type": "primary_key", "columns": ["id"]}], "postgres")
    orders = document["nodes"]["model.shop.orders"]
    orders["columns"]["note"].update(quote=True, meta={"pii": "email"}, config={"meta": {"mask": "hash", "pii": "x"}})
    orders["columns"][" Day "]["constraints"] = [{"type": "unique"}]
    project = project_from_manifest(document)
    built = [*project.models, *(c for m in project.models for c in m.columns)]
    for instance in built:
        names = [f.name for f in fields(instance)]
        assert getattr(instance, "__dict__", {}) == {}
        assert type(instance)(**{name: getattr(instance, name) for name in names}) == instance
    model = project.model("model.shop.orders")
    assert model is not None and model.access is Access.PUBLIC
    assert [(c.name, c.pii, c.mask, c.constraints) for c in model.columns] == [
        ("id", None, None, PK),
        ("day", None, None, UNIQUE),
        ("note", "email", "hash", NONE),
    ]


def test_a_column_is_found_by_name_in_any_case_and_the_first_of_two_spellings_wins() -> None:
    project = project_from_manifest(_manifest(["id", "Day", "DAY"], []))
    model = project.model("model.shop.orders")
    assert model is not None
    assert [model.column(name) for name in ("ID", "day", "nope")] == [model.columns[0], model.columns[1], None]
    assert model.column("Day") is model.columns[1]
    assert model == replace(model) and vars(replace(model)) == {}  # a copy keeps no cached lookup of the old columns

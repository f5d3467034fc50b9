"""`adopt`'s plan without dbt: `--group` defines the group once (a new `_groups.yml`, or appended to the
team's) and puts the public models in it; the classes and types the plan lists are those the files gain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dmesh_dbt.adopt import Adoptable, AdoptOptions, AdoptPlan, plan_adoption
from dmesh_dbt.artifacts import project_from_manifest
from dmesh_dbt.errors import UsageError
from dmesh_dbt.pii import PiiClass
from dmesh_dbt.scan.detect import Suspect

SCHEMA = """version: 2
models:
  - name: customers
    columns:
      - name: email
        description: Contact address.
"""

CUSTOMERS = "model.shop.customers"


def _adoptable(groups: tuple[str, ...] = ()) -> Adoptable:
    node = {
        "unique_id": CUSTOMERS, "name": "customers", "resource_type": "model", "package_name": "shop",
        "schema": "main", "original_file_path": "models/marts/customers.sql",
        "patch_path": "shop://models/marts/schema.yml", "columns": {},
    }  # fmt: skip
    document: dict[str, Any] = {
        "metadata": {"project_name": "shop", "adapter_type": "duckdb"},
        "nodes": {CUSTOMERS: node},
        "groups": {
            f"group.shop.{g}": {"unique_id": f"group.shop.{g}", "name": g, "package_name": "shop", "owner": {}}
            for g in groups
        },
    }
    types = {CUSTOMERS: {"customer_id": "integer", "email": "varchar"}}
    return Adoptable(project_from_manifest(document), frozenset({CUSTOMERS}), types)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "dbt_project.yml").write_text('name: shop\nversion: "1.0.0"\nprofile: shop\n')
    (tmp_path / "models" / "marts" / "schema.yml").write_text(SCHEMA)
    return tmp_path


def _plan(project: Path, group: str | None = "shop_products", groups: tuple[str, ...] = ()) -> AdoptPlan:
    options = AdoptOptions(project, owner="shop-team@acme.test", group=group)
    email = Suspect(CUSTOMERS, None, "email", PiiClass.EMAIL, 0.9, "email", "name", None)
    return plan_adoption(options, _adoptable(groups), [email])


def _after(plan: AdoptPlan, path: Path) -> str:
    return next(c.after for c in plan.changes if c.path == path)


def test_a_new_groups_file_defines_the_group_and_the_public_model_joins_it(shop: Path) -> None:
    plan = _plan(shop)
    groups = shop / "models" / "_groups.yml"
    assert _after(plan, groups) == (
        'version: 2\n\ngroups:\n  - name: shop_products\n    owner:\n      email: "shop-team@acme.test"\n'
    )
    assert "      group: shop_products\n" in _after(plan, shop / "models" / "marts" / "schema.yml")
    assert [(c.column, c.pii_class) for c in plan.classified] == [("email", "email")]
    assert [(t.column, t.data_type) for t in plan.typed] == [("email", "varchar"), ("customer_id", "integer")]


def test_the_group_is_appended_to_the_teams_file_once(shop: Path) -> None:
    groups = shop / "models" / "_groups.yml"
    groups.write_text("groups:\n  - name: support   # theirs\n    owner: {name: Desk}\n\n# trailing note\n")
    after = _after(_plan(shop), groups)
    assert after == (
        "groups:\n  - name: support   # theirs\n    owner: {name: Desk}\n"
        '  - name: shop_products\n    owner:\n      email: "shop-team@acme.test"\n\n# trailing note\n'
    )
    for change in _plan(shop).changes:
        change.path.write_text(change.after)
    assert _plan(shop).changes == ()  # the file names the group already
    assert _plan(shop, groups=("shop_products",)).changes == ()  # and so does dbt's manifest


def test_without_group_no_group_is_written(shop: Path) -> None:
    plan = _plan(shop, group=None)
    assert (shop / "models" / "_groups.yml") not in {c.path for c in plan.changes}
    assert "group:" not in _after(plan, shop / "models" / "marts" / "schema.yml")


def test_a_model_in_another_group_keeps_it_and_the_report_says_so(shop: Path) -> None:
    schema = shop / "models" / "marts" / "schema.yml"
    schema.write_text(SCHEMA.replace("  - name: customers\n", "  - name: customers\n    config:\n      group: crm\n"))
    plan = _plan(shop)
    assert "group: shop_products" not in _after(plan, schema)
    assert any("in group crm, not the --group given" in b for b in plan.blockers)


def test_an_invalid_group_name_is_a_usage_error(shop: Path) -> None:
    with pytest.raises(UsageError, match="invalid --group '1 bad'"):
        _plan(shop, group="1 bad")


# Odd spacing, comments, quotes, a description wrapped over lines and flow-style bits (a one-line flow `config:`
# on the model, a flow column): adopt adds lines, and changes only the flow `config:` line, by items in its braces.
UNUSUAL = """version: 2

models:
  - name: customers   # the table every team reads
    config: {materialized: table}
    description: One row per customer who ever signed up, with the contact details the
      support desk uses; wrapped over
      three lines.
    columns:
      - {name: customer_id, description: "Surrogate key."}
      - name : email
        description :   'Contact address.'   # lowercased upstream
        data_tests : [unique, not_null]
"""


def _changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed, added) lines of ``git diff``-like comparison of two texts."""
    import difflib

    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def test_unusual_yaml_keeps_every_byte_but_the_flow_config_line_and_a_second_plan_changes_nothing(
    shop: Path,
) -> None:
    schema = shop / "models" / "marts" / "schema.yml"
    schema.write_text(UNUSUAL)
    plan = _plan(shop, group=None)
    after = _after(plan, schema)
    removed, added = _changed_lines(UNUSUAL, after)
    assert removed == [
        "    config: {materialized: table}",
        '      - {name: customer_id, description: "Surrogate key."}',
    ]
    assert added[:2] == [
        "    config: {materialized: table, access: public, contract: {enforced: true}, post_hook: "
        '["{{ dmesh.publish_masked() }}"]}',
        '      - {name: customer_id, description: "Surrogate key.", data_type: integer}',
    ]
    assert "        data_type: varchar" in added and any(
        line.strip().startswith("meta: {pii: email}") for line in added
    )
    for change in plan.changes:
        change.path.parent.mkdir(parents=True, exist_ok=True)
        change.path.write_text(change.after)
    written = {p: p.read_bytes() for p in shop.rglob("*.yml")}
    assert _plan(shop, group=None).changes == ()
    assert {p: p.read_bytes() for p in shop.rglob("*.yml")} == written


def test_packages_and_the_hook_are_listed_first_and_a_string_hook_is_left_to_a_person(shop: Path) -> None:
    (shop / "packages.yml").write_text(
        "packages :\n    - package: dbt-labs/dbt_utils   # pinned below\n      version: 1.3.0\n"
    )
    project = shop / "dbt_project.yml"
    project.write_text(project.read_text() + 'on-run-start: "select 1"\n')
    plan = _plan(shop, group=None)
    packages = _after(plan, shop / "packages.yml").splitlines()
    assert packages[0] == "packages :" and packages[1].startswith("    - local: \"{{ env_var('DMESH_PACKAGE_DIR'")
    assert packages[2:] == ["    - package: dbt-labs/dbt_utils   # pinned below", "      version: 1.3.0"]
    assert project not in {c.path for c in plan.changes}
    assert any('add "{{ dmesh.on_run_start() }}" to `on-run-start:` by hand' in b for b in plan.blockers)

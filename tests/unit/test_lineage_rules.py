"""DM011 and the hard-coded part of DM007 on small projects in each adapter's dialect (no dbt)."""

from __future__ import annotations

from datetime import date

import pytest

from dmesh_dbt.artifacts import Access, Project
from dmesh_dbt.policy.engine import DomainConfig, PolicyContext
from dmesh_dbt.policy.registry import RULES
from tests.lineage_projects import DATABASE, column, model, project, source


def _messages(rule_id: str, built: Project) -> list[str]:
    ctx = PolicyContext(built, DomainConfig(name="payments"), date(2026, 12, 1))
    return [v.message for v in RULES[rule_id].check(ctx)]


def _consumer(sql: str, adapter: str) -> Project:
    raw = source("orders", (column("customer_id"),), adapter)
    return project(raw, model("orders", sql, (raw.unique_id,), adapter=adapter), adapter=adapter)


HARD_CODED = [
    ("duckdb", "select customer_id from payments.main.customers", "payments.main.customers"),
    ("duckdb", 'select customer_id from "payments"."main_published"."customers"', "payments.main_published.customers"),
    ("postgres", 'select customer_id from "postgres"."payments_published"."customers"',
     "postgres.payments_published.customers"),
    ("postgres", "select customer_id from payments.customers", "payments.customers"),
    ("bigquery", "select customer_id from `other-project`.payments_published.customers",
     "other-project.payments_published.customers"),
]  # fmt: skip


@pytest.mark.parametrize(("adapter", "sql", "relation"), HARD_CODED)
def test_another_domains_relation_named_in_sql_is_dm007(adapter: str, sql: str, relation: str) -> None:
    assert _messages("DM007", _consumer(sql, adapter)) == [
        f"orders reads {relation} directly, not through source() or ref(); read another domain's data only as a "
        "published product: `dmesh-dbt consume <domain>.<product>` and its source()"
    ]


NOT_CROSS_DOMAIN = [
    ("duckdb", "select customer_id from {raw.orders}"),  # a source()
    ("duckdb", "with orders as (select 1 as customer_id) select customer_id from orders"),  # a CTE
    ("duckdb", "select customer_id from main.scratch"),  # the domain's own schema
    ("postgres", "select table_name as customer_id from information_schema.tables"),
    ("postgres", f'select customer_id from "{DATABASE["postgres"]}"."main_published"."orders"'),
    ("bigquery", "select customer_id from {raw.orders}"),
]


@pytest.mark.parametrize(("adapter", "sql"), NOT_CROSS_DOMAIN)
def test_own_relations_ctes_and_system_schemas_are_not_dm007(adapter: str, sql: str) -> None:
    assert _messages("DM007", _consumer(sql, adapter)) == []


def _chain(middle_meta: dict[str, str], middle_sql: str, public_sql: str | None) -> Project:
    """raw.customers (email classified) -> int_contacts (middle) -> contacts (public, its column unclassified)."""
    raw = source("customers", (column("customer_id"), column("email", pii="email")))
    middle = model("int_contacts", middle_sql, (raw.unique_id,), (column("signal", **middle_meta),))
    public = model(
        "contacts", public_sql, (middle.unique_id,), (column("customer_id"), column("signal")), access=Access.PUBLIC
    )
    return project(raw, middle, public)


def test_a_reasoned_pii_none_upstream_of_a_count_ends_the_trail() -> None:
    built = _chain(
        {"pii": "none", "pii_reason": "a count"},
        "select customer_id, count(email) as signal from {raw.customers} group by 1",
        "select customer_id, signal from {int_contacts}",
    )
    assert _messages("DM011", built) == []


def test_a_pii_none_upstream_of_a_rename_does_not_end_the_trail() -> None:
    built = _chain(
        {"pii": "none", "pii_reason": "trust me"},
        "select customer_id, email as signal from {raw.customers}",
        "select customer_id, signal from {int_contacts}",
    )
    assert _messages("DM011", built) == [
        "contacts.signal carries email from raw.customers.email (path: raw.customers.email -> int_contacts.signal -> "
        "contacts.signal) but has no PII class; classify it `meta: {pii: email}` so it is masked"
    ]


def test_a_classified_upstream_column_names_its_class_and_ends_the_trail() -> None:
    built = _chain(
        {"pii": "person_name"},
        "select customer_id, email as signal from {raw.customers}",
        "select customer_id, signal from {int_contacts}",
    )
    assert _messages("DM011", built) == [
        "contacts.signal carries person_name from int_contacts.signal but has no PII class; classify it "
        "`meta: {pii: person_name}` so it is masked"
    ]


def test_a_public_model_without_compiled_sql_is_one_unresolved_error() -> None:
    built = _chain({}, "select customer_id, email as signal from {raw.customers}", None)
    (message,) = _messages("DM011", built)
    assert message.startswith("lineage of public model contacts unresolved: every column not classified is treated")
    assert "run `dbt compile` (or `dbt build`) first" in message

"""Pure pieces of the first-hour fixes: who a versioned change is said to hit, how warehouse failures are
explained, and text reports that do not wrap unless asked to."""

from __future__ import annotations

from datetime import datetime

import pytest

from dmesh_dbt.changes import Consumer, compare_projects
from dmesh_dbt.errors import WarehouseError
from dmesh_dbt.examples import KEY, column, model, project
from dmesh_dbt.project import is_placeholder_owner, placeholder_owner
from dmesh_dbt.render import render_text
from dmesh_dbt.report import Finding, Report, Severity
from dmesh_dbt.warehouse import explain_failure

EMAIL = column("email", meta={"pii": "email"})


def _email_dropped_in_v2(consumer_version: str | None) -> tuple[str, ...]:
    """The consumers the note for v2 (customers without email) names, for one consumer reading email."""
    old = project(model("customers", KEY, EMAIL))
    v1 = model("customers", KEY, EMAIL, version="1", latest_version="2", deprecation_date=datetime(2027, 6, 30))
    v2 = model("customers", KEY, version="2", latest_version="2")
    consumers = {"customers": [Consumer("risk", consumer_version, ("customer_id", "email"))]}
    comparison = compare_projects(old, project(v1, v2), consumers)
    notes = [f for f in comparison.gate_findings if f.severity is Severity.NOTE and f.column == "email"]
    assert len(notes) == 1, comparison.gate_findings
    return tuple(i.domain for i in notes[0].impacts)


@pytest.mark.parametrize(("reads", "hit"), [(None, ()), ("1", ()), ("2", ("risk",))])
def test_a_new_version_hits_only_consumers_that_read_it(reads: str | None, hit: tuple[str, ...]) -> None:
    assert _email_dropped_in_v2(reads) == hit


@pytest.mark.parametrize(
    ("dbt_error", "adapter", "expected"),
    [
        ("Not found: Dataset acme-data:payments was not found in location US", "bigquery",
         "dataset acme-data:payments does not exist for target 'prod': set DMESH_BQ_DATASET"),
        ('connection to server at "db.internal" (10.0.0.5), port 6543 failed: Connection refused', "postgres",
         "cannot reach the postgres warehouse of target 'prod' at db.internal:6543"),
        ('FATAL: password authentication failed for user "reader"', "postgres",
         "PostgreSQL refused the credentials of target 'prod': set DMESH_PG_USER and DMESH_PG_PASSWORD"),
        ('FATAL: database "analytics" does not exist', "postgres",
         "database analytics does not exist on target 'prod': set DMESH_PG_DBNAME"),
        ("Env var required but not provided: 'DMESH_PG_HOST'", "postgres",
         "target 'prod' needs the environment variable DMESH_PG_HOST"),
        ("permission denied for schema raw_crm", "postgres",
         "the user of target 'prod' may not read schema raw_crm (permission denied): grant it USAGE on the schema"),
        ("ERROR:  permission denied for relation orders", "postgres", "may not read table orders (permission denied)"),
        ('relation "payments.customers" does not exist', "postgres",
         "does not exist on target 'prod': build it first with `dbt build --target prod`"),
    ],
)  # fmt: skip
def test_warehouse_failures_name_their_cause_and_fix(dbt_error: str, adapter: str, expected: str) -> None:
    explained = explain_failure(dbt_error, "prod", adapter)
    assert isinstance(explained, WarehouseError)
    assert expected in str(explained)


def test_an_unknown_failure_is_left_to_the_caller() -> None:
    assert explain_failure("Compilation Error in model customers", "prod", "postgres") is None


def test_placeholder_owners_are_documentation_addresses() -> None:
    assert is_placeholder_owner(placeholder_owner("cards"))
    assert is_placeholder_owner("Team@Mail.Example.ORG")
    assert not is_placeholder_owner("cards-team@acme.io")
    assert not is_placeholder_owner("me@example.company.com")


def test_a_text_report_is_not_wrapped_unless_given_a_width() -> None:
    message = "customers: " + "a long explanation " * 20
    finding = Finding(rule_id="DM003", severity=Severity.ERROR, message=message, model="customers")
    report = Report(command="check", project="shop", findings=(finding,))
    assert message.rstrip() in render_text(report)
    narrow = render_text(report, width=60)
    assert message.rstrip() not in narrow and max(len(line) for line in narrow.splitlines()) <= 60

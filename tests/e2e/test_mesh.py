"""A data mesh of two domains on DuckDB, driven through the CLI as a user would.

`payments` builds and publishes; `risk` consumes `payments.customers`, builds a model on it, and is recorded as a
consumer. Dropping a column risk reads, without a new model version, makes payments' `check` fail naming risk;
the same change as a new model version passes, publishes as a new release, and risk keeps building.
Risk reads only release snapshots: nothing it can open holds a raw value or key material, a producer's build
changes nothing it reads until published and consumed, and both domains build at the same time.
The flow runs once (module fixture); each test asserts one thing a user would notice.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from dmesh_dbt import __version__
from dmesh_dbt.cli import cli
from dmesh_dbt.masking import HASH_PATTERN
from tests.consumer_reach import PRODUCER_ENV, attached_files, consumer_connection, leaks
from tests.helpers import init_domain, run_cli, run_dbt, start_dbt

RISK_MODEL = """{{ config(materialized='table') }}
-- Risk band per customer, from the payments domain's published (masked) customers.
select
    customer_id,
    email,
    country_code,
    case when country_code = 'US' then 'low' else 'review' end as risk_band
from {{ source('payments', 'customers') }}
"""

EMAIL_COLUMN_YAML = """      - name: email
        description: Contact email address, lowercased.
        data_type: *string
        meta: {pii: email}
"""

CUSTOMERS_HEADER = """  - name: customers
    description: One row per customer, with lifetime totals of their succeeded payments.
"""

CUSTOMERS_VERSIONS = """    latest_version: 2
    versions:
      - v: 1
        defined_in: customers
        deprecation_date: 2027-06-30
        config:
          alias: customers
      - v: 2
        columns:
          - include: all
            exclude: [email]
"""


@dataclass
class Mesh:
    root: Path
    payments: Path
    risk: Path
    steps: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    leaks: dict[str, list[str]] = field(default_factory=dict)  # what risk can open that it must not, per moment
    reads: dict[str, list[tuple[object, ...]]] = field(default_factory=dict)  # what risk reads of customers

    def cli(self, step: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        self.steps[step] = run_cli(*args, cwd=cwd)
        return self.steps[step]

    def ok(self, step: str) -> subprocess.CompletedProcess[str]:
        result = self.steps[step]
        assert result.returncode == 0, f"{step} failed:\n{result.stdout}\n{result.stderr}"
        return result


def _risk_reads(risk: Path) -> list[tuple[object, ...]]:
    """payments.customers as risk's dbt session reads it (the source its model selects from)."""
    with consumer_connection(risk) as connection:
        return connection.execute(
            "select customer_id, email from payments.main_published.customers order by customer_id"
        ).fetchall()


def _build_both(mesh: Mesh) -> None:
    """The producer's full build and the consumer's build, started together as two teams' jobs would be."""
    started = [
        ("payments build", start_dbt(mesh.payments, "build", env=PRODUCER_ENV)),
        ("risk concurrent build", start_dbt(mesh.risk, "build", "--select", "customer_risk")),
    ]
    for name, process in started:
        output, _ = process.communicate(timeout=600)
        mesh.steps[name] = subprocess.CompletedProcess(process.args, process.returncode, output, "")


#: The first customer's email in payments' seed, and what the last release changes it to.
OLD_EMAIL, NEW_EMAIL = "ada.knuth1@example.com", "ada.knuth1@example.org"


def _drop_email(payments: Path, sql_name: str) -> None:
    sql = payments / "models" / "marts" / "customers.sql"
    (sql.parent / sql_name).write_text(sql.read_text().replace("    customers.email,\n", ""))


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    root = tmp_path_factory.mktemp("mesh")
    mesh = Mesh(root, init_domain(root, "payments"), init_domain(root, "risk", "--no-examples"))
    payments, risk = mesh.payments, mesh.risk

    run_dbt(payments, "build", env=PRODUCER_ENV)
    mesh.cli("publish", "publish", cwd=payments)
    mesh.cli("consume", "consume", "payments.customers", cwd=risk)
    (risk / "models" / "customer_risk.sql").write_text(RISK_MODEL)
    mesh.steps["risk build"] = run_dbt(risk, "build", "--select", "customer_risk")
    mesh.leaks["unpinned"] = leaks(risk, payments)
    mesh.reads["release 1.0.0"] = _risk_reads(risk)
    mesh.cli("risk check", "check", cwd=risk)  # records the columns risk's compiled model reads
    mesh.cli("show", "registry", "show", "payments.customers", "--format", "json", cwd=risk)

    # A breaking change without a new version: drop a column risk reads.
    marts = payments / "models" / "marts"
    original_yaml = (marts / "_marts.yml").read_text()
    original_sql = (marts / "customers.sql").read_text()
    _drop_email(payments, "customers.sql")
    (marts / "_marts.yml").write_text(original_yaml.replace(EMAIL_COLUMN_YAML, "", 1))
    run_dbt(
        payments, "build", env=PRODUCER_ENV
    )  # dbt itself lets it pass: it flags breaking changes only against --state
    mesh.reads["after an unpublished build"] = _risk_reads(risk)
    registry = str(root / "registry")  # where both domains' dmesh.yml point (`registry: ../registry`)
    mesh.cli("check unversioned", "check", "--registry", registry, cwd=payments)
    mesh.cli("publish unversioned", "publish", cwd=payments)

    # The same change as a new model version, released as 1.1.0.
    (marts / "customers.sql").write_text(original_sql)
    _drop_email(payments, "customers_v2.sql")
    (marts / "_marts.yml").write_text(original_yaml.replace(CUSTOMERS_HEADER, CUSTOMERS_HEADER + CUSTOMERS_VERSIONS))
    project_file = payments / "dbt_project.yml"
    project_file.write_text(project_file.read_text().replace('version: "1.0.0"', 'version: "1.1.0"'))
    run_dbt(payments, "build", env=PRODUCER_ENV)
    mesh.cli("check versioned", "check", "--registry", registry, cwd=payments)
    mesh.cli("publish versioned", "publish", cwd=payments)
    mesh.cli("consume latest", "consume", "payments.customers", cwd=risk)  # v2 lacks email, which risk reads
    mesh.cli("consume v1", "consume", "payments.customers@1", "--dbt-loom", cwd=risk)
    mesh.steps["risk rebuild"] = run_dbt(risk, "build", "--select", "customer_risk")
    mesh.leaks["pinned"] = leaks(risk, payments)
    mesh.cli("list", "registry", "list", "--format", "json", cwd=risk)
    mesh.cli("show v1", "registry", "show", "payments.customers@1", "--format", "json", cwd=risk)

    # New data as release 1.2.0: built while risk builds, invisible to risk until published and consumed.
    seed = payments / "seeds" / "raw_customers.csv"
    seed.write_text(seed.read_text().replace(OLD_EMAIL, NEW_EMAIL, 1))
    project_file.write_text(project_file.read_text().replace('version: "1.1.0"', 'version: "1.2.0"'))
    mesh.reads["before the concurrent builds"] = _risk_reads(risk)
    _build_both(mesh)
    mesh.reads["after the producer's build"] = _risk_reads(risk)
    mesh.cli("publish new data", "publish", cwd=payments)
    mesh.reads["after publish"] = _risk_reads(risk)
    mesh.cli("consume new data", "consume", "payments.customers@1", cwd=risk)
    mesh.reads["after consume"] = _risk_reads(risk)
    mesh.leaks["switched"] = leaks(risk, payments)
    yield mesh


def test_payments_publishes_its_first_release(mesh: Mesh) -> None:
    out = mesh.ok("publish").stdout
    assert "Published payments 1.0.0" in out
    assert "payments.customers" in out and "main_published.customers" in out


def test_risk_consumes_payments_customers_through_a_source_and_the_release_snapshot(mesh: Mesh) -> None:
    out = mesh.ok("consume").stdout
    assert "source('payments', 'customers')" in out
    assert "snapshot: .dmesh/catalog/payments.duckdb attached as payments (read only, release data)" in out
    sources = (mesh.risk / "models" / "consumed" / "payments.yml").read_text()
    assert "identifier: customers" in sources and "schema: main_published" in sources
    assert attached_files(mesh.risk) == {"payments": (mesh.risk / ".dmesh" / "catalog" / "payments.duckdb").resolve()}
    profiles = (mesh.risk / "profiles.yml").read_text()
    assert "read_only: true" in profiles and str(mesh.payments.resolve()) not in profiles


@pytest.mark.parametrize("moment", ["unpinned", "pinned", "switched"])
def test_nothing_risk_can_open_holds_a_raw_value_or_key_material(mesh: Mesh, moment: str) -> None:
    assert mesh.leaks[moment] == []


def test_a_producer_build_changes_nothing_risk_reads_until_published_and_consumed(mesh: Mesh) -> None:
    first = mesh.reads["release 1.0.0"]
    assert first and all(HASH_PATTERN.fullmatch(str(email)) for _, email in first)
    # payments rebuilt without email (refused at publish): risk still reads release 1.0.0, email and all.
    assert mesh.reads["after an unpublished build"] == first
    # New data built and even published: risk reads what it consumed until it consumes again.
    before = mesh.reads["before the concurrent builds"]
    assert mesh.reads["after the producer's build"] == before == mesh.reads["after publish"]
    assert "Published payments 1.2.0" in mesh.ok("publish new data").stdout
    assert "Consuming payments.customers@1 (release 1.2.0)" in mesh.ok("consume new data").stdout
    after = mesh.reads["after consume"]
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert len(changed) == 1 and changed[0][0][0] == 1  # customer 1, whose email the seed changed


def test_producer_and_consumer_build_at_the_same_time(mesh: Mesh) -> None:
    for name in ("payments build", "risk concurrent build"):
        step = mesh.steps[name]
        assert step.returncode == 0, f"{name} failed:\n{step.stdout[-3000:]}"
        assert "could not set lock" not in step.stdout.lower()  # DuckDB's words when another process holds a file


def test_risk_builds_on_the_masked_product(mesh: Mesh) -> None:
    assert "Completed successfully" in mesh.steps["risk build"].stdout
    with duckdb.connect(str(mesh.risk / "warehouse.duckdb"), read_only=True) as connection:
        rows = connection.execute("select customer_id, email, risk_band from main.customer_risk").fetchall()
    assert rows
    assert all(HASH_PATTERN.fullmatch(email) for _, email, _ in rows if email is not None)
    raw_emails = (mesh.payments / "seeds" / "raw_customers.csv").read_text()
    assert not any(email in raw_emails for _, email, _ in rows if email)


def test_the_registry_records_risk_and_the_columns_its_model_reads(mesh: Mesh) -> None:
    recorded = "check: recorded that risk reads customer_id, email, country_code of payments.customers"
    assert recorded in mesh.steps["risk check"].stderr
    shown = json.loads(mesh.ok("show").stdout)
    assert [(c["consumer"], c["columns"]) for c in shown["consumers"]] == [
        ("risk", ["customer_id", "email", "country_code"])
    ]
    assert shown["relation"].endswith("main_published.customers")


def test_dropping_a_consumed_column_without_a_new_version_fails_check_naming_risk(mesh: Mesh) -> None:
    result = mesh.steps["check unversioned"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "column email was removed" in result.stdout
    assert "hits consumer risk (email)" in result.stdout


def test_publish_refuses_the_unversioned_breaking_change(mesh: Mesh) -> None:
    result = mesh.steps["publish unversioned"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not publishing: dmesh-dbt check finds 1 violation(s), first BC003" in result.stderr
    assert "(hits risk (email))" in result.stderr


def test_the_same_change_as_a_new_model_version_passes_and_publishes(mesh: Mesh) -> None:
    assert mesh.ok("check versioned").returncode == 0
    out = mesh.ok("publish versioned").stdout
    assert "Published payments 1.1.0" in out
    assert "payments.customers@1" in out and "payments.customers@2" in out
    releases = json.loads(mesh.ok("list").stdout)["releases"]
    assert [(r["domain"], r["version"]) for r in releases] == [("payments", "1.1.0")]


def test_risk_keeps_building_on_the_old_version(mesh: Mesh) -> None:
    v1 = json.loads(mesh.ok("show v1").stdout)
    assert (v1["product"], v1["release"]) == ("payments.customers@1", "1.1.0")
    assert v1["relation"].endswith("main_published.customers")  # v1 keeps the name risk's source reads
    assert "Completed successfully" in mesh.steps["risk rebuild"].stdout
    with duckdb.connect(str(mesh.risk / "warehouse.duckdb"), read_only=True) as connection:
        emails = connection.execute("select count(email) from main.customer_risk").fetchone()
    assert emails is not None and emails[0] > 0


# ------------------------------------------------------------------------------------- bad input, no dbt needed


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("command", [["publish"], ["consume"], ["registry", "list"], ["registry", "show"]])
def test_every_product_command_has_complete_help(command: list[str]) -> None:
    result = _invoke(*command, "--help")
    assert result.exit_code == 0
    assert "--registry URL" in result.output
    assert "--project-dir" in result.output


def test_publish_outside_a_domain_project_says_what_to_do(tmp_path: Path) -> None:
    result = _invoke("publish", "--project-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "no domain descriptor (dmesh.yml)" in result.output and "dmesh-dbt init" in result.output
    assert "Traceback" not in result.output


def test_a_malformed_product_ref_is_a_usage_error(tmp_path: Path) -> None:
    result = _invoke("consume", "payments", "--project-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "'payments' is not DOMAIN.PRODUCT[@VERSION]" in result.output


def test_an_empty_registry_lists_nothing_and_shows_nothing(tmp_path: Path) -> None:
    listed = _invoke("registry", "list", "--registry", str(tmp_path), "--format", "json")
    assert listed.exit_code == 0
    expected = {"registry": str(tmp_path.resolve()), "platform_version": __version__, "releases": []}
    assert json.loads(listed.output) == expected
    shown = _invoke("registry", "show", "payments.customers", "--registry", str(tmp_path))
    assert shown.exit_code == 2
    assert "domain 'payments' has published nothing" in shown.output


def test_re_consuming_the_latest_version_would_break_risk_and_is_refused(mesh: Mesh) -> None:
    refused = mesh.steps["consume latest"]
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "payments.customers@2 (release 1.1.0) has no email" in refused.stderr
    assert "dmesh-dbt consume payments.customers@1" in refused.stderr
    pinned = mesh.ok("consume v1").stdout
    assert "Consuming payments.customers@1 (release 1.1.0) as {{ source('payments', 'customers') }}" in pinned
    assert "risk reads customer_id, email, country_code" in pinned


#: dbt-loom, installed apart from the venv (scripts/setup.sh: pip install --no-deps --target .dbt-loom dbt-loom),
#: so its plugin only joins the dbt runs that ask for it.
DBT_LOOM = Path(__file__).resolve().parents[2] / ".dbt-loom"


@pytest.mark.skipif(not (DBT_LOOM / "dbt_loom").is_dir(), reason="dbt-loom is not installed in .dbt-loom")
def test_dbt_loom_reads_the_published_manifest_and_refs_the_masked_relation(mesh: Mesh) -> None:
    # Last: it adds a model to risk. dbt-loom injects payments' public nodes from the release's manifest.
    (mesh.risk / "models" / "loom_customers.sql").write_text(
        "select customer_id, email from {{ ref('payments', 'customers', v=1) }}\n"
    )
    built = run_dbt(mesh.risk, "build", "--select", "loom_customers", env={"PYTHONPATH": str(DBT_LOOM)})
    assert "dbt-loom: Injecting nodes" in built.stdout
    assert "customers.v1, which is slated for deprecation on '2027-06-30" in built.stdout
    compiled = (mesh.risk / "target" / "compiled" / "risk" / "models" / "loom_customers.sql").read_text()
    assert '"payments"."main_published"."customers"' in compiled


def test_the_catalog_of_the_mesh_shows_risk_reading_payments_customers(mesh: Mesh, browser: Any) -> None:
    # The demo's flow, rendered: what a platform team would browse after this session's publishes.
    site = mesh.root / "catalog"
    built = run_cli("catalog", "--registry", str(mesh.root / "registry"), "--out", str(site))
    assert built.returncode == 0, built.stderr
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((site / "products" / "payments" / "customers.v1.html").as_uri())
    consumers = page.locator("tr.consumer").all_inner_texts()
    assert len(consumers) == 1 and "risk" in consumers[0] and "email" in consumers[0]
    assert "hash" in page.inner_text("#col-email")
    page.goto((site / "products" / "payments" / "customers.v2.html").as_uri())
    assert "BC003" in page.inner_text("ol.history")  # v2 dropped email: breaking against the v1 it supersedes
    page.close()
    assert errors == []

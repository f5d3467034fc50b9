"""PII follows column lineage (DM011) and hard-coded cross-domain relations (DM007), on real dbt and DuckDB.

One `dmesh-dbt init` domain gets a public model per adversarial case, each carrying PII out of the private
``stg_customers`` a different way; `dmesh-dbt check` (which compiles the project itself) must fail each with a
line that names the column, the upstream column and the fix. The same models, classified, must pass: no false
alarm on a project whose public models are all properly masked, nor on the example domain itself.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engines import PostgresEngine
from tests.helpers import init_domain, run_cli

STG = "{{ ref('stg_customers') }}"
KEY = {
    "name": "customer_id",
    "data_type": "bigint",
    "description": "Surrogate key of the customer.",
    "data_tests": ["unique", "not_null"],
}


@dataclass(frozen=True)
class LineageCase:
    """A public model: its SQL, its columns besides the key (as leaked), the finding expected, and the meta
    that masks it properly (column -> meta)."""

    name: str
    sql: str
    columns: dict[str, str]  # name -> data_type
    expected: str  # a fragment of the DM011 message on this model
    masked: dict[str, dict[str, Any]] = field(default_factory=dict)
    leaked_meta: dict[str, dict[str, Any]] = field(default_factory=dict)


CASES = (
    LineageCase(
        "lin_rename",
        f"select customer_id, ssn as account_ref from {STG}",
        {"account_ref": "varchar"},
        "lin_rename.account_ref carries national_id from stg_customers.ssn but has no PII class; "
        "classify it `meta: {pii: national_id}` so it is masked",
        {"account_ref": {"pii": "national_id"}},
    ),
    LineageCase(
        "lin_concatenation",
        f"select customer_id, email || ' / ' || full_name as contact from {STG}",
        {"contact": "varchar"},
        "lin_concatenation.contact carries person_name from stg_customers.full_name and 1 more PII column(s)",
        {"contact": {"pii": "person_name"}},
    ),
    LineageCase(
        "lin_struct_pack",
        f"select customer_id, struct_pack(mail := email) as packed from {STG}",
        {"packed": "struct(mail varchar)"},
        "lin_struct_pack.packed carries email from stg_customers.email",
        {"packed": {"pii": "email", "mask": "null"}},
    ),
    LineageCase(
        "lin_to_json",
        f"select customer_id, to_json(struct_pack(p := phone)) as payload from {STG}",
        {"payload": "json"},
        "lin_to_json.payload carries phone from stg_customers.phone",
        {"payload": {"pii": "phone", "mask": "null"}},
    ),
    LineageCase(
        "lin_nested_ctes",
        f"with everything as (select * from {STG}),\n"
        "renamed as (select customer_id, phone as reach from everything)\n"
        "select customer_id, upper(reach) as reach from renamed",
        {"reach": "varchar"},
        "lin_nested_ctes.reach carries phone from stg_customers.phone",
        {"reach": {"pii": "phone"}},
    ),
    LineageCase(
        "lin_window",
        "select customer_id,\n"
        "    first_value(email) over (partition by country_code order by signed_up_at) as first_contact\n"
        f"from {STG}",
        {"first_contact": "varchar"},
        "lin_window.first_contact carries email from stg_customers.email",
        {"first_contact": {"pii": "email"}},
    ),
    LineageCase(
        "lin_union",
        f"select customer_id, city as label from {STG}\nunion all\nselect customer_id, email from {STG}",
        {"label": "varchar"},
        "lin_union.label carries email from stg_customers.email",
        {"label": {"pii": "email"}},
    ),
    LineageCase(
        "lin_quoted_mixed_case",
        f'select customer_id, full_name as "Display_Name" from {STG}',
        {"Display_Name": "varchar"},
        "lin_quoted_mixed_case.Display_Name carries person_name from stg_customers.full_name",
        {"Display_Name": {"pii": "person_name"}},
    ),
    LineageCase(
        "lin_pii_none_on_a_rename",
        f"select customer_id, ssn as internal_ref from {STG}",
        {"internal_ref": "varchar"},
        "lin_pii_none_on_a_rename.internal_ref is marked `pii: none` but carries national_id from stg_customers.ssn",
        {"internal_ref": {"pii": "national_id"}},
        leaked_meta={"internal_ref": {"pii": "none", "pii_reason": "an internal reference"}},
    ),
    LineageCase(
        "lin_count",
        f"select customer_id, count(email) over (partition by country_code) as neighbours_with_email from {STG}",
        {"neighbours_with_email": "bigint"},
        "lin_count.neighbours_with_email reduces email from stg_customers.email (an aggregate, a count or a "
        "boolean) but declares no PII status",
        {"neighbours_with_email": {"pii": "none", "pii_reason": "a count per country; reveals no address"}},
    ),
)

#: Only in the leaking project: another domain's published relation named directly in SQL.
HARD_CODED = LineageCase(
    "lin_hard_coded",
    "select customer_id, email from payments.main_published.customers",
    {"email": "varchar"},
    "lineage of lin_hard_coded.email unresolved: treated as PII",
)

#: Also only there: `select *` of the private staging model, published without a contract.
SELECT_STAR = LineageCase(
    "lin_select_star",
    f"select * from {STG}",
    {},
    "lin_select_star.ssn carries national_id from stg_customers.ssn but has no PII class",
)


def _model_yaml(case: LineageCase, masked: bool) -> dict[str, Any]:
    columns: list[dict[str, Any]] = [dict(KEY)]
    for name, data_type in case.columns.items():
        column: dict[str, Any] = {"name": name, "data_type": data_type, "description": f"The {name}."}
        meta = case.masked.get(name) if masked else case.leaked_meta.get(name)
        if meta:
            column["meta"] = meta
        if name != name.lower():
            column["quote"] = True
        columns.append(column)
    return {"name": case.name, "description": f"Lineage case {case.name}.", "columns": columns}


def _star_yaml() -> dict[str, Any]:
    """The select-star model declared with only its key, its contract off: it publishes what its SQL outputs."""
    return {
        "name": SELECT_STAR.name,
        "description": "Everything in stg_customers.",
        "config": {"contract": {"enforced": False}},
        "columns": [dict(KEY)],
    }


def _write_cases(project: Path, cases: tuple[LineageCase, ...], masked: bool) -> None:
    directory = project / "models" / "marts" / "lineage"
    directory.mkdir(parents=True)
    models = [_model_yaml(case, masked) for case in cases]
    if not masked:
        models.append(_star_yaml())
        (directory / f"{SELECT_STAR.name}.sql").write_text(SELECT_STAR.sql + "\n")
    for case in cases:
        (directory / f"{case.name}.sql").write_text(case.sql + "\n")
    (directory / "_lineage.yml").write_text(yaml.safe_dump({"models": models}, sort_keys=False))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example domain of `dmesh-dbt init` (named risk: the cases read another domain, payments)."""
    return init_domain(tmp_path_factory.mktemp("lineage"), "risk")


@pytest.fixture(scope="module")
def leaking(example: Path) -> Path:
    project = example.parent / "leaking"
    shutil.copytree(example, project, symlinks=True)
    _write_cases(project, (*CASES, HARD_CODED), masked=False)
    return project


@pytest.fixture(scope="module")
def masked(example: Path) -> Path:
    project = example.parent / "masked"
    shutil.copytree(example, project, symlinks=True)
    _write_cases(project, CASES, masked=True)
    return project


@pytest.fixture(scope="module")
def leaking_findings(leaking: Path) -> list[dict[str, Any]]:
    result = run_cli("check", "--format", "json", cwd=leaking)
    assert result.returncode == 1, result.stdout + result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


@pytest.mark.parametrize("case", (*CASES, HARD_CODED, SELECT_STAR), ids=lambda c: c.name)
def test_each_way_of_carrying_pii_out_is_a_dm011_error(
    case: LineageCase, leaking_findings: list[dict[str, Any]]
) -> None:
    messages = [f["message"] for f in leaking_findings if f["rule"] == "DM011" and f["model"] == case.name]
    assert any(case.expected in m for m in messages), messages
    assert all(f["severity"] == "error" for f in leaking_findings if f["rule"] == "DM011")


def test_the_path_names_every_hop(leaking_findings: list[dict[str, Any]]) -> None:
    (message,) = [f["message"] for f in leaking_findings if f["model"] == "lin_rename" and f["rule"] == "DM011"]
    assert "(path: raw_customers.ssn" not in message, "the trail stops at the first classified column"
    (reach,) = [f["message"] for f in leaking_findings if f["model"] == "lin_nested_ctes" and f["rule"] == "DM011"]
    assert "phone from stg_customers.phone" in reach


HARD_CODED_MESSAGE = (
    "lin_hard_coded reads {} directly, not through source() or ref(); read another domain's data only as a "
    "published product: `dmesh-dbt consume <domain>.<product>` and its source()"
)


def test_a_hard_coded_relation_of_another_domain_is_dm007(leaking_findings: list[dict[str, Any]]) -> None:
    messages = [f["message"] for f in leaking_findings if f["rule"] == "DM007"]
    assert messages == [HARD_CODED_MESSAGE.format("payments.main_published.customers")]


def test_the_select_star_model_flags_each_pii_column_it_publishes(leaking_findings: list[dict[str, Any]]) -> None:
    columns = {f["column"] for f in leaking_findings if f["model"] == SELECT_STAR.name and f["rule"] == "DM011"}
    assert columns == {
        "full_name", "email", "phone", "ssn", "date_of_birth", "ip_address", "street_address",
        "latitude", "longitude", "device_id",
    }  # fmt: skip


def test_a_domain_cannot_switch_the_lineage_rules_off(leaking: Path) -> None:
    descriptor = leaking / "dmesh.yml"
    original = descriptor.read_text()
    for rule_id in ("DM011", "DM007"):
        descriptor.write_text(original.replace("policy: {}", f"policy: {{{rule_id}: off}}"))
        try:
            result = run_cli("check", cwd=leaking)
        finally:
            descriptor.write_text(original)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"changes {rule_id}, which the mesh policy locks" in result.stderr


def test_properly_masked_public_models_pass(masked: Path) -> None:
    result = run_cli("check", cwd=masked)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DM011" not in result.stdout


def test_the_example_domain_passes(example: Path) -> None:
    result = run_cli("check", cwd=example)
    assert result.returncode == 0, result.stdout + result.stderr


#: On PostgreSQL: a rename, a quoted mixed-case alias (case-sensitive there) and a hard-coded relation of another
#: domain's published schema in the same database.
POSTGRES_CASES = (CASES[0], CASES[7])
POSTGRES_HARD_CODED = LineageCase(
    "lin_hard_coded",
    'select customer_id, email from "payments_published"."customers"',
    {"email": "varchar"},
    "lineage of lin_hard_coded.email unresolved: treated as PII",
)


@pytest.mark.postgres
def test_the_same_leaks_fail_on_postgres(postgres_engine: PostgresEngine, example: Path) -> None:
    """check compiles against the postgres target itself; the lineage reads Postgres SQL."""
    env = {"DMESH_TARGET": "postgres", **postgres_engine.create_database("lineage_mesh").dbt_env(schema="risk")}
    project = example.parent / "leaking_postgres"
    shutil.copytree(example, project, symlinks=True, ignore=shutil.ignore_patterns("target"))
    _write_cases(project, (*POSTGRES_CASES, POSTGRES_HARD_CODED), masked=False)
    result = run_cli("check", "--format", "json", cwd=project, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    messages = [(f["rule"], f["message"]) for f in report["findings"] if f["rule"] in ("DM007", "DM011")]
    for case in (*POSTGRES_CASES, POSTGRES_HARD_CODED):
        assert any(rule == "DM011" and case.expected in message for rule, message in messages), messages
    assert ("DM007", HARD_CODED_MESSAGE.format("payments_published.customers")) in messages
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "postgres"

    masked_project = example.parent / "masked_postgres"
    shutil.copytree(example, masked_project, symlinks=True, ignore=shutil.ignore_patterns("target"))
    _write_cases(masked_project, POSTGRES_CASES, masked=True)
    clean = run_cli("check", cwd=masked_project, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_scan_write_classifies_what_lineage_says_and_check_then_passes(example: Path) -> None:
    project = example.parent / "scan_write"
    shutil.copytree(example, project, symlinks=True, ignore=shutil.ignore_patterns("target"))
    _write_cases(project, CASES[:2], masked=False)
    (project / "models" / "marts" / "lineage" / f"{SELECT_STAR.name}.sql").unlink()
    text = (project / "models" / "marts" / "lineage" / "_lineage.yml").read_text()
    document = yaml.safe_load(text)
    document["models"] = [m for m in document["models"] if m["name"] != SELECT_STAR.name]
    (project / "models" / "marts" / "lineage" / "_lineage.yml").write_text(yaml.safe_dump(document, sort_keys=False))

    scanned = run_cli("scan", "--write", "--format", "json", cwd=project)
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    suspects = {(s["column"], s["class"], s["evidence"]["summary"]) for s in json.loads(scanned.stdout)["suspects"]}
    assert suspects == {
        ("account_ref", "national_id", "lineage 'stg_customers.ssn'"),
        ("contact", "person_name", "lineage 'stg_customers.full_name'"),
    }
    written = yaml.safe_load((project / "models" / "marts" / "lineage" / "_lineage.yml").read_text())
    metas = {c["name"]: c.get("meta") for m in written["models"] for c in m["columns"]}
    assert metas["account_ref"] == {"pii": "national_id"} and metas["contact"] == {"pii": "person_name"}
    checked = run_cli("check", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_scan_reads_check_s_lineage_cache_and_finds_what_parsing_finds(
    leaking: Path, leaking_findings: list[dict[str, Any]]
) -> None:
    """scan follows lineage from the cache check wrote (each model's parsed SQL, signed), and writes it when
    missing: the suspects are the same either way."""
    cache = leaking / "target" / "dmesh_lineage.cache"
    assert leaking_findings and cache.is_file()
    from_cache = run_cli("scan", "--format", "json", cwd=leaking)
    checked = json.loads(run_cli("check", "--format", "json", cwd=leaking).stdout)
    assert checked["lineage_cache"]["misses"] == 0  # scan kept what it did not read
    cache.unlink()
    parsed = run_cli("scan", "--format", "json", cwd=leaking)
    assert cache.is_file()
    suspects = [json.loads(result.stdout)["suspects"] for result in (from_cache, parsed)]
    assert suspects[0] == suspects[1]
    assert any(s["evidence"]["summary"].startswith("lineage ") for s in suspects[0])

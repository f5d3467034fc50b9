"""Severities (mesh policy + dmesh.yml overrides, locked rules), waivers (validation, expiry, matching), DM004."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from dmesh_dbt import examples as ex
from dmesh_dbt.artifacts import Access, Group, Project
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.policy.domain import load_domain_config
from dmesh_dbt.policy.engine import DomainConfig, PolicyContext
from dmesh_dbt.policy.registry import RULES, evaluate_policy, resolve_severities
from dmesh_dbt.policy.rules import mask_exceptions
from dmesh_dbt.policy.waivers import split_waivers
from dmesh_dbt.report import Finding, Severity, Waiver, apply_waivers

TODAY = date(2026, 11, 25)


def domain_file(tmp_path: Path, text: str) -> DomainConfig:
    (tmp_path / "dmesh.yml").write_text(textwrap.dedent(text))
    return load_domain_config(tmp_path, "payments")


def test_every_rule_has_an_id_a_summary_and_failing_and_fixed_examples() -> None:
    assert sorted(RULES) == [
        "DM001",
        "DM002",
        "DM003",
        "DM004",
        "DM005",
        "DM006",
        "DM007",
        "DM008",
        "DM009",
        "DM011",
        "DM013",
        "DM014",
        "DM015",
        "DM016",
    ]
    for rule in RULES.values():
        assert rule.summary.endswith(".") and "Fails" in rule.doc and "Fixed" in rule.doc, rule.id


def test_mesh_policy_severities_apply_and_a_domain_overrides_them(tmp_path: Path) -> None:
    domain = domain_file(tmp_path, "domain: payments\npolicy: {DM003: warning, DM008: off, BC005: warning}\n")
    severities = resolve_severities(domain)
    assert severities.of("DM001") is Severity.ERROR
    assert severities.of("DM003") is Severity.WARNING
    assert severities.of("DM008") is None
    assert severities.of("BC005") is Severity.WARNING
    assert severities.of("BC003") is Severity.ERROR  # change kinds are errors unless configured


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("{DM999: off}", "dmesh.yml policy names unknown rule 'DM999'; known rules: AC001"),
        ("{DM003: loud}", "dmesh.yml gives DM003 severity 'loud'; use error, warning or off"),
        ("{DM009: off}", "dmesh.yml policy changes DM009, which the mesh policy locks"),
        ("{BC020: warning}", "dmesh.yml policy changes BC020, which the mesh policy locks"),
        ("[DM001]", "`policy:` in .*dmesh.yml must map rule ids to error, warning or off"),
    ],
)
def test_bad_policy_overrides_are_config_errors(tmp_path: Path, policy: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_severities(domain_file(tmp_path, f"domain: payments\npolicy: {policy}\n"))


def test_a_locked_rule_may_be_restated_at_its_own_severity(tmp_path: Path) -> None:
    assert resolve_severities(domain_file(tmp_path, "policy: {DM009: error}\n")).of("DM009") is Severity.ERROR


WAIVERS = """
    domain: payments
    owner: payments-team@example.com
    waivers:
      - rule: DM003
        model: customers
        column: city
        reason: described in the wiki
        approver: dpo@example.com
        expires: 2027-03-31
      - rule: DM008
        model: payments
        reason: key test lands next sprint
        approver: lead@example.com
        expires: 2026-11-01
"""


def test_waivers_are_read_with_their_audit_fields(tmp_path: Path) -> None:
    domain = domain_file(tmp_path, WAIVERS)
    assert domain.owner == "payments-team@example.com"
    first = domain.waivers[0]
    assert (first.rule, first.model, first.column, first.approver) == ("DM003", "customers", "city", "dpo@example.com")
    assert first.expires == date(2027, 3, 31)


def test_expired_waivers_leave_force_and_become_violations(tmp_path: Path) -> None:
    in_force, expired = split_waivers(domain_file(tmp_path, WAIVERS).waivers, TODAY)
    assert [w.rule for w in in_force] == ["DM003"]
    assert [(f.rule_id, f.severity, f.model) for f in expired] == [("DM010", Severity.ERROR, "payments")]
    assert expired[0].message.startswith("waiver of DM008 for payments expired on 2026-11-01 (approved by lead@")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{rule: DM003, model: customers, approver: a, expires: 2027-01-01}", "waiver 1 in .* lacks reason"),
        ("{rule: DM003, model: customers, reason: r, expires: 2027-01-01}", "lacks approver"),
        ("{rule: DM003, model: customers, reason: r, approver: a}", "lacks expires"),
        ("{rule: DM003, reason: r, approver: a, expires: 2027-01-01}", "lacks model"),
        ("{rule: DM003, model: c, reason: r, approver: a, expires: next year}", "write it as YYYY-MM-DD"),
        ("{rule: XX1, model: c, reason: r, approver: a, expires: 2027-01-01}", "names unknown rule 'XX1'"),
        ("{rule: DM010, model: c, reason: r, approver: a, expires: 2027-01-01}", "renew the expired waiver"),
        ("just a string", "must be a mapping"),
    ],
)
def test_incomplete_waivers_are_config_errors(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        domain_file(tmp_path, f"waivers:\n  - {entry}\n")


def test_waivers_cover_their_rule_model_versions_and_column_only() -> None:
    waiver = Waiver("DM003", "customers", "r", "a", date(2027, 1, 1), column="city")
    findings = [
        Finding("DM003", Severity.ERROR, "m", "customers", "city"),
        Finding("DM003", Severity.ERROR, "m", "customers.v2", "CITY"),
        Finding("DM003", Severity.ERROR, "m", "customers", "email"),
        Finding("DM002", Severity.ERROR, "m", "customers", "city"),
        Finding("DM003", Severity.ERROR, "m", "customers_archive", "city"),
    ]
    marked = apply_waivers(findings, [waiver])
    assert [f.waived_by is not None for f in marked] == [True, True, False, False, False]


def test_a_project_without_dmesh_yml_gets_defaults(tmp_path: Path) -> None:
    domain = load_domain_config(tmp_path, "payments")
    assert (domain.name, domain.owner, domain.waivers) == ("payments", None, ())


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"dmesh.yml is not valid YAML \(line \d+\); fix the syntax"):
        domain_file(tmp_path, "domain: payments\npolicy: {DM001: error\n")


def _project(groups: tuple[Group, ...]) -> Project:
    return Project("payments", "duckdb", "1.11.16", None, (), (), (), groups, ())


@pytest.mark.parametrize(
    ("owner", "groups", "violates"),
    [
        (None, (), True),
        ("team@example.com", (), False),
        (None, (Group("group.payments.payments", "payments", "payments", "Team", None),), False),
        (None, (Group("group.payments.payments", "payments", "payments", None, None),), True),
        (None, (Group("group.other.other", "other", "other", "Other team", None),), True),  # another package's
    ],
)
def test_domain_owner_rule(owner: str | None, groups: tuple[Group, ...], violates: bool) -> None:
    domain = DomainConfig("payments", owner)
    findings = evaluate_policy(PolicyContext(_project(groups), domain, TODAY), resolve_severities(domain))
    # The project has no model at all, which DM014 warns about: only the owner is at stake here.
    assert [f.rule_id for f in findings if f.rule_id != "DM014"] == (["DM004"] if violates else [])


def test_the_domain_s_joinable_classes_come_from_the_dbt_var_the_macros_read(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: payments\nvars:\n  dmesh_joinable_pii_classes: [email, phone]\n")
    assert load_domain_config(tmp_path, "payments").joinable_pii_classes == {"email", "phone"}
    (tmp_path / "dbt_project.yml").write_text("name: payments\n")
    assert load_domain_config(tmp_path, "payments").joinable_pii_classes == frozenset()


def test_a_joinable_hash_of_an_enumerable_class_says_what_to_use_instead() -> None:
    [example] = [p for p in RULES["DM013"].examples.fails if "ssn" in str(p)]  # type: ignore[union-attr]
    domain = DomainConfig(name="shop", joinable_pii_classes=frozenset({"national_id"}))
    [violation] = RULES["DM013"].check(PolicyContext(example, domain, TODAY))
    assert "ssn (national_id) is hashed with the shared mesh key" in violation.message
    assert "~10^9 values are enumerated in about 3 minutes" in violation.message
    assert "remove national_id from dmesh_joinable_pii_classes" in violation.message
    assert "join across domains on a surrogate key" in violation.message


def test_the_joinable_hash_rule_is_locked() -> None:
    with pytest.raises(ConfigError, match="DM013, which the mesh policy locks"):
        resolve_severities(DomainConfig(name="payments", policy={"DM013": "warning"}))


def test_the_mask_exceptions_in_force_are_those_of_classified_public_columns_only() -> None:
    """check's notes list each approved exception; an unclassified column's `mask_exception` publishes nothing
    unmasked, so it is no exception in force (and, unclassified, is skipped before its masking is worked out)."""
    approved = {"reason": "city only", "approver": "dpo@example.com"}
    city = ex.column("city", meta={"pii": "address", "mask_exception": approved})
    note = ex.column("note", meta={"mask_exception": approved})
    reviewed = ex.column("code", meta={"pii": "none", "mask_exception": approved})
    public = ex.model("customers", ex.KEY, city, note, reviewed)
    private = ex.model("stg_customers", ex.KEY, city, access=Access.PRIVATE)
    assert mask_exceptions(ex.project(public, private)) == ["customers.city: city only (approved by dpo@example.com)"]

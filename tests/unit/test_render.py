"""Every report format from one Report: SARIF validates against the OASIS 2.1.0 schema, JUnit and GitHub parse."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from msgspec.structs import replace

from dmesh_dbt.console import UNWRAPPED
from dmesh_dbt.render import (
    FORMATS,
    render,
    render_github,
    render_json,
    render_junit,
    render_sarif,
    render_text,
)
from dmesh_dbt.report import Finding, Impact, Report, RuleInfo, Severity, SourceRoot, Waiver

SARIF_SCHEMA = Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json"

WAIVER = Waiver(
    "DM003", "customers", "described in the wiki, moving in Q1", "dpo@example.com", date(2027, 3, 31), "city"
)

REPORT = Report(
    command="check",
    project="payments",
    findings=(
        Finding(
            "BC003",
            Severity.ERROR,
            "customers: column phone was removed; release it as a new model version",
            model="customers",
            column="phone",
            path="models/marts/_marts.yml",
            line=23,
            impacts=(Impact("risk", ("phone",)), Impact("marketing")),
        ),
        Finding("DM004", Severity.ERROR, "domain payments has no owner, 100% sure: set `owner:`", path="dmesh.yml"),
        Finding("DM003", Severity.WARNING, "customers.city has no description", "customers", "city", waived_by=WAIVER),
        Finding("DM002", Severity.WARNING, "payments.status has no data_type", "payments", "status", "models/x.yml"),
        Finding("AC003", Severity.NOTE, "customers: column segment was added", "customers", "segment"),
    ),
    rules=(
        RuleInfo("DM002", "public-column-type", "Every column of a public model has a data_type."),
        RuleInfo("DM003", "public-column-description", "Every column of a public model has a description."),
        RuleInfo("DM004", "domain-owner", "The domain has an owner."),
        RuleInfo("DM008", "public-model-key-tested", "Every public model tests a key."),
        RuleInfo("BC003", "column-removed", "A column of a public model was removed."),
    ),
    waivers=(WAIVER,),
    notes=("compared with state target-prod/manifest.json",),
)

CLEAN = Report("check", "payments", (), rules=REPORT.rules)


def test_exit_code_counts_unwaived_errors_only() -> None:
    assert REPORT.exit_code == 1 and [f.rule_id for f in REPORT.failures] == ["BC003", "DM004"]
    assert CLEAN.exit_code == 0


def test_sarif_validates_against_the_oasis_schema() -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    for report in (REPORT, CLEAN):
        jsonschema.validate(json.loads(render_sarif(report)), schema, cls=jsonschema.Draft4Validator)


def test_sarif_carries_rules_levels_locations_and_waivers_as_suppressions() -> None:
    run = json.loads(render_sarif(REPORT))["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["DM002", "DM003", "DM004", "DM008", "BC003"]
    removed = run["results"][0]
    assert removed["level"] == "error" and removed["ruleIndex"] == 4
    location = removed["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "models/marts/_marts.yml"
    assert location["physicalLocation"]["region"]["startLine"] == 23
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "customers.phone"
    assert removed["properties"]["consumers"] == ["risk (phone)", "marketing"]
    waived = run["results"][2]
    assert waived["suppressions"][0]["status"] == "accepted"
    assert "dpo@example.com" in waived["suppressions"][0]["justification"]
    assert run["invocations"][0]["exitCode"] == 1


def test_junit_has_a_suite_per_rule_failures_and_skipped_waivers() -> None:
    root = ET.fromstring(render_junit(REPORT))
    assert root.tag == "testsuites" and root.get("failures") == "2" and root.get("skipped") == "1"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["DM008 public-model-key-tested"].get("failures") == "0"  # a rule that passed: one green case
    assert len(suites["DM008 public-model-key-tested"].findall("testcase")) == 1
    failure = suites["BC003 column-removed"].find("testcase/failure")
    assert failure is not None and "hits consumer risk (phone)" in (failure.text or "")
    assert suites["DM003 public-column-description"].find("testcase/skipped") is not None
    assert "AC003" in suites  # findings of rules not in the list still get a suite
    for suite in suites.values():
        assert int(suite.get("tests", "0")) == len(suite.findall("testcase"))


def test_junit_of_a_clean_report_is_all_green() -> None:
    root = ET.fromstring(render_junit(CLEAN))
    assert root.get("failures") == "0" and root.get("tests") == str(len(CLEAN.rules))


def test_github_annotations_escape_and_skip_waived_findings() -> None:
    lines = render_github(REPORT).splitlines()
    assert lines[0] == (
        "::error title=BC003 column-removed,file=models/marts/_marts.yml,line=23::customers: column phone was "
        "removed; release it as a new model version; hits consumer risk (phone); hits consumer marketing"
    )
    assert lines[1].startswith("::error title=DM004 domain-owner,file=dmesh.yml::") and "100%25 sure" in lines[1]
    assert not any("city has no description" in line for line in lines)
    assert any(line.startswith("::notice title=waiver DM003::DM003 customers.city") for line in lines)
    assert lines[-1] == "FAIL: 2 error(s), 1 warning(s), 1 note(s), 1 waived"


def test_json_is_the_whole_report() -> None:
    document = json.loads(render_json(REPORT))
    assert document["passed"] is False
    assert document["summary"] == {"errors": 2, "warnings": 1, "notes": 1, "waived": 1}
    assert document["findings"][0]["consumers"] == [
        {"domain": "risk", "columns": ["phone"]},
        {"domain": "marketing", "columns": []},
    ]
    assert document["findings"][2]["waiver"]["expires"] == "2027-03-31"
    assert document["waivers"][0]["approver"] == "dpo@example.com"


def test_text_lists_findings_waivers_and_a_verdict() -> None:
    text = render_text(REPORT)
    assert "dmesh-dbt check: payments" in text
    assert "models/marts/_marts.yml:23" in text and "hits consumer risk (phone)" in text
    assert "Waivers in force" in text and "approved by dpo@example.com, expires 2027-03-31" in text
    assert text.rstrip().endswith("FAIL: 2 error(s), 1 warning(s), 1 note(s), 1 waived")
    assert "\x1b[" not in text  # no colour unless asked
    assert "\x1b[" in render_text(REPORT, color=True)
    assert render_text(CLEAN).rstrip().endswith("PASS: 0 error(s), 0 warning(s), 0 note(s), 0 waived")


@pytest.mark.parametrize("output_format", FORMATS)
def test_every_format_renders_through_one_entry_point(output_format: str) -> None:
    assert render(REPORT, output_format).endswith("\n")


# ----------------------------------------------------------------------------------------------- repository paths

#: The same report for a dbt project in the folder analytics/payments of a repository at /repo.
IN_SUBFOLDER = replace(REPORT, source_root=SourceRoot("/repo", "analytics/payments"))


def test_code_scanning_formats_name_files_from_the_repository_root() -> None:
    run = json.loads(render_sarif(IN_SUBFOLDER))["runs"][0]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "analytics/payments/models/marts/_marts.yml", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///repo/"
    jsonschema.validate(
        json.loads(render_sarif(IN_SUBFOLDER)), json.loads(SARIF_SCHEMA.read_text()), cls=jsonschema.Draft4Validator
    )
    github = render_github(IN_SUBFOLDER).splitlines()
    assert "file=analytics/payments/models/marts/_marts.yml,line=23" in github[0]
    assert "file=analytics/payments/dmesh.yml::" in github[1]
    cases = ET.fromstring(render_junit(IN_SUBFOLDER)).iter("testcase")
    assert {(c.get("file"), c.get("line")) for c in cases if c.get("file")} == {
        ("analytics/payments/models/marts/_marts.yml", "23"),
        ("analytics/payments/dmesh.yml", None),
        ("analytics/payments/models/x.yml", None),
    }
    # Text and JSON are read in the project: their paths stay relative to it.
    assert json.loads(render_json(IN_SUBFOLDER))["findings"][0]["path"] == "models/marts/_marts.yml"


def test_sarif_fingerprints_follow_rule_model_and_column_not_lines_or_wording() -> None:
    def fingerprints(report: Report) -> list[str]:
        results = json.loads(render_sarif(report))["runs"][0]["results"]
        return [r["partialFingerprints"]["dmeshFinding/v1"] for r in results]

    before = fingerprints(REPORT)
    assert len(set(before)) == len(before)
    moved = replace(REPORT, findings=(replace(REPORT.findings[0], line=99, message="reworded"), *REPORT.findings[1:]))
    assert fingerprints(moved) == before
    other_column = replace(REPORT, findings=(replace(REPORT.findings[0], column="email"), *REPORT.findings[1:]))
    assert fingerprints(other_column)[0] != before[0]
    twice = Finding("DM007", Severity.ERROR, "orders depends on a", "orders", path="models/o.yml")
    same_subject = Report("check", "payments", (twice, replace(twice, message="orders depends on b")))
    first, second = fingerprints(same_subject)
    assert second == f"{first}:2"  # told apart, and still stable while their order holds


NO_PATHS = Report(
    "check",
    "päyments",
    (
        Finding("DM004", Severity.ERROR, "domain has no owner: set `owner:` in dmesh.yml"),
        Finding("DM002", Severity.WARNING, "客户.city has no data_type [bold]really[/bold]", "客户", "city"),
    ),
)
REWRITTEN = Report("check", "payments", (Finding("DM004", Severity.ERROR, "tab\there :smile: and\nbreak"),))


@pytest.mark.parametrize("report", [REPORT, CLEAN, NO_PATHS, REWRITTEN], ids=["full", "clean", "no paths", "rewritten"])
def test_unwrapped_uncoloured_text_is_what_rich_prints(report: Report) -> None:
    """A pipe's text skips rich's table layout; it must print the same lines (rich lays them out a column short
    of the unwrapped width here, so it takes its own path)."""
    assert render_text(report) == render_text(report, width=UNWRAPPED - 1)


def test_unwrapped_text_of_many_findings_has_a_line_each() -> None:
    findings = tuple(
        Finding(
            "DM003",
            Severity.ERROR,
            f"orders_{i}.card_brand has no description",
            f"orders_{i}",
            "card_brand",
            "models/marts/_marts.yml",
            i,
        )
        for i in range(20_000)
    )
    text = render_text(Report("check", "payments", findings))  # bench/check.py measures its speed
    assert text.count("\n") == 20_002  # the title, a line per finding, the verdict

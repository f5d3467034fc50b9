"""`dmesh-dbt scan` as a user runs it: help, names-only scan of a fresh project, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import init_domain, run_cli

#: How the template classifies a seed column (a flow-style entry): removed to leave raw PII unmarked.
SEED_PII_META = re.compile(r", meta: \{pii: [a-z_]+\}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh example domain (not built) whose raw seeds lost their classification."""
    project = init_domain(tmp_path_factory.mktemp("scan-cli"), "payments")
    seeds = project / "seeds" / "_seeds.yml"
    seeds.write_text(SEED_PII_META.sub("", seeds.read_text()))
    return project


def test_help_documents_every_option() -> None:
    result = run_cli("scan", "--help")
    assert result.returncode == 0
    options = ("--project-dir", "--target", "--sample-rows", "--select", "--write", "--explain", "--policy", "--format")
    for option in options:
        assert option in result.stdout


def test_names_only_scan_reports_the_unclassified_seed_columns_and_exits_1(project: Path) -> None:
    result = run_cli("scan", "--project-dir", str(project), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(s["node"], s["column"], s["class"]) for s in report["suspects"]}
    assert ("seed.payments.raw_payments", "card_number", "card_number") in found
    assert ("seed.payments.raw_customers", "ssn", "national_id") in found
    assert report["target"] is None and report["rows_sampled"] == 0
    # The marts and staging models classify their PII: only the raw seeds are suspects.
    assert {node for node, _, _ in found} == {"seed.payments.raw_customers", "seed.payments.raw_payments"}


def test_text_output_ends_with_a_summary(project: Path) -> None:
    result = run_cli("scan", "--project-dir", str(project), "--select", "raw_payments")
    assert result.returncode == 1
    assert "card_number" in result.stdout
    assert "1 unmarked PII suspects in" in result.stdout and "names only" in result.stdout


def test_explain_prints_the_evidence_and_the_score_of_one_column(project: Path) -> None:
    result = run_cli("scan", "--project-dir", str(project), "--explain", "raw_payments.card_number")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("seed.payments.raw_payments.card_number")
    assert "  tokens:     card number" in lines
    assert "  because:    name says card_number ('card number')" in lines
    assert "  values:     not sampled (add --sample-rows N)" in lines
    assert lines[-1] == "  verdict:    reported as card_number, confidence 0.90"
    upper = "RAW_PAYMENTS.CARD_NUMBER"  # names match as the warehouse matches them: case-insensitively
    as_json = run_cli("scan", "--project-dir", str(project), "--explain", upper, "--format", "json")
    explained = json.loads(as_json.stdout)
    assert [(e["column"], e["score"]["class"], e["reported"]["confidence"]) for e in explained] == [
        ("card_number", "card_number", 0.9)
    ]


def test_json_suspects_carry_their_reasons(project: Path) -> None:
    report = json.loads(run_cli("scan", "--project-dir", str(project), "--format", "json").stdout)
    ssn = next(s for s in report["suspects"] if s["column"] == "ssn")
    assert ssn["reasons"] == ["name says national_id ('ssn')", "values not sampled"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--explain", "raw_payments.no_such_column"], "names no documented column"),
        (["--explain", "card_number"], "name the column as RELATION.COLUMN"),
        (["--explain", "raw_payments.card_number", "--write"], "takes neither --write nor --select"),
        (["--project-dir", "{missing}"], "is not a dbt project"),
        (["--sample-rows", "5", "--target", "nope"], "target 'nope' is not in profile 'payments'"),
        (["--sample-rows", "5"], "DuckDB database"),  # not built yet
        (["--select", "no_such_model"], "selects no model, seed or source"),
        (["--sample-rows", "-1"], "Invalid value for '--sample-rows'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(project: Path, tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.replace("{missing}", str(tmp_path / "missing")) for a in args]
    command = ["scan", *args] if "--project-dir" in args else ["scan", "--project-dir", str(project), *args]
    result = run_cli(*command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_platforms_policy_sets_the_thresholds_and_the_domain_cannot_loosen_them(
    project: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "mesh_policy.yml"
    policy.write_text("scan:\n  classify: 0.95\n")
    seeds = (project / "seeds" / "_seeds.yml").read_text()
    args = ("scan", "--project-dir", str(project), "--select", "raw_payments", "--write", "--policy", str(policy))
    result = run_cli(*args)
    assert result.returncode == 1, result.stderr
    assert "below the mesh policy's `scan.classify` (0.95)" in result.stdout
    assert (project / "seeds" / "_seeds.yml").read_text() == seeds  # nothing written below the platform's bar
    descriptor = project / "dmesh.yml"
    before = descriptor.read_text()
    try:
        descriptor.write_text(before + "scan:\n  classify: 0.5\n")
        refused = run_cli(*args)
    finally:
        descriptor.write_text(before)
    assert refused.returncode == 2
    assert "`scan.classify` 0.5 is below the mesh policy's 0.95: a domain may only make the scan stricter" in (
        refused.stderr
    )

"""`dmesh-dbt scan` on the example domain with its PII classification removed: it finds every PII column again,
flags nothing else, never flags a masked published column, and `--write` puts the classification back."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dmesh_dbt.project import resolve_target
from dmesh_dbt.scan.sampling import sample_duckdb, sample_through_dbt
from tests.helpers import init_domain, run_cli, run_dbt

#: The template's two ways of writing a classification: a block line and inside a flow-style column entry.
PII_META = re.compile(r"^\s*meta: \{pii: [a-z_]+\}\s*\n|, meta: \{pii: [a-z_]+\}", re.M)


def yaml_files(project: Path) -> list[Path]:
    return sorted([*project.glob("models/**/*.yml"), *project.glob("seeds/**/*.yml")])


def marked_columns(project: Path) -> dict[tuple[str, str], str]:
    """(node unique id, column) -> class, as the project's YAML classifies them."""
    marked = {}
    for path in yaml_files(project):
        document = yaml.safe_load(path.read_text()) or {}
        for section, kind in (("models", "model"), ("seeds", "seed")):
            for node in document.get(section) or []:
                for column in node.get("columns") or []:
                    pii = (column.get("meta") or {}).get("pii")
                    if pii:
                        marked[(f"{kind}.payments.{node['name']}", column["name"])] = pii
    return marked


@pytest.fixture(scope="module")
def stripped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], str], dict[Path, str]]:
    """The example domain, built (so the published relations are masked), then its `meta: {pii}` removed."""
    project = init_domain(tmp_path_factory.mktemp("scan"), "payments")
    run_dbt(project, "build")
    marked = marked_columns(project)
    originals = {path: path.read_text() for path in yaml_files(project)}
    for path, text in originals.items():
        path.write_text(PII_META.sub("", text))
    assert marked and not marked_columns(project), "the template's PII meta lines changed shape"
    return project, marked, originals


@pytest.fixture(scope="module")
def scan_output(stripped: tuple[Path, dict[tuple[str, str], str], dict[Path, str]]) -> tuple[int, dict[str, Any], str]:
    project = stripped[0]
    result = run_cli("scan", "--project-dir", str(project), "--sample-rows", "200", "--format", "json")
    return result.returncode, json.loads(result.stdout), result.stdout


def test_scan_finds_every_pii_column_and_nothing_else(stripped: Any, scan_output: Any) -> None:
    _, marked, _ = stripped
    returncode, report, _ = scan_output
    found = {(s["node"], s["column"], s["class"]) for s in report["suspects"] if not s["published"]}
    assert found == {(node, column, pii) for (node, column), pii in marked.items()}
    assert {node.split(".")[0] for node, _, _ in found} == {"model", "seed"}
    assert returncode == 1  # unclassified suspects remain


def test_masked_published_columns_are_checked_and_never_flagged(scan_output: Any) -> None:
    _, report, _ = scan_output
    assert report["published_columns_checked"] > 0
    assert [s for s in report["suspects"] if s["published"]] == []


def test_the_report_carries_counts_and_rates_never_the_sampled_values(stripped: Any, scan_output: Any) -> None:
    project, _, _ = stripped
    _, report, stdout = scan_output
    with (project / "seeds" / "raw_customers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    leaked = [row["email"] for row in rows if row["email"] in stdout] + [r["ssn"] for r in rows if r["ssn"] in stdout]
    assert leaked == []
    email = next(s for s in report["suspects"] if s["node"] == "model.payments.customers" and s["column"] == "email")
    assert email["evidence"]["sampled"] == len(rows) and email["evidence"]["match_rate"] == 1.0


def test_dbt_show_sampling_reads_the_same_columns_as_direct_duckdb(stripped: Any) -> None:
    project = stripped[0]
    target = resolve_target(project)
    assert target.duckdb_path is not None
    relation = '"warehouse"."main"."customers"'
    build_results = (project / "target" / "run_results.json").read_bytes()
    through_dbt = sample_through_dbt(project, target.name, {relation: ["email", "date_of_birth"]}, 5)
    # dbt show writes its own run_results.json: never over the build's, which publish reads to require a green build.
    assert (project / "target" / "run_results.json").read_bytes() == build_results
    direct = sample_duckdb(target.duckdb_path, [relation], 1000)
    assert sorted(through_dbt[relation]) == ["date_of_birth", "email"]
    assert len(through_dbt[relation]["email"]) == 5
    assert set(through_dbt[relation]["email"]) <= set(direct[relation]["email"])
    assert set(through_dbt[relation]["date_of_birth"]) <= set(direct[relation]["date_of_birth"])


def test_write_puts_the_classification_back_and_keeps_every_comment(stripped: Any, scan_output: Any) -> None:
    project, marked, originals = stripped
    result = run_cli("scan", "--project-dir", str(project), "--sample-rows", "200", "--write")
    assert result.returncode == 0, result.stdout + result.stderr
    assert marked_columns(project) == marked
    # Same lines as the user's files before the meta was removed, but for the evidence comment --write adds (the
    # meta line may sit elsewhere within its column); every comment, anchor and quote kept.
    for path, text in originals.items():
        written = [re.sub(r"  # dmesh scan: .*$", "", line) for line in path.read_text().splitlines()]
        assert sorted(written) == sorted(text.splitlines()), f"{path} changed beyond meta"
    again = run_cli("scan", "--project-dir", str(project))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 unmarked PII suspects" in again.stdout

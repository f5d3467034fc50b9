"""`dmesh-dbt check --sample-rows N`: the PII backstop on values, for a column whose name gives nothing away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import init_domain, run_cli, run_dbt

HIDDEN_COLUMN_YAML = """      - name: reference_code
        description: Code the support desk quotes.
        data_type: *string
"""


@pytest.fixture(scope="module")
def project_with_hidden_phone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example domain with phone numbers copied, unclassified, into a column named `reference_code`."""
    project = init_domain(tmp_path_factory.mktemp("sample"), "payments")
    marts = project / "models" / "marts"
    sql = marts / "customers.sql"
    sql.write_text(
        sql.read_text().replace(
            "    customers.phone,\n", "    customers.phone,\n    customers.phone as reference_code,\n"
        )
    )
    yaml_file = marts / "_marts.yml"
    text = yaml_file.read_text()
    anchor = "      - name: ssn\n"
    yaml_file.write_text(text.replace(anchor, HIDDEN_COLUMN_YAML + anchor, 1))
    run_dbt(project, "build")
    return project


def test_names_alone_do_not_see_it_but_lineage_does(project_with_hidden_phone: Path) -> None:
    result = run_cli("check", "--format", "json", cwd=project_with_hidden_phone)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = [(f["rule"], f["message"]) for f in json.loads(result.stdout)["findings"]]
    assert findings == [
        (
            "DM011",
            "customers.reference_code carries phone from stg_customers.phone but has no PII class; classify it "
            "`meta: {pii: phone}` so it is masked",
        )
    ]


def test_sampled_values_flag_the_column_and_its_published_leak(project_with_hidden_phone: Path) -> None:
    result = run_cli("check", "--sample-rows", "100", "--format", "json", cwd=project_with_hidden_phone)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "DM009"]
    messages = [f["message"] for f in findings]
    assert any("customers.reference_code holds values that look like phone" in m for m in messages), messages
    assert any("published relation of customers shows raw phone values in column reference_code" in m for m in messages)
    raw_phones = (project_with_hidden_phone / "seeds" / "raw_customers.csv").read_text().splitlines()[1].split(",")[3]
    assert raw_phones not in result.stdout, "reports carry counts and rates, never values"


@pytest.mark.parametrize("option", ["--sample-rows", "--sample"])  # --sample: the old name, a hidden alias
def test_a_negative_sample_size_is_a_usage_error(project_with_hidden_phone: Path, option: str) -> None:
    result = run_cli("check", option, "-1", cwd=project_with_hidden_phone)
    assert result.returncode == 2
    assert option in result.stderr


def test_help_names_sampling_as_scan_does() -> None:
    help_text = run_cli("check", "--help").stdout
    assert "--sample-rows N" in help_text
    assert "--sample " not in help_text

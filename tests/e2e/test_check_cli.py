"""`dmesh-dbt check` and `dmesh-dbt diff` as a user runs them: every format, every exit code, bad artifacts."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.helpers import init_domain, run_cli

SARIF_SCHEMA = Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json"


@dataclass(frozen=True)
class Domain:
    path: Path
    state: Path  # the manifest of the clean project, before the breaking edit


def edit_marts(project: Path, edit: str) -> None:
    """Apply a small text edit to the example domain's public models, as a developer would."""
    path = project / "models" / "marts" / "_marts.yml"
    text = path.read_text()
    if edit == "drop city":
        text = text.replace(
            "      - name: city\n        description: City of residence.\n        data_type: *string\n", ""
        )
        sql = project / "models" / "marts" / "customers.sql"
        sql.write_text(sql.read_text().replace("    customers.city,\n", ""))
    elif edit == "undescribe country_code":
        text = text.replace("description: ISO 3166-1 alpha-2 country code.", "description: ''")
    path.write_text(text)


def set_dmesh_yml(project: Path, **values: object) -> None:
    path = project / "dmesh.yml"
    document = yaml.safe_load(path.read_text())
    document.update(values)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture(scope="module")
def domain(tmp_path_factory: pytest.TempPathFactory) -> Domain:
    """The example domain, checked clean once (which parses it), then edited to break its public model."""
    parent = tmp_path_factory.mktemp("check-cli")
    project = init_domain(parent, "payments")
    first = run_cli("check", "--project-dir", str(project))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "PASS: 0 error(s)" in first.stdout
    state = parent / "state"
    state.mkdir()
    shutil.copy(project / "target" / "manifest.json", state / "manifest.json")
    edit_marts(project, "drop city")
    edit_marts(project, "undescribe country_code")
    return Domain(project, state)


def check(domain: Domain, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    result = run_cli("check", "--project-dir", str(domain.path), *args, cwd=cwd)
    return result.returncode, result.stdout, result.stderr


def test_check_reparses_a_stale_manifest_and_reports_violations(domain: Domain) -> None:
    code, out, err = check(domain, "--state", str(domain.state))
    assert code == 1
    # It says why it compiles first (column lineage reads compiled SQL), naming the file edited after the last parse.
    assert "check: running `dbt compile` first: models/marts/_marts.yml is newer than target/manifest.json" in err
    assert "customers: column city was removed" in out and "BC003" in out
    assert "customers.country_code has no description; add `description:` to the column" in out
    assert "FAIL: 2 error(s)" in out


def test_a_fresh_manifest_is_not_reparsed(domain: Domain) -> None:
    check(domain)  # parses if the edits made it stale
    manifest = domain.path / "target" / "manifest.json"
    before = manifest.stat().st_mtime_ns
    code, _, err = check(domain)
    assert code == 1 and manifest.stat().st_mtime_ns == before
    assert "dbt parse" not in err


def test_a_repeated_check_reads_column_lineage_from_its_cache_and_finds_the_same(
    domain: Domain, tmp_path: Path
) -> None:
    check(domain)  # parses if the edits made it stale
    (domain.path / "target" / "dmesh_lineage.cache").unlink(missing_ok=True)
    env = {"XDG_CACHE_HOME": str(tmp_path)}  # this test's own cache key
    runs = [run_cli("check", "--project-dir", str(domain.path), "--format", "json", env=env) for _ in range(2)]
    first, second = (json.loads(run.stdout) for run in runs)
    computed = first.pop("lineage_cache")
    assert computed["hits"] == 0 and computed["misses"] > 0
    assert second.pop("lineage_cache") == {"hits": computed["misses"], "misses": 0}
    assert second == first and [run.returncode for run in runs] == [1, 1]


def test_json_format(domain: Domain) -> None:
    code, out, _ = check(domain, "--state", str(domain.state), "--format", "json")
    document = json.loads(out)
    assert code == 1 and document["passed"] is False
    assert {f["rule"] for f in document["findings"]} == {"BC003", "DM003"}
    removed = next(f for f in document["findings"] if f["rule"] == "BC003")
    assert (removed["model"], removed["column"], removed["path"]) == ("customers", "city", "models/marts/_marts.yml")
    assert removed["line"] and removed["line"] > 1


def test_github_format(domain: Domain) -> None:
    code, out, _ = check(domain, "--format", "github")
    assert code == 1
    assert out.startswith("::error title=DM003 public-column-description,file=models/marts/_marts.yml,line=")


def test_sarif_format_to_a_file_validates(domain: Domain, tmp_path: Path) -> None:
    output = tmp_path / "reports" / "check.sarif"
    code, out, err = check(domain, "--state", str(domain.state), "--format", "sarif", "--output", str(output))
    assert code == 1 and out == "" and f"wrote sarif report to {output}" in err
    document = json.loads(output.read_text())
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text()), cls=jsonschema.Draft4Validator)
    assert {r["ruleId"] for r in document["runs"][0]["results"]} == {"BC003", "DM003"}
    assert [p.name for p in output.parent.iterdir()] == ["check.sarif"]  # no temp file left behind


def test_junit_format(domain: Domain) -> None:
    code, out, _ = check(domain, "--format", "junit")
    root = ET.fromstring(out)
    assert code == 1 and root.get("failures") == "1"
    failing = [s.get("name") for s in root.findall("testsuite") if s.get("failures") != "0"]
    assert failing == ["DM003 public-column-description"]


def test_a_waiver_lets_the_check_pass_and_is_listed(domain: Domain, tmp_path: Path) -> None:
    waived = tmp_path / "payments"
    shutil.copytree(domain.path, waived, symlinks=True)
    waiver = {
        "rule": "DM003",
        "model": "customers",
        "column": "country_code",
        "reason": "documented in the country reference",
        "approver": "dpo@example.com",
        "expires": "2099-01-01",
    }
    set_dmesh_yml(waived, waivers=[waiver])
    result = run_cli("check", "--project-dir", str(waived))
    manifest = waived / "target" / "manifest.json"
    parsed_at = manifest.stat().st_mtime_ns
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Waivers in force" in result.stdout and "approved by dpo@example.com, expires 2099-01-01" in result.stdout
    assert "PASS: 0 error(s), 0 warning(s), 0 note(s), 1 waived" in result.stdout

    set_dmesh_yml(waived, waivers=[{**waiver, "expires": "2020-01-01"}])
    expired = run_cli("check", "--project-dir", str(waived))
    assert expired.returncode == 1
    assert "waiver of DM003 for customers.country_code expired on 2020-01-01" in expired.stdout

    set_dmesh_yml(waived, waivers=[{k: v for k, v in waiver.items() if k != "approver"}])
    incomplete = run_cli("check", "--project-dir", str(waived))
    assert incomplete.returncode == 2 and "lacks approver" in incomplete.stderr

    set_dmesh_yml(waived, waivers=[], policy={"DM003": "warning"})
    demoted = run_cli("check", "--project-dir", str(waived))
    assert demoted.returncode == 0 and "PASS: 0 error(s), 1 warning(s)" in demoted.stdout
    assert manifest.stat().st_mtime_ns == parsed_at  # dbt does not read dmesh.yml: no re-parse for it


def test_diff_lists_classified_changes(domain: Domain) -> None:
    check(domain)  # make sure target/manifest.json is the edited project's
    result = run_cli("diff", str(domain.state), str(domain.path / "target"), "--format", "json")
    document = json.loads(result.stdout)
    assert result.returncode == 1
    assert [(f["rule"], f["model"], f["column"]) for f in document["findings"]] == [("BC003", "customers", "city")]
    same = run_cli("diff", str(domain.state), str(domain.state / "manifest.json"))
    assert same.returncode == 0 and "0 change(s)" in same.stdout
    # Code-scanning paths are the repository's: here --repo-root is the folder above the project.
    changes = ("diff", str(domain.state), str(domain.path / "target"))
    annotated = run_cli(*changes, "--format", "github", "--repo-root", str(domain.path.parent))
    assert f"file={domain.path.name}/models/" in annotated.stdout
    outside = run_cli(*changes, "--repo-root", str(domain.path / "models"))
    assert outside.returncode == 2 and "does not contain the project" in outside.stderr


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "holds no manifest.json"),
        ("truncated", "is truncated or not JSON"),
        ("foreign", "has schema v11; dmesh-dbt reads dbt manifest v12 only"),
    ],
)
def test_bad_state_manifest_exits_2_with_one_clear_line(
    domain: Domain, tmp_path: Path, damage: str, message: str
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    text = (domain.state / "manifest.json").read_text()
    if damage == "truncated":
        (state / "manifest.json").write_text(text[: len(text) // 3])
    elif damage == "foreign":
        (state / "manifest.json").write_text(text.replace("/manifest/v12.json", "/manifest/v11.json", 1))
    code, out, err = check(domain, "--state", str(state))
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_diff_of_a_missing_manifest_exits_2(tmp_path: Path) -> None:
    result = run_cli("diff", str(tmp_path), str(tmp_path))
    assert result.returncode == 2 and "holds no manifest.json" in result.stderr


def test_not_a_dbt_project_exits_2(tmp_path: Path) -> None:
    result = run_cli("check", "--project-dir", str(tmp_path))
    assert result.returncode == 2 and "is not a dbt project (no dbt_project.yml); pass --project-dir" in result.stderr


def test_state_and_registry_together_exit_2(domain: Domain, tmp_path: Path) -> None:
    code, _, err = check(domain, "--state", str(domain.state), "--registry", str(tmp_path))
    assert code == 2 and "pass either --state or --registry, not both" in err


def test_an_empty_registry_is_no_baseline_yet(domain: Domain, tmp_path: Path) -> None:
    code, out, err = check(domain, "--registry", str(tmp_path / "registry"))
    registry = tmp_path / "registry"
    assert code == 1 and f"no baseline: {registry} has no release of payments yet" in out
    assert "baseline" not in err and "--state or --registry" not in out
    assert "BC003" not in out and "DM003" in out


def test_list_rules_documents_every_rule_and_change_kind() -> None:
    result = run_cli("check", "--list-rules")
    assert result.returncode == 0
    for rule_id in ("DM001", "DM009", "DM010", "BC001", "BC020", "AC001", "VG002"):
        assert rule_id in result.stdout
    assert "Fails::" in result.stdout and "Fixed::" in result.stdout


def test_help_documents_every_option() -> None:
    result = run_cli("check", "--help")
    for option in ("--project-dir", "--state", "--registry", "--format", "--output", "--list-rules"):
        assert option in result.stdout
    assert "Exit 0 clean, 1 violations, 2 usage or configuration error" in " ".join(result.stdout.split())  # any width

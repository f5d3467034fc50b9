"""`dmesh-dbt init` as a user runs it: every option, every bad input, nothing left behind on failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from dmesh_dbt.cli import cli


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def read_yaml(path: Path) -> dict[str, object]:
    document: dict[str, object] = yaml.safe_load(path.read_text())
    return document


def test_init_renders_a_complete_project_with_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("init", "payments")
    assert result.exit_code == 0, result.output
    project = tmp_path / "payments"
    for relative in [
        "dbt_project.yml",
        "profiles.yml",
        "packages.yml",
        "package-lock.yml",
        "dmesh.yml",
        "README.md",
        ".copier-answers.yml",
        ".sqlfluff",
        ".pre-commit-config.yaml",
        ".github/workflows/dbt.yml",
        ".gitlab-ci.yml",
        "models/groups.yml",
        "models/marts/customers.sql",
        "models/marts/_marts.yml",
        "models/staging/stg_customers.sql",
        "seeds/raw_customers.csv",
        "seeds/_seeds.yml",
        "dbt_packages/dmesh",
    ]:
        assert (project / relative).exists(), relative
    descriptor = read_yaml(project / "dmesh.yml")
    assert descriptor["domain"] == "payments"
    assert descriptor["owner"] == "payments-team@example.com"
    answers = read_yaml(project / ".copier-answers.yml")
    assert answers["domain"] == "payments" and answers["_src_path"]
    assert "Created dbt project for domain payments" in result.output


def test_init_records_owner_description_and_dir(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "cards"
    result = invoke(
        "init",
        "card_issuing",
        "--dir",
        str(target),
        "--owner",
        "cards@acme.io",
        "--description",
        "Issued cards and their lifecycle.",
        "--no-deps",
    )
    assert result.exit_code == 0, result.output
    assert read_yaml(target / "dmesh.yml")["owner"] == "cards@acme.io"
    assert read_yaml(target / "dmesh.yml")["description"] == "Issued cards and their lifecycle."
    groups = read_yaml(target / "models" / "groups.yml")
    assert groups["groups"] == [
        {"name": "card_issuing", "owner": {"name": "card_issuing domain team", "email": "cards@acme.io"}}
    ]
    assert read_yaml(target / "dbt_project.yml")["name"] == "card_issuing"
    assert "Issued cards and their lifecycle." in (target / "README.md").read_text()
    assert not (target / "dbt_packages").exists(), "--no-deps must not install packages"


@pytest.mark.parametrize(
    ("warehouse", "default_target"), [("duckdb", "dev"), ("bigquery", "prod"), ("postgres", "postgres")]
)
def test_warehouse_selects_the_default_target(tmp_path: Path, warehouse: str, default_target: str) -> None:
    result = invoke("init", "risk", "--dir", str(tmp_path / "risk"), "--warehouse", warehouse, "--no-deps")
    assert result.exit_code == 0, result.output
    profile = read_yaml(tmp_path / "risk" / "profiles.yml")["risk"]
    assert isinstance(profile, dict)
    assert profile["target"] == f"{{{{ env_var('DMESH_TARGET', '{default_target}') }}}}"
    assert set(profile["outputs"]) == {"dev", "prod", "postgres"}


def test_profiles_hold_no_secrets(tmp_path: Path) -> None:
    invoke("init", "risk", "--dir", str(tmp_path / "risk"), "--no-deps")
    outputs = read_yaml(tmp_path / "risk" / "profiles.yml")["risk"]["outputs"]  # type: ignore[index]
    for key in ("password", "token", "keyfile"):
        for output in outputs.values():
            if key in output:
                assert output[key].startswith("{{ env_var("), f"{key} must come from the environment"


def test_no_examples_leaves_out_seeds_and_models(tmp_path: Path) -> None:
    result = invoke("init", "risk", "--dir", str(tmp_path / "risk"), "--no-examples", "--no-deps")
    assert result.exit_code == 0, result.output
    project = tmp_path / "risk"
    assert not list((project / "seeds").glob("*.csv"))
    assert not list((project / "models").rglob("*.sql"))
    assert (project / "dbt_project.yml").is_file() and (project / "models" / "groups.yml").is_file()


def test_force_renders_into_a_non_empty_directory(tmp_path: Path) -> None:
    target = tmp_path / "risk"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    refused = invoke("init", "risk", "--dir", str(target), "--no-deps")
    assert refused.exit_code == 2
    assert "exists and is not empty" in refused.output and "--force" in refused.output
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    forced = invoke("init", "risk", "--dir", str(target), "--force", "--no-deps")
    assert forced.exit_code == 0, forced.output
    assert (target / "dbt_project.yml").is_file()
    assert (target / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Payments", "lowercase"),
        ("1payments", "starting with a letter"),
        ("pay-ments", "lowercase letters, digits and underscores"),
        ("pay ments", "lowercase letters, digits and underscores"),
        ("_payments", "starting with a letter"),
        ("p" * 41, "1-40"),
        ("", "1-40"),
        ("select", "reserved word"),
        ("dbt", "reserved word"),
        ("dmesh", "reserved word"),
    ],
)
def test_invalid_domain_names_exit_2_with_one_line_and_no_files(tmp_path: Path, name: str, reason: str) -> None:
    target = tmp_path / "out"
    result = invoke("init", name, "--dir", str(target))
    assert result.exit_code == 2
    assert reason in result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "Traceback" not in result.output
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_invalid_owner_exits_2(tmp_path: Path) -> None:
    result = invoke("init", "risk", "--dir", str(tmp_path / "risk"), "--owner", "not-an-email")
    assert result.exit_code == 2
    assert "invalid --owner 'not-an-email'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_unknown_warehouse_exits_2(tmp_path: Path) -> None:
    result = invoke("init", "risk", "--dir", str(tmp_path / "risk"), "--warehouse", "oracle")
    assert result.exit_code == 2
    assert "'oracle' is not one of 'duckdb', 'bigquery', 'postgres'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_dir_that_is_a_file_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "risk"
    target.write_text("a file")
    result = invoke("init", "risk", "--dir", str(target))
    assert result.exit_code == 2
    assert "is a file" in result.output
    assert target.read_text() == "a file"


def test_a_failed_dbt_deps_leaves_nothing_behind(tmp_path: Path) -> None:
    env = {**os.environ, "DMESH_PACKAGE_DIR": str(tmp_path / "no-such-package")}
    result = invoke("init", "risk", "--dir", str(tmp_path / "risk"), env=env)
    assert result.exit_code == 1
    assert "dbt deps" in result.output and "failed" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_help_documents_every_option() -> None:
    result = invoke("init", "--help")
    assert result.exit_code == 0
    for option in ["--owner", "--dir", "--warehouse", "--description", "--no-examples", "--force", "--no-deps"]:
        assert option in result.output


def test_package_dir_points_at_the_dmesh_dbt_package() -> None:
    result = invoke("package-dir")
    assert result.exit_code == 0
    package = Path(result.output.strip())
    assert read_yaml(package / "dbt_project.yml")["name"] == "dmesh"

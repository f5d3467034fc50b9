"""Every command reads dbt's artifacts where dbt writes them, and its own dbt runs write inside that directory:
the project's `target-path:` in dbt_project.yml, or $DBT_TARGET_PATH (which wins, as in dbt), never an assumed
`target/`. Real dbt on DuckDB: build, docs generate, check, scan, publish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import init_domain, run_cli, run_dbt

#: The env case also sets a misleading `target-path:` in dbt_project.yml, which $DBT_TARGET_PATH must beat.
CASES = {"dbt_project.yml": ({}, "build/dbt"), "env": ({"DBT_TARGET_PATH": "out/from-env"}, "out/from-env")}


@pytest.fixture(scope="module", params=sorted(CASES))
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], Path]:
    """The example domain with `target-path: build/dbt`, built; its environment; where dbt wrote."""
    env, relative = CASES[str(request.param)]
    project = init_domain(tmp_path_factory.mktemp("target-path"), "payments")
    with (project / "dbt_project.yml").open("a", encoding="utf-8") as file:
        file.write("target-path: build/dbt\n")
    run_dbt(project, "build", env=env)
    artifacts = project / relative
    assert (artifacts / "manifest.json").is_file() and (artifacts / "run_results.json").is_file()
    return project, env, artifacts


def test_publish_reads_the_builds_results_from_the_target_path(
    built: tuple[Path, dict[str, str], Path], tmp_path: Path
) -> None:
    project, env, artifacts = built
    result = run_cli("publish", "--project-dir", str(project), "--registry", str(tmp_path / "registry"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Published" in result.stdout
    assert not (project / "target").exists()


def test_check_parses_into_and_reads_the_target_path(built: tuple[Path, dict[str, str], Path]) -> None:
    project, env, artifacts = built
    run_dbt(project, "docs", "generate", env=env)  # after publish: docs generate replaces the build's results
    (artifacts / "manifest.json").unlink()  # check must parse, and find what it parsed
    result = run_cli("check", "--project-dir", str(project), "--format", "json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "manifest.json does not exist" in result.stderr
    notes = "\n".join(json.loads(result.stdout)["notes"])
    assert f"catalog: {artifacts.relative_to(project)}/catalog.json" in notes, notes
    assert (artifacts / "dmesh-compile").is_dir()
    assert not (project / "target").exists()


def test_scan_samples_through_dbt_inside_the_target_path(built: tuple[Path, dict[str, str], Path]) -> None:
    project, env, artifacts = built
    result = run_cli("scan", "--project-dir", str(project), "--sample-rows", "5", "--format", "json", env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: suspects; what matters is no error
    assert json.loads(result.stdout)["rows_sampled"] > 0
    assert not (project / "target").exists()


def test_the_target_path_option_wins_over_both(built: tuple[Path, dict[str, str], Path]) -> None:
    project, env, artifacts = built
    result = run_cli("scan", "--project-dir", str(project), "--target-path", "flagged", "--format", "json", env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "flagged/manifest.json does not exist" in result.stderr  # parsed there, as dbt does with the flag
    assert (project / "flagged" / "manifest.json").is_file() and not (project / "target").exists()

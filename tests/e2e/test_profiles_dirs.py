"""Every command that runs dbt finds profiles.yml where dbt finds it: --profiles-dir, $DBT_PROFILES_DIR, the
project, ~/.dbt; and passes --vars to dbt. Projects whose profiles.yml is not in the project directory."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import VENV_BIN, init_domain


def _run(command: str, project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``dbt`` or ``dmesh-dbt`` in ``project`` with exactly the profile set-up ``env`` gives (none inherited)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DBT_PROFILES_DIR", "HOME")}
    clean["DO_NOT_TRACK"] = "1"
    result = subprocess.run(
        [str(VENV_BIN / command), *args], cwd=project, env={**clean, **env}, capture_output=True, text=True, check=False
    )
    return result


def _moved_profiles(parent: Path, name: str, where: str) -> tuple[Path, dict[str, str]]:
    """The example domain, built, with its profiles.yml moved to ~/.dbt of a fresh HOME (``home``) or to a
    directory named by $DBT_PROFILES_DIR (``env``); the environment dbt needs for it."""
    project = init_domain(parent, name)
    home = parent / f"{name}-home"
    home.mkdir()
    env = {"HOME": str(home)}
    if where == "home":
        profiles_dir = home / ".dbt"
    else:
        profiles_dir = parent / f"{name}-profiles"
        env["DBT_PROFILES_DIR"] = str(profiles_dir)
    profiles_dir.mkdir()
    (project / "profiles.yml").rename(profiles_dir / "profiles.yml")
    built = _run("dbt", project, "build", env=env)
    assert built.returncode == 0, built.stdout[-3000:]
    return project, env


@pytest.fixture(scope="module", params=["home", "env"])
def moved(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    return _moved_profiles(tmp_path_factory.mktemp("profiles"), "payments", str(request.param))


def test_check_parses_with_the_profile_dbt_finds(moved: tuple[Path, dict[str, str]]) -> None:
    project, env = moved
    (project / "target" / "manifest.json").unlink()  # check must run `dbt parse` itself
    result = _run("dmesh-dbt", project, "check", "--format", "json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["summary"]["errors"] == 0


def test_scan_samples_through_the_profile_dbt_finds(moved: tuple[Path, dict[str, str]]) -> None:
    project, env = moved
    result = _run("dmesh-dbt", project, "scan", "--sample-rows", "5", "--format", "json", env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: suspects; what matters is no error
    assert json.loads(result.stdout)["rows_sampled"] > 0


def test_publish_reads_the_target_from_the_profile_dbt_finds(
    moved: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project, env = moved
    result = _run("dmesh-dbt", project, "publish", "--registry", str(tmp_path / "registry"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Published" in result.stdout


def test_profiles_dir_flag_wins_over_the_environment(moved: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    project, env = moved
    profiles = Path(env.get("DBT_PROFILES_DIR") or Path(env["HOME"]) / ".dbt")
    flagged = tmp_path / "flagged"
    flagged.mkdir()
    (flagged / "profiles.yml").write_text((profiles / "profiles.yml").read_text())
    misleading = {"HOME": str(tmp_path), "DBT_PROFILES_DIR": str(tmp_path / "nowhere")}
    (project / "target" / "manifest.json").unlink()
    result = _run("dmesh-dbt", project, "check", "--profiles-dir", str(flagged), "--target", "dev", env=misleading)
    assert result.returncode == 0, result.stdout + result.stderr
    wrong = _run("dmesh-dbt", project, "scan", "--sample-rows", "5", env=misleading)
    assert wrong.returncode == 2 and "profiles.yml" in wrong.stderr, wrong.stdout + wrong.stderr


def test_vars_reach_the_parse(moved: tuple[Path, dict[str, str]]) -> None:
    project, env = moved
    model = project / "models" / "only_under_a_var.sql"
    model.write_text("{{ config(enabled=var('with_extra', false)) }}\nselect 1 as id\n")
    try:
        without = _run("dmesh-dbt", project, "scan", "--format", "json", env=env)
        assert without.returncode in (0, 1), without.stderr
        manifest = json.loads((project / "target" / "manifest.json").read_text())
        assert "model.payments.only_under_a_var" not in manifest["nodes"]
        with_vars = _run("dmesh-dbt", project, "scan", "--vars", "{with_extra: true}", "--format", "json", env=env)
        assert with_vars.returncode in (0, 1), with_vars.stderr
        manifest = json.loads((project / "target" / "manifest.json").read_text())
        assert "model.payments.only_under_a_var" in manifest["nodes"]
        again = _run("dmesh-dbt", project, "scan", "--format", "json", env=env)  # parsed with vars: parse again
        assert again.returncode in (0, 1), again.stderr
        manifest = json.loads((project / "target" / "manifest.json").read_text())
        assert "model.payments.only_under_a_var" not in manifest["nodes"]
        bad = _run("dmesh-dbt", project, "scan", "--vars", "[1, 2]", env=env)
        assert bad.returncode == 2 and "--vars" in bad.stderr
    finally:
        model.unlink()

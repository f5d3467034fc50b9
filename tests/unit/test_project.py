"""The domain project on disk, read one way: the registry a command uses, and the dbt target it resolves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dmesh_dbt.project as project_module
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.project import (
    domain_name,
    find_registry_url,
    read_dbt_project,
    registry_url,
    resolve_target,
    target_dir,
)

PROFILES = """\
risk:
  target: "{{ env_var('RISK_TARGET', 'dev') }}"
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('RISK_DUCKDB', 'warehouse.duckdb') }}"
      schema: main
    pg:
      type: postgres
      host: "{{ env_var('RISK_PG_HOST') }}"
      port: 5432
      schema: analytics
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DMESH_REGISTRY", "RISK_TARGET", "RISK_DUCKDB", "RISK_PG_HOST"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "risk"
    root.mkdir()
    (root / "dbt_project.yml").write_text('name: risk\nversion: "1.0.0"\nprofile: risk\n')
    (root / "profiles.yml").write_text(PROFILES)
    (root / "dmesh.yml").write_text("domain: risk\nowner: risk@example.com\nregistry: ../registry\n")
    return root


def test_the_registry_is_the_flag_else_the_environment_else_dmesh_yml(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_file = str((project.parent / "registry").resolve())  # relative to the project, not the working dir
    assert registry_url(project) == from_file
    monkeypatch.setenv("DMESH_REGISTRY", "s3://bucket/mesh")
    assert registry_url(project) == "s3://bucket/mesh"
    assert registry_url(project, "/srv/registry") == "/srv/registry"


def test_without_any_registry_check_has_none_and_publish_is_told_the_three_ways(project: Path) -> None:
    (project / "dmesh.yml").write_text("domain: risk\nowner: risk@example.com\n")
    assert find_registry_url(project) is None
    with pytest.raises(ConfigError, match=r"pass --registry URL, set DMESH_REGISTRY, or add `registry:`"):
        registry_url(project)


def test_one_target_resolution_for_every_command(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = resolve_target(project)
    assert (dev.name, dev.type, dev.profile) == ("dev", "duckdb", "risk")
    assert dev.duckdb_path == (project / "warehouse.duckdb").resolve()
    assert dev.settings["schema"] == "main"
    monkeypatch.setenv("RISK_TARGET", "pg")  # the default target is rendered as dbt renders it
    pg = resolve_target(project)
    assert (pg.name, pg.type, pg.duckdb_path, pg.settings["port"]) == ("pg", "postgres", None, 5432)
    with pytest.raises(ConfigError, match=r"env_var\('RISK_PG_HOST'\) without a default"):
        pg.settings["host"]  # an unset variable is an error only where its setting is read
    assert resolve_target(project, "dev").name == "dev"  # --target wins over the profile's default
    with pytest.raises(ConfigError, match=r"target 'qa' is not in profile 'risk' \(targets: dev, pg\)"):
        resolve_target(project, "qa")


def test_profiles_render_var_from_the_command_line_vars_as_dbt_does(project: Path) -> None:
    profiles = PROFILES.replace("'warehouse.duckdb')", "var('db_file', 'warehouse.duckdb'))")
    (project / "profiles.yml").write_text(
        profiles.replace("      schema: main\n", "      schema: main\n      threads: \"{{ var('threads') }}\"\n")
    )
    from dmesh_dbt.toolkit import DbtFlags

    assert resolve_target(project).duckdb_path == (project / "warehouse.duckdb").resolve()
    chosen = resolve_target(project, flags=DbtFlags(vars="{db_file: other.duckdb, threads: 4}"))
    assert chosen.duckdb_path == (project / "other.duckdb").resolve() and chosen.settings["threads"] == "4"
    with pytest.raises(ConfigError, match=r"var\('threads'\) without a default; pass --vars"):
        resolve_target(project).settings["threads"]


def test_project_files_are_parsed_once_per_text_and_an_edit_is_read(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check reads dbt_project.yml seven times: it parses it once (issue 16), yet an edited file is read anew
    and no caller sees what another changed in its copy."""
    parsed: list[str] = []
    real = project_module.load_yaml_text

    def counting(text: str | bytes, origin: str, error: Callable[[str], Exception]) -> Any:
        parsed.append(origin)
        return real(text, origin, error)

    monkeypatch.setattr(project_module, "load_yaml_text", counting)
    project_module._PARSED.clear()
    assert read_dbt_project(project).profile == "risk"
    assert target_dir(project) == project / "target" and domain_name(project) == "risk"
    assert read_dbt_project(project).name == "risk"
    assert parsed == [str(project / "dbt_project.yml"), str(project / "dmesh.yml")]
    document = project_module._load_mapping(project / "dbt_project.yml")
    assert document is not None
    document["name"] = "changed in a copy"
    assert read_dbt_project(project).name == "risk"
    (project / "dbt_project.yml").write_text('name: risk\nversion: "1.0.0"\nprofile: risk\ntarget-path: out\n')
    assert target_dir(project) == project / "out"

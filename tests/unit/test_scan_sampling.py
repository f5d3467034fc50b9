"""Which target a scan samples through (`project.resolve_target`): the project's profiles.yml, env_var rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.project import resolve_target
from dmesh_dbt.scan.scanner import dbt_reference

PROFILES = """\
shop:
  target: "{{ env_var('SHOP_TARGET', 'dev') }}"
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('SHOP_DUCKDB', 'warehouse.duckdb') }}"
    pg:
      type: postgres
      host: "{{ env_var('SHOP_PG_HOST') }}"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp_path / "profiles.yml").write_text(PROFILES)
    return tmp_path


def test_the_default_target_is_rendered_and_a_relative_duckdb_path_is_the_projects(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOP_TARGET", raising=False)
    monkeypatch.delenv("SHOP_DUCKDB", raising=False)
    target = resolve_target(project)
    assert (target.name, target.type, target.duckdb_path) == ("dev", "duckdb", project / "warehouse.duckdb")


def test_environment_variables_choose_the_target_and_the_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DUCKDB", "/data/shop.duckdb")
    assert resolve_target(project).duckdb_path == Path("/data/shop.duckdb")
    monkeypatch.setenv("SHOP_TARGET", "pg")
    assert resolve_target(project).type == "postgres"  # sampled through dbt, connection settings not read


def test_unknown_targets_and_missing_profiles_are_config_errors(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"target 'qa' is not in profile 'shop' \(targets: dev, pg\)"):
        resolve_target(project, "qa")
    (project / "dbt_project.yml").write_text("name: shop\nprofile: other\n")
    with pytest.raises(ConfigError, match="profile 'other' is not in"):
        resolve_target(project)


def test_nodes_are_referenced_so_dbt_resolves_them_for_the_target() -> None:
    assert dbt_reference("model.shop.orders") == "{{ ref('orders') }}"
    assert dbt_reference("model.shop.orders.v2") == "{{ ref('orders', v=2) }}"
    assert dbt_reference("seed.shop.raw_orders") == "{{ ref('raw_orders') }}"
    assert dbt_reference("source.shop.crm.contacts") == "{{ source('crm', 'contacts') }}"

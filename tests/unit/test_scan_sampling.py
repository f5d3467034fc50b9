"""Which target a scan samples through (`project.resolve_target`): the project's profiles.yml, env_var rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.project import resolve_target
from dmesh_dbt.scan.sampling import count_duckdb
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


def test_duckdb_samples_print_every_type_as_python_does_and_keep_the_most_frequent_values(tmp_path: Path) -> None:
    import datetime
    import decimal

    import duckdb

    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute(
            "create table t as select i::bigint as id, 'user' || (i % 3) || '@example.com' as email, "
            "date '1990-01-02' + i::integer as born, timestamp '2024-05-01 12:30:00' as at, i / 8 as ratio, "
            "1.25::decimal(10, 2) as price, i % 2 = 0 as flag, 'ab'::blob as raw, [i, 2] as pair, "
            "case when i < 10 then null else i end as sparse from range(40) r(i)"
        )
    relation = '"warehouse"."main"."t"'
    counted = count_duckdb(database, [relation], 1000, distinct=5)
    assert counted.rows[relation] == 40
    sampled = counted.values[relation]  # column -> {value as text: times sampled}, non-null only
    assert sampled["email"] == {f"user{i}@example.com": 14 if i == 0 else 13 for i in range(3)}
    assert len(sampled["id"]) == 5 and set(sampled["id"]) <= {str(i) for i in range(40)}  # capped at 5 distinct
    assert set(sampled["id"].values()) == {1}
    assert sampled["at"] == {str(datetime.datetime(2024, 5, 1, 12, 30)): 40}
    born = {str(datetime.date(1990, 1, 2) + datetime.timedelta(days=i)) for i in range(40)}
    assert set(sampled["born"]) <= born
    assert sampled["price"] == {str(decimal.Decimal("1.25")): 40}
    assert sampled["flag"] == {"True": 20, "False": 20} and sampled["raw"] == {"6162": 40}
    assert set(sampled["pair"]) <= {f"[{i}, 2]" for i in range(40)}
    assert set(sampled["ratio"]) <= {str(i / 8) for i in range(40)}
    assert len(sampled["sparse"]) == 5 and sum(sampled["sparse"].values()) == 5  # the nulls are not counted

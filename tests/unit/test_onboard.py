"""The pure half of `dmesh-dbt onboard`: names, casts, load timestamps and the files it renders (no dbt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dmesh_dbt.errors import UsageError
from dmesh_dbt.onboard import (
    Proposal,
    RawColumn,
    RawTable,
    StagedColumn,
    StagedTable,
    cast_for,
    find_loaded_at,
    needs_quotes,
    not_built,
    refuse_collisions,
    render_model,
    render_properties,
    snake_case,
    source_table_entry,
)


@pytest.mark.parametrize(
    ("raw", "snake"),
    [
        ("CustomerId", "customer_id"), ("Full Name", "full_name"), ("HTTPStatus", "http_status"),
        ("email-address", "email_address"), ("_loaded_at", "_loaded_at"), ("2fa_enabled", "_2fa_enabled"),
        ("order_id", "order_id"), ("Amount  (EUR)", "amount_eur"),
    ],
)  # fmt: skip
def test_snake_case(raw: str, snake: str) -> None:
    assert snake_case(raw) == snake


def test_quotes_only_what_sql_needs_quoted() -> None:
    assert [needs_quotes(n) for n in ("email", "_loaded_at", "Email", "Full Name", "order", "user")] == [
        False, False, True, True, True, True,
    ]  # fmt: skip


def test_casts_only_where_the_type_needs_it() -> None:
    assert cast_for("postgres", "json")[0] == "jsonb"  # type: ignore[index]
    assert cast_for("postgres", "character")[0] == "text"  # type: ignore[index]
    assert cast_for("postgres", "character varying") is None
    assert cast_for("postgres", "jsonb") is None and cast_for("duckdb", "JSON") is None


def _table(*columns: tuple[str, str]) -> RawTable:
    return RawTable("Refunds", '"db"."raw"."Refunds"', tuple(RawColumn(n, t) for n, t in columns))


def test_load_timestamp_is_found_by_name_and_type_or_named() -> None:
    assert find_loaded_at(_table(("id", "int"), ("_fivetran_synced", "TIMESTAMP WITH TIME ZONE")), None) == (
        "_fivetran_synced"
    )
    assert find_loaded_at(_table(("_loaded_at", "varchar")), None) is None  # a string is no timestamp
    assert find_loaded_at(_table(("occurred_at", "timestamp")), None) is None  # an event time, not a load time
    assert find_loaded_at(_table(("occurred_at", "timestamp")), "occurred_at") == "occurred_at"
    assert find_loaded_at(_table(("occurred_at", "timestamp")), "missing") is None


def test_rendered_files_list_every_column_and_mark_proposals() -> None:
    raw = _table(("RefundId", "bigint"), ("Email", "varchar"), ("_loaded_at", "timestamp"))
    email = Proposal("email", "name 'email'; 30/30 values valid; confidence 0.99")
    columns = (
        StagedColumn(raw.columns[0], "refund_id", "bigint", None, None),
        StagedColumn(raw.columns[1], "email", "varchar", None, email),
        StagedColumn(raw.columns[2], "_loaded_at", "timestamp", None, None),
    )
    table = StagedTable(raw, "raw", "refunds", "stg_raw__refunds", columns, "_loaded_at")
    sql = render_model(table)
    assert "select *" not in sql
    assert (
        '{{ adapter.quote("RefundId") }} as refund_id,' in sql
        and "    _loaded_at\nfrom {{ source('raw', 'refunds') }}" in sql
    )
    properties = render_properties(table)
    assert "meta: {pii: email}  # proposed by onboard (name 'email'; 30/30 values valid" in properties
    assert yaml.safe_load(properties)["models"][0]["columns"][0] == {"name": "refund_id", "data_type": "bigint"}
    freshness = {"warn_after": {"count": 1, "period": "hour"}}
    entry = source_table_entry(table, freshness, "bigquery")
    assert entry["identifier"] == "Refunds" and entry["config"]["loaded_at_field"] == "_loaded_at"
    assert [c["name"] for c in entry["columns"]] == ["RefundId", "Email", "_loaded_at"]
    assert entry["columns"][0]["quote"] is True and "quote" not in entry["columns"][2]


def _staged(*columns: str) -> list[RawTable]:
    return [_table(*((c, "int") for c in columns))]


def test_colliding_and_taken_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "models" / "staging" / "raw").mkdir(parents=True)
    refuse_collisions(tmp_path, "raw", _staged("RefundId", "amount"))  # nothing taken
    with pytest.raises(UsageError, match="columns 'OrderId' and 'order_id' of .* would both be named 'order_id'"):
        refuse_collisions(tmp_path, "raw", _staged("OrderId", "order_id"))
    legacy = tmp_path / "models" / "legacy"
    legacy.mkdir()
    (legacy / "stg_raw__refunds.sql").write_text("select 1 as id\n")
    with pytest.raises(UsageError, match="model stg_raw__refunds .* already exists as models/legacy/stg_raw__refunds"):
        refuse_collisions(tmp_path, "raw", _staged("id"))
    (legacy / "stg_raw__refunds.sql").unlink()
    (legacy / "sources.yml").write_text("sources:\n  - name: raw\n    tables: [{name: refunds}]\n")
    with pytest.raises(UsageError, match="source raw is already defined in models/legacy/sources.yml"):
        refuse_collisions(tmp_path, "raw", _staged("id"))
    ours = tmp_path / "models" / "staging" / "raw" / "_raw__sources.yml"
    (legacy / "sources.yml").rename(ours)
    refuse_collisions(tmp_path, "raw", _staged("id"))  # onboard's own sources file is no collision


def test_the_sources_file_keeps_the_users_edits_and_formatting(tmp_path: Path) -> None:
    from dmesh_dbt.onboard import _sources_change

    raw = _table(("RefundId", "bigint"))
    table = StagedTable(
        raw,
        "raw",
        "refunds",
        "stg_raw__refunds",
        (StagedColumn(raw.columns[0], "refund_id", "bigint", None, None),),
        None,
    )
    first = _sources_change(tmp_path, "raw", "raw", [table], {}, "duckdb")
    assert first.status == "created" and not first.kept
    path = tmp_path / first.path
    path.parent.mkdir(parents=True)
    reformatted = first.after.replace("    description:", "    description :")
    path.write_text(reformatted)
    again = _sources_change(tmp_path, "raw", "raw", [table], {}, "duckdb")
    assert again.status == "unchanged" and again.after == reformatted  # formatting is not re-dumped
    reviewed = reformatted.replace("data_type: bigint", "data_type: bigint\n            description: the refund")
    path.write_text(reviewed)
    kept = _sources_change(tmp_path, "raw", "raw", [table], {}, "duckdb")
    assert (
        kept.status == "kept" and kept.after == reviewed and "-            description: the refund" in kept.kept_diff()
    )


def _run_results(project: Path, statuses: dict[str, str]) -> None:
    """target/run_results.json as dbt 1.11 writes it, reduced to what is read: each node's status."""
    results = [{"unique_id": node, "status": status, "execution_time": 1.0} for node, status in statuses.items()]
    document = {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"}}
    (project / "target").mkdir(exist_ok=True)
    (project / "target" / "run_results.json").write_text(json.dumps(document | {"results": results}))


def test_a_rerun_builds_the_models_the_last_build_did_not(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: shop\n")
    models = ("stg_raw__a", "stg_raw__b", "stg_raw__c", "stg_raw__d")
    assert not_built(tmp_path, models) == models  # no results: build them all
    _run_results(tmp_path, {
        "model.shop.stg_raw__a": "success", "model.shop.stg_raw__b": "error", "model.shop.stg_raw__c": "skipped",
        "model.other.stg_raw__d": "success",  # another package's model of the same name
    })  # fmt: skip
    assert not_built(tmp_path, models) == ("stg_raw__b", "stg_raw__c", "stg_raw__d")
    (tmp_path / "target" / "run_results.json").write_text("{truncated")
    assert not_built(tmp_path, models) == models

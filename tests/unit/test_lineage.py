"""Column lineage from compiled SQL: one case per way a value can travel, on small in-memory projects."""

from __future__ import annotations

import time

import pytest

from dmesh_dbt.artifacts import Project
from dmesh_dbt.lineage import ColumnRef, Derivation, Input, Lineage
from tests.lineage_projects import column, model, project, seed, source

RAW_COLUMNS = ("customer_id", "email", "ssn", "full_name", "status", "amount")


def _project(sql: str, adapter: str = "duckdb", stg_sql: str = "select * from {raw.customers}") -> Project:
    """raw.customers (a source) -> stg_customers (``stg_sql``) -> out (``sql``, reading stg_customers)."""
    raw = source("customers", tuple(column(c) for c in RAW_COLUMNS), adapter)
    stg = model("stg_customers", stg_sql, (raw.unique_id,), adapter=adapter)
    out = model("out", sql, (stg.unique_id,), adapter=adapter)
    return project(raw, stg, out, adapter=adapter)


def _upstream(lineage: Lineage, name: str) -> set[tuple[str, bool]]:
    """``(source column, reduced)`` for each derivation of out.NAME; ("unresolved", False) for an unresolved one."""
    found = set()
    for derivation in lineage.trace(ColumnRef("model.payments.out", name)):
        if derivation.unresolved is not None:
            found.add(("unresolved", False))
        else:
            found.add((lineage.display(derivation.upstream), derivation.reduced))
    return found


def _raw(*columns: str, reduced: bool = False) -> set[tuple[str, bool]]:
    return {(f"raw.customers.{c}", reduced) for c in columns}


CASES = [
    ("rename", "select ssn as account_ref from {stg_customers}", "account_ref", _raw("ssn")),
    (
        "concatenation",
        "select email || ' / ' || full_name as contact from {stg_customers}",
        "contact",
        _raw("email", "full_name"),
    ),
    ("struct_pack", "select struct_pack(mail := email) as packed from {stg_customers}", "packed", _raw("email")),
    (
        "to_json",
        "select to_json(struct_pack(e := email, s := ssn)) as j from {stg_customers}",
        "j",
        _raw("email", "ssn"),
    ),
    ("json_object", "select json_object('e', email) as j from {stg_customers}", "j", _raw("email")),
    ("row", "select row(email, ssn) as r from {stg_customers}", "r", _raw("email", "ssn")),
    ("list literal", "select [email, full_name] as a from {stg_customers}", "a", _raw("email", "full_name")),
    ("cast", "select cast(ssn as varchar(11)) as s from {stg_customers}", "s", _raw("ssn")),
    (
        "case",
        "select case when status = 'x' then email else 'none' end as c from {stg_customers}",
        "c",
        _raw("email") | _raw("status", reduced=True),
    ),
    (
        "window value",
        "select lag(ssn) over (order by customer_id) as prev from {stg_customers}",
        "prev",
        _raw("ssn") | _raw("customer_id", reduced=True),
    ),
    (
        "window partition",
        "select row_number() over (partition by email) as rn from {stg_customers}",
        "rn",
        _raw("email", reduced=True),
    ),
    ("count", "select count(distinct email) as n from {stg_customers}", "n", _raw("email", reduced=True)),
    ("max passes a value", "select max(email) as m from {stg_customers}", "m", _raw("email")),
    ("boolean", "select email is not null as has_email from {stg_customers}", "has_email", _raw("email", reduced=True)),
    (
        "nested ctes",
        "with a as (select * from {stg_customers}), b as (select email as e from a) select upper(e) as x from b",
        "x",
        _raw("email"),
    ),
    (
        "union",
        "select email as v from {stg_customers} union all select status from {stg_customers}",
        "v",
        _raw("email", "status"),
    ),
    ("select star", "select * from {stg_customers}", "ssn", _raw("ssn")),
    ("scalar subquery", "select (select max(ssn) from {stg_customers}) as m from {stg_customers}", "m", _raw("ssn")),
    ("derived table", "select t.x from (select full_name as x from {stg_customers}) as t", "x", _raw("full_name")),
    ("constant", "select 'a' as c from {stg_customers}", "c", set()),
    ("hard-coded relation", "select email from {payments.main.customers}", "email", {("unresolved", False)}),
]


@pytest.mark.parametrize(("sql", "name", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_duckdb_lineage(sql: str, name: str, expected: set[tuple[str, bool]]) -> None:
    assert _upstream(Lineage(_project(sql)), name) == expected


ADAPTER_CASES = [
    ("postgres", "select ssn::text as ref, row(email) as r from {stg_customers}", "ref", _raw("ssn")),
    ("postgres", "select json_build_object('e', email) as j from {stg_customers}", "j", _raw("email")),
    ("postgres", "select array[email, full_name] as a from {stg_customers}", "a", _raw("email", "full_name")),
    ("postgres", 'select "full_name" as "Display_Name" from {stg_customers}', "Display_Name", _raw("full_name")),
    ("bigquery", "select struct(email as mail) as packed from {stg_customers}", "packed", _raw("email")),
    ("bigquery", "select to_json_string(struct(ssn)) as j from {stg_customers}", "j", _raw("ssn")),
    ("bigquery", "select concat(email, full_name) as c from {stg_customers}", "c", _raw("email", "full_name")),
]


@pytest.mark.parametrize(("adapter", "sql", "name", "expected"), ADAPTER_CASES)
def test_lineage_in_each_adapters_dialect(adapter: str, sql: str, name: str, expected: set[tuple[str, bool]]) -> None:
    assert _upstream(Lineage(_project(sql, adapter)), name) == expected


def test_quoted_mixed_case_columns_keep_their_case_on_postgres() -> None:
    raw = source("customers", (column("Email"), column("id")), "postgres")
    out = model("out", 'select "Email" as contact from {raw.customers}', (raw.unique_id,), adapter="postgres")
    lineage = Lineage(project(raw, out, adapter="postgres"))
    (derivation,) = lineage.trace(ColumnRef(out.unique_id, "contact"))
    assert derivation.upstream == ColumnRef(raw.unique_id, "Email")


def test_the_path_runs_from_the_column_to_its_origin() -> None:
    lineage = Lineage(_project("with a as (select ssn as account_ref from {stg_customers}) select * from a"))
    (derivation,) = lineage.trace(ColumnRef("model.payments.out", "account_ref"))
    assert [lineage.display(step) for step in derivation.path] == [
        "out.account_ref",
        "stg_customers.ssn",
        "raw.customers.ssn",
    ]


def test_one_hop_passes_on_the_upstream_derivations_one_step_longer_in_their_order() -> None:
    """A column read through one plain hop (the shortcut most columns take) derives exactly as the column it
    reads, one step longer and in the same (sorted) order; through a reducing hop, every derivation is reduced."""
    lineage = Lineage(
        _project(
            "select contact as c, contact is not null as has_contact from {stg_customers}",
            stg_sql="select status || ssn || email as contact from {raw.customers}",
        )
    )
    upstream = lineage.trace(ColumnRef("model.payments.stg_customers", "contact"))
    assert [d.upstream.column for d in upstream] == ["email", "ssn", "status"]
    plain = ColumnRef("model.payments.out", "c")
    assert lineage.trace(plain) == tuple(Derivation((plain, *d.path), d.reduced, d.unresolved) for d in upstream)
    reduced = lineage.trace(ColumnRef("model.payments.out", "has_contact"))
    assert [(d.upstream.column, d.reduced, len(d.path)) for d in reduced] == [
        (c, True, 3) for c in ("email", "ssn", "status")
    ]


def test_a_column_is_found_whatever_its_case_the_first_of_names_equal_but_for_case_winning() -> None:
    raw = source("customers", (column("Email"), column("email"), column("id")), "postgres")
    sql = 'select "Email" as "Contact", email as "CONTACT", id from {raw.customers}'
    node = Lineage(project(raw, model("out", sql, (raw.unique_id,), adapter="postgres"), adapter="postgres")).node(
        "model.payments.out"
    )
    assert node.hops("contact") == node.hops("CONTACT") == (Input(ColumnRef(raw.unique_id, "Email")),)
    assert node.hops("ID") == node.hops("id") == (Input(ColumnRef(raw.unique_id, "id")),)
    assert node.hops("other") is None


def test_a_stop_ends_the_trail_at_the_first_accepted_column() -> None:
    lineage = Lineage(_project("select email as e from {stg_customers}"))
    stop_at_stg = lambda ref: ref.node_id == "model.payments.stg_customers"  # noqa: E731
    (derivation,) = lineage.trace(ColumnRef("model.payments.out", "e"), stop_at_stg)
    assert derivation.upstream == ColumnRef("model.payments.stg_customers", "email")


def test_a_node_without_compiled_sql_is_unresolved() -> None:
    raw = source("customers", (column("email"),))
    stg = model("stg_customers", None, (raw.unique_id,))
    out = model("out", "select email from {stg_customers}", (stg.unique_id,))
    lineage = Lineage(project(raw, stg, out))
    (derivation,) = lineage.trace(ColumnRef(out.unique_id, "email"))
    assert derivation.unresolved is not None
    assert "stg_customers has no compiled SQL in the manifest; run `dbt compile`" in derivation.unresolved.reason


def test_select_star_over_unlisted_columns_is_unresolved() -> None:
    raw = seed("raw_customers")  # a seed without YAML: the manifest lists none of its columns
    out = model("out", "select * from {raw_customers}", (raw.unique_id,))
    lineage = Lineage(project(raw, out))
    (derivation,) = lineage.trace(ColumnRef(out.unique_id, "email"))
    assert derivation.unresolved is not None
    assert "selects * from" in derivation.unresolved.reason


def test_sql_sqlglot_cannot_parse_is_unresolved_not_clean() -> None:
    lineage = Lineage(_project("select email from {stg_customers} where (("))
    (derivation,) = lineage.trace(ColumnRef("model.payments.out", "email"))
    assert derivation.unresolved is not None and "sqlglot cannot parse the SQL of out" in derivation.unresolved.reason


def test_unknown_relations_are_listed_and_known_ones_and_ctes_are_not() -> None:
    sql = (
        "with c as (select * from {stg_customers}) "
        "select c.email from c join {payments.main_published.customers} as p on p.customer_id = c.customer_id"
    )
    lineage = Lineage(_project(sql))
    assert lineage.node("model.payments.out").unknown_relations == ("payments.main_published.customers",)


def test_each_node_is_parsed_once_and_a_deep_project_stays_fast() -> None:
    raw = source("customers", tuple(column(c) for c in RAW_COLUMNS))
    nodes = [raw]
    previous = raw.unique_id
    for index in range(400):  # deeper than a recursive trace could go (three frames a hop): it is iterative
        name = f"m{index}"
        nodes.append(model(name, f"select * from {{{nodes[-1].name if index else 'raw.customers'}}}", (previous,)))
        previous = f"model.payments.{name}"
    lineage = Lineage(project(*nodes))
    started = time.perf_counter()
    (derivation,) = lineage.trace(ColumnRef(previous, "ssn"))
    assert len(derivation.path) == 401 and derivation.upstream == ColumnRef(raw.unique_id, "ssn")
    assert time.perf_counter() - started < 10


def test_relations_unknown_to_the_manifest_are_listed_even_when_lineage_fails() -> None:
    """A correlated subquery over a table without a schema is ambiguous to sqlglot: the node is unresolved, and
    the relation that made it so is still reported (DM007 reads it)."""
    sql = (
        "select customer_id from {stg_customers} "
        "where customer_id not in (select customer_id from ledger.main_published.blocked)"
    )
    node = Lineage(_project(sql)).node("model.payments.out")
    assert node.unresolved is not None
    assert node.unknown_relations == ("ledger.main_published.blocked",)


def test_a_node_without_sql_has_unresolved_node_lineage() -> None:
    lineage = Lineage(_project("select 1 as a"))
    assert lineage.node("source.payments.raw.customers").unresolved is not None
    assert lineage.node("model.payments.missing").unresolved is not None


def test_a_column_that_reads_itself_is_unresolved_not_traced_for_ever() -> None:
    """SQL reading its own relation (an incremental model compiled against ``{{ this }}``) names a column as its
    own ancestor: the trace ends there, unresolved (fail closed), and every column reading it inherits that."""
    raw = source("customers", (column("customer_id"), column("email")))
    loop = model("loop", "select customer_id, email from {loop}", (raw.unique_id,))
    out = model("out", "select email as contact from {loop}", (loop.unique_id,))
    lineage = Lineage(project(raw, loop, out))
    (derivation,) = lineage.trace(ColumnRef(out.unique_id, "contact"))
    assert derivation.unresolved is not None and "loop.email loops back on itself" in derivation.unresolved.reason
    assert derivation.path[0] == ColumnRef(out.unique_id, "contact")

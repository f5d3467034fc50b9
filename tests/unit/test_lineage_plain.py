"""The plain-select reading of lineage (no qualification) finds what sqlglot's lineage finds, or steps aside."""

from __future__ import annotations

import pytest
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from dmesh_dbt.lineage import (
    ColumnRef,
    Hop,
    Input,
    Lineage,
    _lowercases_only,
    _normalized_already,
    _parsed_parts,
    _parts,
    _survey,
    plain_select_columns,
)
from tests.lineage_projects import column, model, project, source
from tests.unit.test_lineage import ADAPTER_CASES, CASES, RAW_COLUMNS

PLAIN = [
    "select customer_id, lower(email) as email, status = 'x' as is_x from {stg_customers}",
    "select c.email as e, upper(c.full_name) as n from {stg_customers} as c",
    "select count(distinct email) as n, max(ssn) as m from {stg_customers} group by status",
    "select lag(ssn) over (partition by email order by customer_id) as prev from {stg_customers}",
    "select email, email is not null as has_email from {stg_customers} where status = 'x'",
    "select missing_column as m from {stg_customers}",
    "select 1 as one, 'a' as a from {stg_customers}",
    'select "Email" as e from {stg_customers}',
    'select "email" as "Mixed Case", e.email || e.email as doubled from {stg_customers} as e',
    "select email, row_number() over (partition by email order by ssn) as rn from {stg_customers} qualify rn = 1",
    "select stg_customers.email as e, sum(amount) filter (where ssn is null) as s from {stg_customers}",
    "select email, status from {out}",  # a self-read, as an incremental model compiles against {{ this }}
]
#: Plain in shape, but a name could mean something else: left to sqlglot's qualification.
AMBIGUOUS = [
    "select email as e, e || 'x' as f from {stg_customers}",  # a lateral alias reference
    "select s.field as f from {stg_customers}",  # a struct field, or another table
    "select email, email from {stg_customers}",  # one name output twice
    "select lower(email) from {stg_customers}",  # unnamed
]


def _lineage(sql: str, adapter: str = "duckdb") -> Lineage:
    raw = source("customers", tuple(column(c) for c in RAW_COLUMNS), adapter)
    stg = model("stg_customers", "select * from {raw.customers}", (raw.unique_id,), adapter=adapter)
    out = model("out", sql, (stg.unique_id,), adapter=adapter)
    return Lineage(project(raw, stg, out, adapter=adapter))


def _both(sql: str, adapter: str = "duckdb") -> tuple[dict[str, set[Hop]] | None, dict[str, set[Hop]]]:
    """(plain reading or None, sqlglot's lineage) of out's columns, each read from its own parse."""
    lineage = _lineage(sql, adapter)
    relation = lineage._relations["model.payments.out"]
    query, _ = lineage._query_of(relation)
    assert query is not None
    plain = plain_select_columns(lineage, query, _survey(query), relation)
    query, _ = lineage._query_of(relation)
    assert query is not None
    full = lineage._sqlglot_columns(query, relation)
    as_sets = lambda columns: {n.lower(): set(h) for n, h in columns.items()}  # noqa: E731
    return (None if plain is None else as_sets(plain)), as_sets(full)


def _is_plain(sql: str, adapter: str = "duckdb") -> bool:
    lineage = _lineage(sql, adapter)
    query, _ = lineage._query_of(lineage._relations["model.payments.out"])
    return query is not None and _survey(query).only_table is not None


#: Every single-relation case of the lineage tests, in each adapter's dialect, and a few more.
SINGLE_TABLE_CASES = [
    *((sql, "duckdb") for sql in PLAIN),
    *((case[1], "duckdb") for case in CASES if _is_plain(case[1])),
    *((case[1], case[0]) for case in ADAPTER_CASES),
]


@pytest.mark.parametrize(("sql", "adapter"), SINGLE_TABLE_CASES)
def test_a_plain_select_reads_as_sqlglot_lineage_reads_it(sql: str, adapter: str) -> None:
    plain, full = _both(sql, adapter)
    assert plain is not None, "expected the plain reading"
    assert plain == full


@pytest.mark.parametrize("sql", AMBIGUOUS)
def test_an_ambiguous_name_leaves_the_query_to_sqlglot(sql: str) -> None:
    plain, _ = _both(sql)
    assert plain is None


@pytest.mark.parametrize(
    "sql",
    [
        "with a as (select * from {stg_customers}) select email from a",
        "select * from {stg_customers}",
        "select a.email from {stg_customers} as a join {stg_customers} as b on a.customer_id = b.customer_id",
        "select (select max(ssn) from {stg_customers}) as m from {stg_customers}",
        "select email from {stg_customers} union all select ssn from {stg_customers}",
    ],
)
def test_anything_but_one_relation_is_not_plain(sql: str) -> None:
    assert not _is_plain(sql)


def test_an_unknown_relation_is_unresolved_on_the_plain_path_too() -> None:
    plain, full = _both("select email, 1 as one from {payments.main.customers}")
    assert plain == full
    assert plain is not None and plain["one"] == set()
    (hop,) = plain["email"]
    assert "which is no relation of the manifest" in str(hop)


@pytest.mark.parametrize(
    ("name", "dialect"),
    [
        ('"warehouse"."main"."stg_payments"', "duckdb"),
        ('"postgres"."Main"."Odd.Name"', "postgres"),
        ('"db"."sch"."a""b"', "postgres"),
        ('"db"."My Schema"."t"', "postgres"),
        ('"Customers"', "duckdb"),
        ("main.customers", "duckdb"),
        ("customers", "duckdb"),
        ("`proj`.`ds`.`tbl`", "bigquery"),
        ("`proj.ds.tbl`", "bigquery"),
        ("`my-proj`.`ds`.`Tbl`", "bigquery"),
    ],
)
def test_relation_names_split_as_sqlglot_reads_them(name: str, dialect: str) -> None:
    assert _parts(name, dialect) == _parsed_parts(name, dialect)


def test_relations_are_read_without_following_columns_and_lineage_still_follows_later() -> None:
    """DM007 asks every model for the relations it reads; only a model a public model reads keeps its parsed SQL,
    and one asked for its lineage afterwards is parsed again rather than reported unresolved."""
    raw = source("customers", tuple(column(c) for c in RAW_COLUMNS))
    private = model(
        "private_mart", "select email from {raw.customers} join {ledger.main.blocked} using (id)", (raw.unique_id,)
    )
    lineage = Lineage(project(raw, private))
    assert lineage.unknown_relations(private.unique_id) == ("ledger.main.blocked",)
    assert private.unique_id not in lineage._nodes and lineage._parsed[private.unique_id].query is None
    node = lineage.node(private.unique_id)
    assert node.unknown_relations == ("ledger.main.blocked",)
    assert node.unresolved is None and node.hops("email") == (Input(ColumnRef(raw.unique_id, "email")),)


@pytest.mark.parametrize(
    ("sql", "adapter"), [*SINGLE_TABLE_CASES, ("SELECT Email AS E FROM {stg_customers}", "duckdb")]
)
def test_identifiers_skipped_by_normalization_are_exactly_what_normalizing_gives(sql: str, adapter: str) -> None:
    """plain_select_columns skips sqlglot's normalization only when it would change nothing: the same tree."""
    lineage = _lineage(sql, adapter)
    query, _ = lineage._query_of(lineage._relations["model.payments.out"])
    assert query is not None
    normalized = normalize_identifiers(query.copy(), dialect=lineage.sql_dialect)
    if _normalized_already(_survey(query), lineage.sql_dialect):  # else normalized, though it may change nothing either
        assert normalized == query


@pytest.mark.parametrize(
    ("sql", "adapter", "skipped"),
    [
        ("select customer_id, lower(email) as email from {stg_customers}", "duckdb", True),
        ("select customer_id, lower(email) as email from {stg_customers}", "postgres", True),
        ("select customer_id, lower(email) as email from {stg_customers}", "bigquery", True),
        ("SELECT Email AS E FROM {stg_customers}", "duckdb", False),
        ('select "Email" as e from {stg_customers}', "postgres", False),
    ],
)
def test_normalization_is_skipped_only_for_lowercase_identifiers(sql: str, adapter: str, skipped: bool) -> None:
    lineage = _lineage(sql, adapter)
    query, _ = lineage._query_of(lineage._relations["model.payments.out"])
    assert query is not None
    assert _normalized_already(_survey(query), lineage.sql_dialect) is skipped


def test_only_dialects_that_lowercase_skip_normalization() -> None:
    """Snowflake uppercases unquoted names: a lowercase one is not normalized, so it is never skipped."""
    from sqlglot.dialects.dialect import Dialect

    assert all(_lowercases_only(Dialect.get_or_raise(d)) for d in ("duckdb", "postgres", "bigquery", "redshift"))
    assert not _lowercases_only(Dialect.get_or_raise("snowflake"))


#: The ambiguous queries in capitals: their names are normalized before the plain reading steps aside.
SHOUTED = [sql.upper().replace("{STG_CUSTOMERS}", "{stg_customers}") for sql in AMBIGUOUS]


@pytest.mark.parametrize("sql", [*AMBIGUOUS, *SHOUTED])
def test_a_query_the_plain_reading_leaves_reads_as_a_fresh_parse_reads_it(sql: str) -> None:
    """When the plain reading steps aside, sqlglot's lineage reads the tree it left (not parsed again when it
    normalized nothing) exactly as it reads the SQL parsed afresh."""
    lineage = _lineage(sql)
    node = lineage.node("model.payments.out")
    fresh = _lineage(sql)
    relation = fresh._relations["model.payments.out"]
    query, _ = fresh._query_of(relation)
    assert node.unresolved is None and query is not None
    assert dict(node.columns) == fresh._sqlglot_columns(query, relation)  # names in their case, hops in order


def test_an_ambiguous_name_over_an_unknown_relation_is_unresolved() -> None:
    """The plain reading steps aside (``e`` may be the alias) and sqlglot cannot qualify a table it has no columns
    for: the whole node is unresolved (fail closed), its unknown relation still listed."""
    sql = "select email as e, e || 'x' as f from {payments.main.customers}"
    plain, _ = _both("select email as e from {payments.main.customers}")
    assert plain is not None and plain["e"] != set()
    node = _lineage(sql).node("model.payments.out")
    assert node.unresolved is not None and "sqlglot cannot follow" in node.unresolved.reason
    assert node.unknown_relations == ("payments.main.customers",)

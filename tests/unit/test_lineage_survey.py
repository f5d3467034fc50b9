"""One walk of a parsed query (``_survey``) finds what a separate ``find_all`` walk per question finds."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from dmesh_dbt.lineage import _DIALECTS, _not_plain, _survey

#: Hostile SQL for the walk: quoted and mixed-case names, a CTE named as a table, a self-read, set operations,
#: subqueries, stars, qualify and windows, table functions; in every adapter's dialect that parses it.
SURVEYED = [
    'select "Email" as e, lower(status) as s from "warehouse"."main"."stg_customers"',
    "SELECT Email AS E FROM Warehouse.Main.Customers",
    "select email from warehouse.main.customers as c where c.status = 'x'",
    "with customers as (select * from warehouse.main.customers) select email from customers",
    'with "Customers" as (select 1 as a) select a from "Customers" join customers using (a)',
    "with a as (with b as (select email from raw.t) select * from b) select * from a",
    "select email from warehouse.main.out union all select email from warehouse.main.out",
    "select email from t1 intersect select email from t2 except select ssn from t3",
    "select (select max(ssn) from warehouse.main.t) as m, email from warehouse.main.t",
    "select email from t where id in (select id from ledger.main.blocked)",
    "select * from warehouse.main.customers",
    "select c.* from warehouse.main.customers as c",
    "select email, row_number() over (partition by email order by id) as rn from t qualify rn = 1",
    "select lag(ssn) over (order by id) as prev from warehouse.main.t",
    "select a.email from t as a join u as b on a.id = b.id",
    "select email from t, lateral (select 1 as x) as l",
    "select x from unnest([1, 2]) as x",
    "select * from (values (1, 'a')) as v(id, name)",
    "select s.field as f from t as s",
    "select list_transform(xs, x -> x + 1) as ys from t",
    "select email from read_csv('x.csv')",
    "select 1 as one",
    "select email from t where email = ?",
]


def _only_table_by_walking(query: exp.Query) -> exp.Table | None:
    """The plain-select test as it was written before the survey: one walk, stopping at the first not-plain node."""
    if not isinstance(query, exp.Select):
        return None
    not_plain = _not_plain()
    tables = []
    for node in query.walk():
        if isinstance(node, not_plain) or (isinstance(node, exp.Select) and node is not query):
            return None
        if isinstance(node, exp.Table):
            tables.append(node)
    source = query.args.get("from_") or query.args.get("from")
    if len(tables) != 1 or source is None or source.this is not tables[0]:
        return None
    return tables[0] if isinstance(tables[0].this, exp.Identifier) else None


def _parsed(sql: str, dialect: str) -> exp.Query:
    try:
        (query,) = sqlglot.parse(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        pytest.skip(f"{dialect} does not parse it")
    if not isinstance(query, exp.Query):
        pytest.skip(f"{dialect} does not read it as a query")
    return query


@pytest.mark.parametrize("dialect", sorted(set(_DIALECTS.values())))
@pytest.mark.parametrize("sql", SURVEYED)
def test_the_survey_finds_what_separate_walks_find(sql: str, dialect: str) -> None:
    query = _parsed(sql, dialect)
    survey = _survey(query)
    assert [id(t) for t in survey.tables] == [id(t) for t in query.find_all(exp.Table)]  # the same nodes, in order
    assert survey.ctes == {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    texts = [identifier.this for identifier in query.find_all(exp.Identifier)]
    assert survey.lowercase == all(isinstance(t, str) and t == t.lower() for t in texts)
    assert survey.only_table is _only_table_by_walking(query)


def test_the_survey_tells_plain_selects_apart() -> None:
    """The corpus holds both kinds, so the comparison above means something."""
    plain = [index for index, sql in enumerate(SURVEYED) if _survey(_parsed(sql, "duckdb")).only_table is not None]
    assert plain == [0, 1, 2, 12, 13, 18]

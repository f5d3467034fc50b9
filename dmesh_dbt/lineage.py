"""Column-level lineage from the compiled SQL in dbt's manifest.

Each model's and snapshot's ``compiled_code`` is parsed once, in the adapter's dialect, and only when asked for
(DM007 reads the relations of every model, from the lineage of a node upstream of a public model; columns are
followed only upstream of the public ones). A plain select from one relation (most staging models) is read straight
off its projections; anything else is qualified against the output columns of the nodes it reads (so ``select *``
expands) and walked with ``sqlglot.lineage`` through CTEs, subqueries, unions, window functions and expressions.
That gives one hop per node: which columns of which parent relation feed each output column. ``Lineage.trace``
chains the hops across nodes back to sources, seeds and snapshots.

Fail closed: whatever cannot be resolved (a node without compiled SQL, SQL sqlglot cannot parse, a relation the
manifest does not know, ``select *`` over unknown columns) is an ``Unresolved`` input, never a clean one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache, cached_property
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import msgspec
import orjson

from dmesh_dbt.artifacts import Column, Model, Project
from dmesh_dbt.lineage_cache import LineageCache

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.lineage import Node as SqlNode
    from sqlglot.parser import Parser
    from sqlglot.tokens import Tokenizer

#: sqlglot's dialect for each dbt adapter type whose name differs, or that sqlglot knows under the same name.
_DIALECTS = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "bigquery": "bigquery",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "databricks": "databricks",
    "spark": "spark",
    "trino": "trino",
}

#: Columns dbt adds to every snapshot; they carry no value of the snapshotted rows.
SNAPSHOT_META_COLUMNS = frozenset({"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted"})

#: How a star projection over columns nobody listed shows in a node's outputs.
_STAR = "*"

_Found = TypeVar("_Found")


def by_lower_name(index: Mapping[str, _Found], name: str) -> _Found | None:
    """``name``'s entry in an index keyed by lowercased names. The name as asked is looked up first: the keys are
    lowercase (and ``str.lower`` of a lowercase name is itself), so only a name that is not lowercase can miss
    there and hit lowercased, and most names are lowercase already (a ``lower()`` saved per traced column)."""
    found = index.get(name)
    return found if found is not None else index.get(name.lower())


class ColumnRef(NamedTuple):
    """One column of one manifest node (model, snapshot, seed or source), as the node's SQL or YAML names it.

    A named tuple, not a dataclass: tracing looks columns up in dicts hundreds of thousands of times at 5,000
    models, and a tuple hashes and compares in C (a dataclass's ``__hash__`` and ``__eq__`` are Python code)."""

    node_id: str
    column: str


class Unresolved(msgspec.Struct, frozen=True):
    """Lineage that could not be followed, and why; treated as PII-bearing by every caller."""

    node_id: str
    reason: str


class Input(NamedTuple):
    """One hop: ``source`` feeds an output column; ``reduced`` when only through an aggregate (count, sum, avg,
    ...), a predicate (a boolean) or a window's partition/order, so no value of ``source`` reaches the output.
    (A named tuple, as ``ColumnRef``: a warm check builds one per hop of every node it reads from the cache.)"""

    source: ColumnRef
    reduced: bool = False


Hop = Input | Unresolved


class NodeLineage(msgspec.Struct, frozen=True, dict=True):
    """The one-hop lineage of a node's output columns; ``unresolved`` when the node's SQL could not be read."""

    node_id: str
    columns: Mapping[str, tuple[Hop, ...]] = msgspec.field(default_factory=lambda: MappingProxyType({}))
    unresolved: Unresolved | None = None
    #: Tables the SQL reads that are no relation of the manifest (``database.schema.table`` as written).
    unknown_relations: tuple[str, ...] = ()

    def output_columns(self) -> tuple[str, ...]:
        # Every node's, once a check reads its children's lineage: skip the filter when there is no star.
        return tuple(self.columns) if _STAR not in self.columns else tuple(n for n in self.columns if n != _STAR)

    def hops(self, column: str) -> tuple[Hop, ...] | None:
        """The inputs of ``column`` (case-insensitive); None when the SQL does not output it."""
        if self.unresolved is not None:
            return (self.unresolved,)
        found = by_lower_name(self._by_lower_name, column)
        return found if found is not None else self.columns.get(_STAR)

    @cached_property
    def _by_lower_name(self) -> Mapping[str, tuple[Hop, ...]]:
        """The columns by lowercased name, the first of names equal but for case winning (DM011 asks for
        every public column several times)."""
        names = "\0".join(self.columns)
        if names == names.lower():  # every name lowercase already (most SQL): the columns are their own index
            return self.columns
        index: dict[str, tuple[Hop, ...]] = {}
        for name, hops in self.columns.items():
            index.setdefault(name.lower(), hops)
        return index


class Derivation(NamedTuple):
    """How a column derives from one upstream column: ``path`` runs from the column itself to the upstream one
    (its last element); ``unresolved`` says why the trail ends there when it could not be followed further.
    (A named tuple, as ``ColumnRef``: tracing builds one per column and upstream column it reaches.)"""

    path: tuple[ColumnRef, ...]
    reduced: bool = False
    unresolved: Unresolved | None = None

    @property
    def upstream(self) -> ColumnRef:
        return self.path[-1]


class _Relation(NamedTuple):
    """A manifest node as a relation the SQL can read. (A named tuple: every check makes one per node, and a frozen
    dataclass's ``__init__`` costs three times as much.)"""

    node_id: str
    name: str
    parts: tuple[str, ...]  # (database, schema, identifier), lowercased, as far as the relation name has them
    declared: tuple[Column, ...]
    compiled_code: str | None
    has_sql: bool
    depends_on: tuple[str, ...]
    extra_columns: frozenset[str] = frozenset()


class _Parsed(NamedTuple):
    """A node's compiled SQL as one parsed query (None, and why not, when it is none), what one walk of it found,
    and the relations it reads that the manifest does not know. (A named tuple, as ``_Relation``: a warm check
    makes one per node from the cache.)"""

    query: exp.Query | None
    problem: str
    unknown_relations: tuple[str, ...]
    survey: _Survey | None = None


def _without_tree(unknown_relations: tuple[str, ...]) -> _Parsed:
    """What a node read from the cache keeps of its parse: the unknown relations, no tree and no problem (its
    ``survey`` default spelled out: ``tuple.__new__`` skips the generated ``__new__``, one per node of a warm check)."""
    return _new_tuple(_Parsed, (None, "", unknown_relations, None))


class _Survey(NamedTuple):
    """What one walk of a parsed query finds, for every question asked of it before its lineage is read (a walk
    per question, four of them, cost a cold check about as much as parsing did)."""

    tables: tuple[exp.Table, ...]  # every table node, breadth first (as ``find_all`` yields them)
    ctes: frozenset[str]  # the names of its CTEs, lowercased
    only_table: exp.Table | None  # the one relation of a plain select (see ``_survey``), else None
    lowercase: bool  # every identifier's text is a string and lowercase already


Stop = Callable[[ColumnRef], bool]


#: One hop of a column being traced, and the column the trace goes on through (None where it ends): a plain
#: pair, as a warm 5,000-model check makes one per hop it follows (a frozen dataclass costs a Python call each).
_Step = tuple[Hop, ColumnRef | None]


class Lineage:
    """Column lineage of one project's manifest; every node is parsed at most once, on first use."""

    def __init__(self, project: Project, cache: LineageCache | None = None) -> None:
        self.project = project
        #: Where nodes' lineage computed by an earlier run is reused (each entry keyed by all it was computed from).
        self.cache = cache
        self.dialect = _DIALECTS.get(project.adapter_type)
        self._relations = {r.node_id: r for r in _relations(project, self.dialect)}
        self._by_parts: dict[tuple[str, ...], list[str]] = {}
        for relation in self._relations.values():
            for size in range(1, len(relation.parts) + 1):
                self._by_parts.setdefault(relation.parts[-size:], []).append(relation.node_id)
        self._nodes: dict[str, NodeLineage] = {}
        self._parsed: dict[str, _Parsed] = {}
        self._public_ancestry: frozenset[str] | None = None
        self._traces: dict[Stop, dict[ColumnRef, tuple[Derivation, ...]]] = {}
        #: Per node, what each relation name its SQL reads resolved to: a cached entry holds only while the
        #: manifest still resolves every one of them the same way.
        self._resolved: dict[str, dict[tuple[str, ...], str | None]] = {}
        self._sql_digests: dict[str, str] = {}

    @cached_property
    def sql_dialect(self) -> Dialect:
        """sqlglot's dialect, made once: named by a string, sqlglot looks it up and builds it again at every parse
        and normalization (a tenth of a cold check's parsing)."""
        from sqlglot.dialects.dialect import Dialect

        return Dialect.get_or_raise(self.dialect)

    @cached_property
    def _sql_reader(self) -> tuple[Tokenizer, Parser]:
        """One tokenizer and one parser for every node: ``sqlglot.parse`` builds both anew at each call (their
        tables, a tenth of a cold check's parsing), and each resets all its state before it reads."""
        return self.sql_dialect.tokenizer(), self.sql_dialect.parser()

    def name(self, node_id: str) -> str:
        """The node's name as a user reads it (``customers``, ``raw.customers`` for a source)."""
        relation = self._relations.get(node_id)
        return relation.name if relation else node_id

    def display(self, ref: ColumnRef) -> str:
        return f"{self.name(ref.node_id)}.{ref.column}"

    def declared_columns(self, node_id: str) -> tuple[Column, ...]:
        relation = self._relations.get(node_id)
        return relation.declared if relation else ()

    def node(self, node_id: str) -> NodeLineage:
        """The one-hop lineage of a model or snapshot (parents first, each once)."""
        if node_id not in self._nodes:
            for pending in self._unparsed_ancestry(node_id):
                self._nodes[pending] = self._cached_or_parsed(pending)
        if node_id not in self._nodes:  # a source, a seed, or no node of the manifest: no SQL to read
            return NodeLineage(node_id, unresolved=Unresolved(node_id, f"{self.name(node_id)} has no SQL"))
        return self._nodes[node_id]

    def unknown_relations(self, node_id: str) -> tuple[str, ...]:
        """Tables the node's SQL reads that are no relation of the manifest: from its lineage when a public model
        reads it (computed for DM011 anyway), else from its parsed SQL alone, without following its columns."""
        relation = self._relations.get(node_id)
        if relation is None or not relation.has_sql:
            return ()
        if node_id in self._upstream_of_public():
            # Its lineage is read anyway (DM011 follows every public column upstream), and records the same unknown
            # relations: one parse, and one cache entry, per node rather than two.
            return self.node(node_id).unknown_relations
        if self.cache is None or not relation.compiled_code or node_id in self._parsed:
            return self._parsed_sql(relation).unknown_relations
        name, digest = f"relations:{node_id}", self._sql_digest(relation)
        cached = _decode_relations(self.cache.get(name, digest))
        if cached is not None and self._still_resolves(relation, cached[1]):
            self.cache.hits += 1
            self._parsed[node_id] = _without_tree(cached[0])
            return cached[0]
        self.cache.misses += 1
        unknown = self._parsed_sql(relation).unknown_relations
        self.cache.put(name, digest, {"unknown": list(unknown), "resolved": self._resolutions(node_id)})
        return unknown

    def trace(self, column: ColumnRef, stop: Stop | None = None) -> tuple[Derivation, ...]:
        """Every upstream column ``column`` derives from, with the path, back to columns of nodes without SQL
        (sources, seeds) or to the first column ``stop`` accepts; a column fed by nothing (a constant) has none.
        Memoised per column (and ``stop``): a chain that feeds many columns is traced once."""
        stop = stop or _never
        # Keys compare by equality (a bound method is a new object at each access).
        traced = self._traces.setdefault(stop, {})
        done = traced.get(column)
        if done is not None:
            return done
        # Upstream columns first, from an explicit stack: a chain of hundreds of models must not exhaust Python's
        # recursion limit. A column is looked at twice: first its hops are read (once) and the upstream columns
        # followed are pushed above it; when it is on top again, all of them are traced and it is derived.
        pending = [column]
        steps: dict[ColumnRef, tuple[_Step, ...] | None] = {}
        while pending:
            current = pending[-1]
            if current in traced:
                pending.pop()
            elif current in steps:
                pending.pop()
                traced[current] = self._derive(current, steps.pop(current), traced)
            else:
                found = steps[current] = self._steps(current, stop)
                for _, followed in found or ():
                    if followed is not None and followed not in traced:
                        pending.append(followed)
        return traced[column]

    # ------------------------------------------------------------------------------------------- tracing

    def _steps(self, column: ColumnRef, stop: Stop) -> tuple[_Step, ...] | None:
        """The hops of ``column``, each with the source the trace goes on through (a column of a node with SQL
        that ``stop`` does not accept); () for a column of a node without SQL, None when the SQL does not output it."""
        node = self._nodes.get(column.node_id)
        if node is None:  # only nodes with SQL are read (a trace's first column may be of a source or seed)
            relation = self._relations.get(column.node_id)
            if relation is None or not relation.has_sql:
                return ()
            node = self.node(column.node_id)
        hops = node.hops(column.column)
        if hops is None:
            return None
        relations = self._relations
        steps: list[_Step] = []
        for hop in hops:
            if type(hop) is Input:
                source = hop.source
                parent = relations.get(source.node_id)
                if parent is not None and parent.has_sql and not stop(source):
                    steps.append((hop, source))
                    continue
            steps.append((hop, None))
        return tuple(steps)

    def _derive(
        self, column: ColumnRef, steps: tuple[_Step, ...] | None, traced: Mapping[ColumnRef, tuple[Derivation, ...]]
    ) -> tuple[Derivation, ...]:
        """``column``'s derivations from its steps, the columns they follow traced already (in ``traced``): of
        those ending at the same upstream column, as reduced and as unresolved, the shortest (the first met of
        equal length)."""
        if steps is None:
            reason = f"{self.name(column.node_id)} does not output a column {column.column}"
            return (Derivation((column,), unresolved=Unresolved(column.node_id, reason)),)
        if len(steps) == 1 and not (type(steps[0][0]) is Input and steps[0][0].reduced):
            # One hop that reduces nothing (most columns): its derivations are the upstream column's, one step
            # longer, each still ending at a column, as reduced and as unresolved as before; those were kept and
            # sorted already, and prepending a column changes neither.
            hop, followed = steps[0]
            upstream = traced.get(followed) if followed is not None else None
            if upstream is not None and len(upstream) == 1:
                path, reduced, unresolved = upstream[0]
                return (_new_tuple(Derivation, ((column, *path), reduced, unresolved)),)
            if upstream is not None:
                return tuple([_new_tuple(Derivation, ((column, *d[0]), d[1], d[2])) for d in upstream])
            return tuple(self._through(column, hop, followed, traced))
        found: dict[tuple[ColumnRef, bool, Unresolved | None], Derivation] = {}
        for hop, followed in steps:
            for derivation in self._through(column, hop, followed, traced):
                path, reduced, unresolved = derivation
                key = (path[-1], reduced, unresolved)
                kept = found.get(key)
                if kept is None or len(path) < len(kept.path):
                    found[key] = derivation
        if len(found) < 2:
            return tuple(found.values())
        # sqlglot collects a projection's columns in a set: sort, so messages name the same column every run.
        return tuple(sorted(found.values(), key=lambda d: (d.path[-1], d.reduced, d.unresolved is not None)))

    def _through(
        self,
        column: ColumnRef,
        hop: Hop,
        followed: ColumnRef | None,
        traced: Mapping[ColumnRef, tuple[Derivation, ...]],
    ) -> Iterable[Derivation]:
        """The derivations of ``column`` through one hop. Built with ``tuple.__new__``: a Derivation's generated
        ``__new__`` is Python code, and a warm 5,000-model check builds about 50,000 of them."""
        if type(hop) is Unresolved:
            return (_new_tuple(Derivation, ((column,), False, hop)),)
        assert isinstance(hop, Input)
        if followed is None:
            return (_new_tuple(Derivation, ((column, hop.source), hop.reduced, None)),)
        upstream_derivations = traced.get(followed)
        if upstream_derivations is None:
            # Not traced before ``column``: the column is its own ancestor (SQL reading its own relation), a loop
            # no derivation ends; fail closed.
            reason = f"the lineage of {self.display(followed)} loops back on itself"
            return (Derivation((column, followed), hop.reduced, Unresolved(followed.node_id, reason)),)
        reduced = hop.reduced
        return [
            _new_tuple(Derivation, ((column, *path), reduced or upstream_reduced, unresolved))
            for path, upstream_reduced, unresolved in upstream_derivations
        ]

    # ------------------------------------------------------------------------------------------- the cache

    def _cached_or_parsed(self, node_id: str) -> NodeLineage:
        """The node's lineage from the cache when computed there from all the same inputs, else parsed (and
        stored). Parents come first, so the columns they output are known when the key is made."""
        relation = self._relations[node_id]
        if self.cache is None or not relation.compiled_code:
            return self._parse(node_id)
        name, digest = f"lineage:{node_id}", self._lineage_digest(relation)
        cached = _decode_node(self.cache.get(name, digest), node_id, relation.depends_on)
        if cached is not None and self._still_resolves(relation, cached[1]):
            self.cache.hits += 1
            if node_id not in self._parsed:
                self._parsed[node_id] = _without_tree(cached[0].unknown_relations)
            return cached[0]
        self.cache.misses += 1
        node = self._parse(node_id)
        self.cache.put(name, digest, _encode_node(node, self._resolutions(node_id), relation.depends_on))
        return node

    def _sql_digest(self, relation: _Relation) -> str:
        """What the relations a node's SQL reads follow from (besides how the manifest resolves their names);
        made once per node, though both of its entries start from it."""
        digest = self._sql_digests.get(relation.node_id)
        if digest is None:
            fields = [self.dialect, relation.node_id, relation.name, relation.compiled_code, relation.depends_on]
            digest = self._sql_digests[relation.node_id] = hashlib.sha256(orjson.dumps(fields)).hexdigest()
        return digest

    def _lineage_digest(self, relation: _Relation) -> str:
        """What a node's lineage follows from: its SQL and the columns of every parent it is qualified against."""
        relations = self._relations  # one comprehension, no generator inside it: asked for every node
        parents = [
            [p, relations[p].parts, self._columns_of(relations[p])] for p in relation.depends_on if p in relations
        ]
        fields = [self._sql_digest(relation), sorted(relation.extra_columns), parents]
        return hashlib.sha256(orjson.dumps(fields)).hexdigest()

    def _resolutions(self, node_id: str) -> list[list[object]]:
        return [[list(parts), found] for parts, found in self._resolved.get(node_id, {}).items()]

    def _still_resolves(self, relation: _Relation, resolved: list[tuple[tuple[str, ...], str | None]]) -> bool:
        """Whether every relation name the node's SQL read names the same node (or none) in this manifest."""
        # A loop, not all() over a generator: asked for every node of a warm check, mostly of one name, where the
        # generator's set-up cost more than the look-up.
        for parts, found in resolved:  # noqa: SIM110
            if self._resolve_parts(parts, relation) != found:
                return False
        return True

    # ------------------------------------------------------------------------------------------- parsing

    def _unparsed_ancestry(self, node_id: str) -> list[str]:
        """``node_id`` and its unparsed ancestors with SQL, parents before children (iterative: DAGs run deep)."""
        order: list[str] = []
        seen: set[str] = set()
        stack: list[tuple[str, bool]] = [(node_id, False)]
        while stack:
            current, expanded = stack.pop()
            if expanded:
                order.append(current)
                continue
            if current in seen or current in self._nodes:
                continue
            seen.add(current)
            relation = self._relations.get(current)
            if relation is None or not relation.has_sql:
                continue
            stack.append((current, True))
            stack.extend([(parent, False) for parent in relation.depends_on if parent not in seen])
        return order

    def _parse(self, node_id: str) -> NodeLineage:
        relation = self._relations[node_id]
        parsed = self._parsed_sql(relation, tree=True)
        query, problem, unknown, survey = parsed
        # Walked (and qualified in place) once, then dropped.
        self._parsed[node_id] = parsed._replace(query=None, survey=None)
        if query is None or survey is None:
            return NodeLineage(node_id, unresolved=Unresolved(node_id, problem), unknown_relations=unknown)
        try:
            columns = self._columns_from(query, survey, relation)
        except Exception as error:  # noqa: BLE001 - sqlglot raises many types; any failure must fail closed
            reason = f"sqlglot cannot follow the SQL of {relation.name} ({type(error).__name__}: {error})"
            return NodeLineage(node_id, unresolved=Unresolved(node_id, reason[:300]), unknown_relations=unknown)
        return NodeLineage(node_id, MappingProxyType(columns), unknown_relations=unknown)

    def _parsed_sql(self, relation: _Relation, tree: bool = False) -> _Parsed:
        """The node's SQL parsed, with the unknown relations it reads (read before lineage: a relation the
        manifest does not know is often why lineage fails, and DM007 must see it all the same). Parsed once, unless
        ``tree`` asks again for a tree dropped since (only a node no public model reads drops it)."""
        cached = self._parsed.get(relation.node_id)
        if cached is not None and (cached.query is not None or cached.problem or not tree):
            return cached
        if not relation.compiled_code:
            reason = f"{relation.name} has no compiled SQL in the manifest; run `dbt compile` (or `dbt build`) first"
            return _Parsed(None, reason, ())
        query, problem = self._query_of(relation)
        survey = _survey(query) if query is not None else None
        unknown = self._unknown_relations(survey, relation) if survey is not None else ()
        # Kept only for a node whose columns a public model may read: the others' trees would only fill memory.
        parsed = _Parsed(query, problem, unknown, survey)
        keep = relation.node_id in self._upstream_of_public()
        self._parsed[relation.node_id] = parsed if keep else parsed._replace(query=None, survey=None)
        return parsed

    def _upstream_of_public(self) -> frozenset[str]:
        """The public models and every node upstream of one: the nodes whose columns DM011 follows."""
        if self._public_ancestry is None:
            pending = [m.unique_id for m in self.project.public_models]
            seen: set[str] = set()
            while pending:
                current = pending.pop()
                if current in seen:
                    continue
                seen.add(current)
                relation = self._relations.get(current)
                pending.extend(relation.depends_on if relation is not None else ())
            self._public_ancestry = frozenset(seen)
        return self._public_ancestry

    def _query_of(self, relation: _Relation) -> tuple[exp.Query | None, str]:
        """The node's compiled SQL as one parsed query, or None and why not."""
        from sqlglot import exp

        sql = relation.compiled_code or ""
        tokenizer, parser = self._sql_reader
        try:
            statements = [s for s in parser.parse(tokenizer.tokenize(sql), sql) if s is not None]
        except Exception as error:  # noqa: BLE001 - as above: a parse failure is unresolved lineage
            return None, f"sqlglot cannot parse the SQL of {relation.name} ({type(error).__name__}: {error})"[:300]
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            return None, f"the compiled SQL of {relation.name} is not one query"
        return statements[0], ""

    def _columns_from(self, query: exp.Query, survey: _Survey, relation: _Relation) -> dict[str, tuple[Hop, ...]]:
        columns = None if survey.only_table is None else plain_select_columns(self, query, survey, relation)
        if columns is None and survey.only_table is not None and not _normalized_already(survey, self.sql_dialect):
            # plain_select_columns normalized the names in place: sqlglot's qualification starts from the SQL.
            query = self._query_of(relation)[0] or query
        if columns is None:
            columns = self._sqlglot_columns(query, relation)
        for extra in relation.extra_columns:
            columns.setdefault(extra, ())
        return columns

    def _sqlglot_columns(self, query: exp.Query, relation: _Relation) -> dict[str, tuple[Hop, ...]]:
        """Every output column's hops through ``sqlglot.lineage``: any query, at the cost of qualifying it."""
        from sqlglot.lineage import lineage

        schema = self._schema_for(relation)
        # trim_selects=False: trimming copies the whole select for every hop, half the time, for display only.
        roots = (
            lineage(None, query, schema, dialect=self.sql_dialect, copy=False, trim_selects=False)
            if query.selects
            else {}
        )
        walker = _Walker(self, relation)
        return {name: tuple(walker.hops(root)) for name, root in roots.items()}

    def _schema_for(self, relation: _Relation) -> dict[str, object]:
        """The columns of the relations the node depends on, nested as sqlglot's MappingSchema wants them (every
        table at one depth: relation names with fewer parts than the others are left out, a rare mix)."""
        parents = [self._relations[p] for p in relation.depends_on if p in self._relations]
        depth = max((len(p.parts) for p in parents), default=0)
        schema: dict[str, object] = {}
        for parent in parents:
            columns = self._columns_of(parent) if len(parent.parts) == depth else ()
            if not columns:
                continue
            level = schema
            for part in parent.parts[:-1]:
                level = level.setdefault(part, {})  # type: ignore[assignment]
            level[parent.parts[-1]] = {name: "unknown" for name in columns}
        return schema

    def _columns_of(self, relation: _Relation) -> tuple[str, ...]:
        if relation.has_sql:
            parsed = self.node(relation.node_id)
            if parsed.unresolved is None and _STAR not in parsed.columns:
                return parsed.output_columns()
        return tuple(c.name for c in relation.declared)

    def resolve(self, table: exp.Table, reader: _Relation) -> str | None:
        """The node a table of ``reader``'s SQL names, matching its relation name from the right."""
        parts = tuple(p.lower() for p in (table.catalog, table.db, table.name) if p)
        found = self._resolve_parts(parts, reader)
        self._resolved.setdefault(reader.node_id, {})[parts] = found
        return found

    def _resolve_parts(self, parts: tuple[str, ...], reader: _Relation) -> str | None:
        candidates = self._by_parts.get(parts, [])
        if len(candidates) > 1:
            candidates = [c for c in candidates if c in reader.depends_on] or candidates
        return candidates[0] if len(candidates) == 1 else None

    def _unknown_relations(self, survey: _Survey, relation: _Relation) -> tuple[str, ...]:
        from sqlglot import exp

        ctes = survey.ctes
        unknown = []
        for table in survey.tables:
            if not isinstance(table.this, exp.Identifier) or (not table.db and table.name.lower() in ctes):
                continue
            if self.resolve(table, relation) is None:
                unknown.append(".".join(p for p in (table.catalog, table.db, table.name) if p))
        return tuple(dict.fromkeys(unknown))


def plain_select_columns(
    lineage: Lineage, query: exp.Query, survey: _Survey, relation: _Relation
) -> dict[str, tuple[Hop, ...]] | None:
    """Each output column's hops for a plain select from one table alone (``_Survey.only_table``: named
    projections of expressions over its columns; no join, CTE, subquery, union, star or table function), read
    straight off the projections as ``sqlglot.lineage`` finds them, without qualifying the query (most of its
    cost); None when the query is not that plain, a name is ambiguous (a struct field, another projection's alias)
    or a projection unnamed. Normalizes the query's names in place, as qualifying would (unless that would change
    none): they resolve as the engine resolves them."""
    table = survey.only_table
    if table is None:
        return None
    if not _normalized_already(survey, lineage.sql_dialect):
        from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

        normalize_identifiers(query, dialect=lineage.sql_dialect)
    alias_type, column_type, _ = _projection_types()
    projections: dict[str, exp.Expr] = {}
    for projection in query.selects:
        aliased = isinstance(projection, alias_type)
        name = projection.alias if aliased else projection.name
        if not (aliased or isinstance(projection, column_type)) or not name or name in projections:
            return None  # unnamed (sqlglot names it _col_N) or output twice
        projections[name] = projection
    qualifiers = {table.name, table.alias_or_name}
    node_id = lineage.resolve(table, relation)
    if node_id is None:
        return _unknown_table_columns(projections, qualifiers, table, relation)
    columns: dict[str, tuple[Hop, ...]] = {}
    for name, projection in projections.items():
        occurrences = _table_columns(projection, projections, qualifiers)
        if occurrences is None:
            return None
        # Built with tuple.__new__ (as a warm check's decoding does): a named tuple's own __new__ is Python code.
        columns[name] = tuple(
            [
                _new_tuple(Input, (_new_tuple(ColumnRef, (node_id, column)), _all_reduced(found, projection)))
                for column, found in occurrences.items()
            ]
        )
    return columns


def _unknown_table_columns(
    projections: Mapping[str, exp.Expr], qualifiers: set[str], table: exp.Table, relation: _Relation
) -> dict[str, tuple[Hop, ...]] | None:
    """``plain_select_columns`` of a table the manifest does not know: every column read from it unresolved."""
    written = ".".join(p for p in (table.catalog, table.db, table.name) if p)
    unknown = Unresolved(relation.node_id, f"{relation.name} reads {written}, which is no relation of the manifest")
    columns: dict[str, tuple[Hop, ...]] = {}
    for name, projection in projections.items():
        occurrences = _table_columns(projection, projections, qualifiers)
        if occurrences is None:
            return None
        columns[name] = (unknown,) if occurrences else ()
    return columns


def _all_reduced(occurrences: list[exp.Column], projection: exp.Expr) -> bool:
    """Whether every occurrence of a column in a projection reaches it reduced (most columns occur once)."""
    if len(occurrences) == 1:
        return _is_reduced(occurrences[0], projection)
    return all(_is_reduced(c, projection) for c in occurrences)


def _normalized_already(survey: _Survey, dialect: Dialect) -> bool:
    """Whether normalizing the surveyed query's identifiers would change none: the dialect only ever lowercases
    them and every one is lowercase already (dbt's relation names, most SQL). Checking costs a fraction of
    normalizing, which calls back into Python for each identifier."""
    return survey.lowercase and _lowercases_only(dialect)


#: sqlglot's ``normalize_identifier`` methods that, under a lowercase or case-insensitive strategy, either leave an
#: identifier or lowercase it (the base dialect's, and BigQuery's, which leaves qualified table names alone).
_LOWERCASING = frozenset({("sqlglot.dialects.dialect", "Dialect"), ("sqlglot.dialects.bigquery", "BigQuery")})


def _lowercases_only(dialect: Dialect) -> bool:
    """Whether ``dialect`` normalizes an identifier by lowercasing it or not at all (never uppercasing, never
    anything else): then an identifier that is lowercase already is normalized."""
    return _lowercasing(type(dialect), dialect.normalization_strategy)


@cache
def _lowercasing(dialect_type: type[Dialect], strategy: object) -> bool:
    """``_lowercases_only`` of a dialect's class and strategy, all it depends on: worked out once, not per node."""
    from sqlglot.dialects.dialect import NormalizationStrategy

    method = dialect_type.normalize_identifier
    owner = (method.__module__, method.__qualname__.rpartition(".")[0])
    lowering = (NormalizationStrategy.LOWERCASE, NormalizationStrategy.CASE_INSENSITIVE)
    return owner in _LOWERCASING and strategy in lowering


def _survey(query: exp.Query) -> _Survey:
    """One breadth-first walk of ``query``: its tables, its CTEs' names, whether every identifier is lowercase,
    and the one relation it reads when it is a plain select (a select of one table, with none of ``_kind``'s
    not-plain nodes and no select inside it). A node is told apart by its type, classified once per type."""
    from sqlglot import exp

    kinds = _KINDS
    tables: list[exp.Table] = []
    ctes: set[str] = set()
    plain, lowercase = isinstance(query, exp.Select), True
    for node in query.walk():
        kind = kinds[type(node)]
        if not kind:
            continue
        if kind & _NOT_PLAIN or (kind & _SELECT and node is not query):
            plain = False
        if kind & _TABLE:
            tables.append(node)  # type: ignore[arg-type]
        if kind & _IDENTIFIER and lowercase:
            text = node.this
            lowercase = isinstance(text, str) and text == text.lower()
        if kind & _CTE:
            ctes.add(node.alias_or_name.lower())
    return _Survey(tuple(tables), frozenset(ctes), _plain_table(query, tables) if plain else None, lowercase)


def _plain_table(query: exp.Query, tables: list[exp.Table]) -> exp.Table | None:
    """The table a select with no not-plain node reads, when it reads one table, by name, in its FROM."""
    from sqlglot import exp

    source = query.args.get("from_") or query.args.get("from")
    if len(tables) != 1 or source is None or source.this is not tables[0]:
        return None
    return tables[0] if isinstance(tables[0].this, exp.Identifier) else None


#: What a node of a given type is to ``_survey``: flags, combined.
_TABLE, _IDENTIFIER, _CTE, _NOT_PLAIN, _SELECT = 1, 2, 4, 8, 16


def _kind(node_type: type) -> int:
    """A node type's flags for ``_survey`` (``_KINDS`` keeps them per type)."""
    from sqlglot import exp

    flags = ((_not_plain(), _NOT_PLAIN), (exp.Select, _SELECT), (exp.Table, _TABLE), (exp.Identifier, _IDENTIFIER))
    kind = 0
    for types, flag in (*flags, (exp.CTE, _CTE)):
        if issubclass(node_type, types):
            kind |= flag
    return kind


def _not_plain() -> tuple[type[exp.Expr], ...]:
    """The nodes that make a select more than a plain select of one table's columns (besides a select in it)."""
    from sqlglot import exp

    return (
        exp.Star,
        exp.Subquery,
        exp.SetOperation,
        exp.Join,
        exp.Lateral,
        exp.Unnest,
        exp.With,
        exp.CTE,
        exp.Values,
        exp.Pivot,
        exp.UDTF,
        exp.Dot,
        exp.Lambda,
        exp.Placeholder,
    )


def _table_columns(
    projection: exp.Expr, projections: Mapping[str, exp.Expr], qualifiers: set[str]
) -> dict[str, list[exp.Column]] | None:
    """The table's columns one projection reads, each with its occurrences; None when a column may name something
    else (a struct field, another projection's alias)."""
    alias_type, column_type, identifier_type = _projection_types()
    occurrences: dict[str, list[exp.Column]] = {}
    inner = projection.this if isinstance(projection, alias_type) else projection
    # A projection that is a column (most of them) is its only column: no walk of the tree under it.
    for column in (inner,) if isinstance(inner, column_type) else projection.find_all(column_type):
        args = column.args
        identifier = args.get("this")
        if args.get("db") or args.get("catalog") or not isinstance(identifier, identifier_type):
            return None
        name = identifier.this  # column.name, read without its property: the identifier's text
        qualifier = column.table
        if qualifier and qualifier not in qualifiers:
            return None
        aliased = projections.get(name)
        if not qualifier and aliased is not None and aliased is not projection and not _passes(aliased):
            return None  # may be that projection (a lateral alias reference), which qualifying expands
        found = occurrences.get(name)
        if found is None:
            occurrences[name] = [column]
        else:
            found.append(column)
    return occurrences


@cache
def _projection_types() -> tuple[type[exp.Alias], type[exp.Column], type[exp.Identifier]]:
    """sqlglot's alias, column and identifier types, for ``_table_columns`` (run for every projection: importing
    them there each time costs more than the rest of its work on a plain column)."""
    from sqlglot import exp

    return exp.Alias, exp.Column, exp.Identifier


def _passes(projection: exp.Expr) -> bool:
    """``x`` or ``x as x``: a projection that outputs a column of the table under its own name."""
    from sqlglot import exp

    inner = projection.this if isinstance(projection, exp.Alias) else projection
    return isinstance(inner, exp.Column) and not inner.table and inner.name == projection.alias_or_name


class _Walker:
    """Turns sqlglot's lineage tree of one output column into hops to parent relations."""

    def __init__(self, lineage: Lineage, relation: _Relation) -> None:
        self.lineage = lineage
        self.relation = relation

    def hops(self, root: SqlNode) -> Iterator[Hop]:
        seen: set[Hop] = set()
        for hop in self._walk(root, False):
            if hop not in seen:
                seen.add(hop)
                yield hop

    def _walk(self, node: SqlNode, reduced: bool) -> Iterator[Hop]:
        from sqlglot import exp

        for child in node.downstream:
            if child.name == _STAR or child.name.endswith(f".{_STAR}"):
                yield self._star(child)
                continue
            through = reduced or _reduces(node, child, self.lineage.dialect)
            if isinstance(child.expression, exp.Table):
                yield self._leaf(child, through)
            elif isinstance(child.expression, exp.Placeholder):
                reason = f"{self.relation.name} reads {child.name} from no relation it can name"
                yield Unresolved(self.relation.node_id, reason)
            else:
                yield from self._walk(child, through)

    def _leaf(self, leaf: SqlNode, reduced: bool) -> Hop:
        from sqlglot import exp

        table = leaf.expression
        assert isinstance(table, exp.Table)
        node_id = self.lineage.resolve(table, self.relation)
        if node_id is None:
            written = ".".join(p for p in (table.catalog, table.db, table.name) if p)
            reason = f"{self.relation.name} reads {written}, which is no relation of the manifest"
            return Unresolved(self.relation.node_id, reason)
        return Input(ColumnRef(node_id, _identifier_path(leaf.name)[-1]), reduced)

    def _star(self, star: SqlNode) -> Unresolved:
        from sqlglot import exp

        source = star.expression
        written = source.sql(dialect=self.lineage.dialect) if isinstance(source, exp.Table) else "a subquery"
        reason = f"{self.relation.name} selects * from {written}, whose columns the manifest does not list"
        return Unresolved(self.relation.node_id, reason)


def _reduces(parent: SqlNode, child: SqlNode, dialect: str | None) -> bool:
    """Whether ``child``'s column reaches ``parent``'s projection only through an aggregate, a predicate or a
    window's partition/order: then no value of it survives."""
    from sqlglot import exp

    table, column = _child_column(child, dialect)
    occurrences = [c for c in parent.expression.find_all(exp.Column) if c.name == column]
    matching = [c for c in occurrences if not table or c.table == table] or occurrences
    return bool(matching) and all(_is_reduced(c, parent.expression) for c in matching)


def _child_column(child: SqlNode, dialect: str | None) -> tuple[str, str]:
    from sqlglot import exp

    if isinstance(child.expression, exp.Table):
        parts = _identifier_path(child.name)
        return (parts[-2] if len(parts) > 1 else ""), parts[-1]
    table, _, column = child.name.rpartition(".")
    return table, column


#: One part of a dotted SQL name: "quoted" (doubled quotes escape), `backticked`, [bracketed] or bare. Text,
#: compiled on first use (``re``'s cache): only a node parsed afresh gets here, never a warm check (issue 16).
_NAME_PART = r'"((?:[^"]|"")*)"|`((?:[^`]|``)*)`|\[([^\]]*)\]|([^."`\[]+)'


def _identifier_path(text: str) -> list[str]:
    """``"t"."Full Name"`` as ``["t", "Full Name"]``: sqlglot's lineage names leaves by the column's SQL, and
    splitting it here is much cheaper than parsing it again."""
    parts = []
    for match in re.finditer(_NAME_PART, text):
        quoted, backticked, bracketed, bare = match.groups()
        if quoted is not None:
            parts.append(quoted.replace('""', '"'))
        elif backticked is not None:
            parts.append(backticked.replace("``", "`"))
        else:
            parts.append(bracketed if bracketed is not None else bare)
    return parts or [text]


def _is_reduced(column: exp.Expr, root: exp.Expr) -> bool:
    roles = _REDUCING_ROLES
    child: exp.Expr = column
    node = column.parent
    while node is not None:
        role = roles[type(node)]
        if role == _REDUCES:
            return True
        if role == _ORDERS and child is not node.this:
            return True  # a partition or order key: it orders rows, its values are not output
        if node is root:
            return False
        child, node = node, node.parent
    return False


#: A node's role to a column beneath it (``_reducing_role``): none, reducing it, or a window (whose partition
#: and order keys reduce too).
_PASSES, _REDUCES, _ORDERS = 0, 1, 2


def _reducing_role(node_type: type) -> int:
    """A node type's role to a column beneath it (``_REDUCING_ROLES`` keeps them per type)."""
    from sqlglot import exp

    reducing = (
        exp.Predicate,
        exp.Connector,
        exp.Not,
        exp.Count,
        exp.CountIf,
        exp.Sum,
        exp.Avg,
        exp.ApproxDistinct,
        exp.Stddev,
        exp.StddevPop,
        exp.StddevSamp,
        exp.Variance,
        exp.VariancePop,
    )
    if issubclass(node_type, reducing):
        return _REDUCES
    return _ORDERS if issubclass(node_type, exp.Window) else _PASSES


class _ByType(dict[type, int]):
    """A node type's class, worked out by ``classify`` the first time a walk meets the type. ``isinstance`` of a
    node depends only on its type, and the walks below run for every node of every model (``_is_reduced`` for
    every column of every projection): one dict look-up a node, where ``isinstance`` against a dozen types that
    mostly do not match cost more than the rest of the walk."""

    def __init__(self, classify: Callable[[type], int]) -> None:
        super().__init__()
        self._classify = classify

    def __missing__(self, node_type: type) -> int:
        kind = self[node_type] = self._classify(node_type)
        return kind


#: ``_survey``'s flags and ``_is_reduced``'s roles of the node types met so far.
_KINDS = _ByType(_kind)
_REDUCING_ROLES = _ByType(_reducing_role)


# ----------------------------------------------------------------------------------------------- cache entries

#: Bumped when the shape of a cache entry changes.
_ENTRY_FORMAT = "3"


def cache_salt() -> str:
    """What every cached entry was computed by: this module's code and sqlglot's version (read from its files,
    not by importing it: a run that parses nothing must not pay for sqlglot's import)."""
    digest = hashlib.sha256(_ENTRY_FORMAT.encode())
    digest.update(Path(__file__).read_bytes())
    spec = find_spec("sqlglot")
    origin = spec.origin if spec is not None else None
    version = Path(origin).parent / "_version.py" if origin else None
    digest.update(version.read_bytes() if version is not None and version.is_file() else b"no sqlglot version")
    return digest.hexdigest()


def _encode_node(node: NodeLineage, resolved: list[list[object]], parents: tuple[str, ...]) -> dict[str, object]:
    return {
        "columns": {name: _encode_hops(name, hops, parents) for name, hops in node.columns.items()},
        "unresolved": None if node.unresolved is None else [node.unresolved.node_id, node.unresolved.reason],
        "unknown": list(node.unknown_relations),
        "resolved": resolved,
    }


def _encode_hops(name: str, hops: tuple[Hop, ...], parents: tuple[str, ...]) -> int | list[list[object]]:
    """A column passed on unreduced from the column of the same name of one parent (most columns of most
    models) as that parent's index in ``depends_on`` (which the entry's digest covers): a third of the file, and a
    cheaper decode; any other column as its list of hops."""
    if len(hops) == 1 and type(hops[0]) is Input and not hops[0].reduced and hops[0].source.column == name:
        node_id = hops[0].source.node_id
        if node_id in parents:
            return parents.index(node_id)
    return [_encode_hop(hop) for hop in hops]


def _encode_hop(hop: Hop) -> list[object]:
    """An input as ``[node_id, column, reduced]``, an unresolved hop as ``[node_id, reason]``: told apart by
    length, so decoding needs no tag."""
    if isinstance(hop, Unresolved):
        return [hop.node_id, hop.reason]
    return [hop.source.node_id, hop.source.column, hop.reduced]


class _Malformed(ValueError):
    """A cache entry of the wrong shape: read as a miss."""


def _decode_node(
    value: object, node_id: str, parents: tuple[str, ...]
) -> tuple[NodeLineage, list[tuple[tuple[str, ...], str | None]]] | None:
    """A cached node's lineage and the resolutions it rests on; None when the entry has any other shape."""
    if value is None:
        return None
    try:
        entry = _mapping(value)
        # A JSON object's keys are strings: only the values need checking.
        columns: dict[str, tuple[Hop, ...]] = {}
        count = len(parents)
        for name, hops in _mapping(entry["columns"]).items():
            if type(hops) is int and 0 <= hops < count:  # not a bool: its type is bool
                columns[name] = (_new_tuple(Input, (_new_tuple(ColumnRef, (parents[hops], name)), False)),)
            else:
                columns[name] = _decode_hops(hops)
        unresolved = entry["unresolved"]
        problem = None if unresolved is None else Unresolved(*_texts(unresolved, 2))
        node = NodeLineage(node_id, MappingProxyType(columns), problem, _decode_texts(entry["unknown"]))
        return node, _decode_resolved(entry["resolved"])
    except (_Malformed, KeyError):
        return None


#: ``tuple.__new__`` builds a named tuple in C; calling the class runs its generated ``__new__`` in Python, and a
#: warm check builds two per hop of the project (82,000 at 5,000 models, a third of decoding).
_new_tuple = tuple.__new__


def _decode_hops(value: object) -> tuple[Hop, ...]:
    """One column's hops, every field type-checked inline (no call per hop): a warm check decodes them all."""
    if type(value) is not list:
        raise _Malformed(value)
    hops: list[Hop] = []
    for hop in value:
        if type(hop) is list and len(hop) == 3:
            node_id, column, reduced = hop
            if type(node_id) is str and type(column) is str and type(reduced) is bool:
                hops.append(_new_tuple(Input, (_new_tuple(ColumnRef, (node_id, column)), reduced)))
                continue
        elif type(hop) is list and len(hop) == 2:
            node_id, reason = hop
            if type(node_id) is str and type(reason) is str:
                hops.append(Unresolved(node_id, reason))
                continue
        raise _Malformed(hop)
    return tuple(hops)


def _decode_relations(value: object) -> tuple[tuple[str, ...], list[tuple[tuple[str, ...], str | None]]] | None:
    if value is None:
        return None
    try:
        entry = _mapping(value)
        return _decode_texts(entry["unknown"]), _decode_resolved(entry["resolved"])
    except (_Malformed, KeyError):
        return None


def _decode_texts(value: object) -> tuple[str, ...]:
    """A list of strings (most often empty: no generator for it, two per node of a warm check)."""
    if type(value) is not list or (value and any(type(item) is not str for item in value)):
        raise _Malformed(value)
    return tuple(value)


def _decode_resolved(value: object) -> list[tuple[tuple[str, ...], str | None]]:
    """``[[parts, node_id or null], ...]``, checked inline as ``_decode_hops`` (two per node of a warm check)."""
    if type(value) is not list:
        raise _Malformed(value)
    resolved = []
    for item in value:
        if type(item) is list and len(item) == 2:
            parts, found = item
            if (found is None or type(found) is str) and type(parts) is list and all(type(p) is str for p in parts):
                resolved.append((tuple(parts), found))
                continue
        raise _Malformed(item)
    return resolved


def _mapping(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _Malformed(value)
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise _Malformed(value)
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _Malformed(value)
    return value


def _texts(value: object, count: int) -> tuple[str, ...]:
    items = _list(value)
    if len(items) != count:
        raise _Malformed(value)
    return tuple(_text(item) for item in items)


# ----------------------------------------------------------------------------------------------- relations


def _relations(project: Project, dialect: str | None) -> Iterator[_Relation]:
    for model in project.models:
        yield _sql_relation(model, dialect)
    for snapshot in project.snapshots:
        yield _sql_relation(snapshot, dialect, SNAPSHOT_META_COLUMNS)
    for seed in project.seeds:
        declared = seed.columns or tuple(_typed_column(name) for name in seed.column_types)
        yield _Relation(seed.unique_id, seed.name, _parts(seed.relation_name, dialect), declared, None, False, ())
    for source in project.sources:
        name = f"{source.source_name}.{source.name}"
        yield _Relation(source.unique_id, name, _parts(source.relation_name, dialect), source.columns, None, False, ())


def _sql_relation(model: Model, dialect: str | None, extra: frozenset[str] = frozenset()) -> _Relation:
    # Built with ``tuple.__new__`` (as decoded hops are): every check makes one per model and snapshot.
    fields = (
        model.unique_id,
        model.display_name,
        _parts(model.relation_name, dialect),
        model.columns,
        model.compiled_code,
        True,
        model.depends_on,
        extra,
    )
    return _new_tuple(_Relation, fields)


def _typed_column(name: str) -> Column:
    from dmesh_dbt.artifacts import ColumnConstraints

    return Column(name, None, "", MappingProxyType({}), None, None, ColumnConstraints())


def _parts(relation_name: str | None, dialect: str | None) -> tuple[str, ...]:
    """``"db"."schema"."table"`` (or a backticked BigQuery name) as lowercased parts; () when it has none.

    Split as dbt quotes them, without a parse per relation (thousands of them); a name that does not split into
    one to three parts that way is left to sqlglot."""
    if not relation_name:
        return ()
    parts = _double_quoted_parts(relation_name) or _identifier_path(relation_name)
    if dialect == "bigquery":  # BigQuery reads `project.dataset.table` in one pair of backticks as three parts
        parts = [piece for part in parts for piece in part.split(".")]
    # map over the (one to three) parts rather than generators: run for every relation of every check.
    if 1 <= len(parts) <= 3 and "" not in parts and list(map(str.strip, parts)) == parts:
        return tuple(map(str.lower, parts))
    return _parsed_parts(relation_name, dialect)


def _double_quoted_parts(relation_name: str) -> list[str] | None:
    """``"db"."schema"."table"``, as dbt writes most relation names, split without the regex: the parts
    ``_identifier_path`` finds when no part holds a double quote; None for any other name."""
    if len(relation_name) < 2 or relation_name[0] != '"' or relation_name[-1] != '"':
        return None
    parts = relation_name[1:-1].split('"."')
    # A part holds a quote exactly when the parts joined do: one scan in C, not a generator per relation.
    return None if '"' in "".join(parts) else parts


def _parsed_parts(relation_name: str, dialect: str | None) -> tuple[str, ...]:
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        table = exp.to_table(relation_name, dialect=dialect)
    except SqlglotError:
        return ()
    return tuple(p.lower() for p in (table.catalog, table.db, table.name) if p)


def _never(_: ColumnRef) -> bool:
    return False

"""DM011: PII classes follow column-level lineage into public models.

A column of a public model inherits the PII class of every upstream column it derives from (``dmesh_dbt.lineage``,
through each node's compiled SQL). Such a column passes only when it is classified itself (so the published
relation masks it: DM006), or when it carries ``pii: none`` with a ``pii_reason`` and every PII value reaches it
only through an aggregate, a count or a boolean. Lineage that cannot be followed is treated as PII.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec

from dmesh_dbt import examples as ex
from dmesh_dbt.artifacts import Column, Model, Project, Source
from dmesh_dbt.lineage import ColumnRef, Derivation, Lineage, by_lower_name
from dmesh_dbt.pii import NOT_PII, STRATEGY_STRENGTH, PiiClass, mesh_policy
from dmesh_dbt.policy.engine import PolicyContext, Violation, rule


class Taint(msgspec.Struct, frozen=True):
    """PII reaching a column: the class of the upstream column (None when lineage is unresolved) and how."""

    pii_class: str | None
    derivation: Derivation


class PiiInheritance:
    """The PII classes columns inherit through lineage, memoised per column."""

    def __init__(self, lineage: Lineage) -> None:
        self.lineage = lineage
        self._memo: dict[ColumnRef, tuple[Taint, ...]] = {}
        self._columns: dict[str, dict[str, Column]] = {}  # node id -> lower-cased name -> its declared column
        self._products = {s.unique_id for s in lineage.project.sources if _is_consumed_product(s)}

    def taints(self, ref: ColumnRef) -> tuple[Taint, ...]:
        """The PII reaching ``ref`` from upstream, stopping at the first column that declares its PII status."""
        if ref not in self._memo:
            self._memo[ref] = tuple(self._taints(ref))
        return self._memo[ref]

    def declared(self, ref: ColumnRef) -> Column | None:
        if ref.node_id not in self._columns:
            # Reversed: the first of two columns differing only in case wins, as a scan in order would find it.
            columns = reversed(self.lineage.declared_columns(ref.node_id))
            self._columns[ref.node_id] = {c.name.lower(): c for c in columns}
        return by_lower_name(self._columns[ref.node_id], ref.column)

    def _declares(self, ref: ColumnRef) -> bool:
        # The trace's stop, asked for every hop it follows (37,000 at 5,000 models): the index inline, not a call.
        columns = self._columns.get(ref.node_id)
        if columns is None:
            column = self.declared(ref)
        else:
            column = columns.get(ref.column)  # by_lower_name, inline: the name as asked, then lowercased
            if column is None:
                column = columns.get(ref.column.lower())
        return column is not None and column.pii is not None

    def _taints(self, ref: ColumnRef) -> Iterator[Taint]:
        for derivation in self.lineage.trace(ref, self._declares):
            if derivation.unresolved is not None:
                yield Taint(None, derivation)
                continue
            upstream = self.declared(derivation.upstream)
            if upstream is None or upstream.pii is None:
                continue  # a column of a source or seed nobody classified
            if upstream.pii != NOT_PII:
                if not self._published_masked(derivation.upstream, upstream):
                    yield Taint(upstream.pii, derivation)
                continue
            yield from self._beyond_not_pii(derivation, upstream)

    def _published_masked(self, ref: ColumnRef, column: Column) -> bool:
        """A column of another domain's product that ``dmesh-dbt consume`` recorded as published masked
        (``masking:``) holds masked values: masking them again would break joins on keyed hashes."""
        return ref.node_id in self._products and bool(column.meta.get("masking"))

    def _beyond_not_pii(self, derivation: Derivation, upstream: Column) -> Iterator[Taint]:
        """A ``pii: none`` column upstream ends the trail only when it holds: reasoned, and every PII value
        reaches it reduced; otherwise the trail goes on through it."""
        further = self.taints(derivation.upstream)
        if upstream.pii_reason and all(_reduced(t) for t in further):
            return
        for taint in further:
            path = (*derivation.path[:-1], *taint.derivation.path)
            reduced = derivation.reduced or taint.derivation.reduced
            yield Taint(taint.pii_class, Derivation(path, reduced, taint.derivation.unresolved))


def _is_consumed_product(source: Source) -> bool:
    """A source table ``dmesh-dbt consume`` wrote: ``meta: {dmesh: {product: ...}}`` (DM007 holds the rest)."""
    declared = source.meta.get("dmesh")
    return isinstance(declared, Mapping) and bool(declared.get("product"))


def _reduced(taint: Taint) -> bool:
    return taint.pii_class is not None and taint.derivation.reduced


# ----------------------------------------------------------------------------------------------- examples

_EMAIL = ex.column("email", meta={"pii": "email"})
_CRM = ex.source("crm_contacts", columns=(ex.column("customer_id", "integer"), _EMAIL))


def _public(sql: str, *columns: Column) -> Model:
    return ex.model(
        "customers",
        ex.KEY,
        *columns,
        depends_on=[_CRM.unique_id],
        sql=f'select customer_id, {sql} from "upstream"."crm_contacts"',
    )


def _example(sql: str, *columns: Column) -> Project:
    return ex.project(_public(sql, *columns), sources=[_CRM])


def _consumer_example() -> Project:
    """A consumer re-publishing a column another domain published hashed (as ``dmesh-dbt consume`` records it)."""
    product = ex.source(
        "crm_contacts",
        meta={"dmesh": {"product": "crm.contacts"}},
        columns=(ex.column("customer_id", "integer"), ex.column("email", meta={"pii": "email", "masking": "hash"})),
    )
    return ex.project(_public("email as contact", ex.column("contact")), sources=[product])


_EXAMPLES = ex.Examples(
    fails=(
        _example("email as contact", ex.column("contact")),
        _example("email || ' / ' || customer_id as label", ex.column("label")),
        _example("struct_pack(mail := email) as packed", ex.column("packed", "struct(mail varchar)")),
        _example("email as contact", ex.column("contact", meta={"pii": "none", "pii_reason": "renamed"})),
        _example("count(email) as contacts", ex.column("contacts", "bigint")),
        ex.project(ex.model("customers", ex.KEY, sql=None)),
    ),
    passes=(
        _example("email as contact", ex.column("contact", meta={"pii": "email"})),
        _example(
            "count(email) as contacts",
            ex.column("contacts", "bigint", meta={"pii": "none", "pii_reason": "a count of addresses"}),
        ),
        _example(
            "email is not null as reachable",
            ex.column("reachable", "boolean", meta={"pii": "none", "pii_reason": "a flag"}),
        ),
        _example("'none' as note", ex.column("note")),
        _consumer_example(),
    ),
)


@rule("DM011", "pii-lineage", examples=_EXAMPLES)
def pii_follows_lineage(ctx: PolicyContext) -> Iterator[Violation]:
    """A column of a public model fed by a PII column (column lineage) is classified, or a reasoned `pii: none`.

    It inherits the upstream class: classified, the published relation masks it; `pii: none` with a
    `pii_reason` holds only for an aggregate, a count or a boolean of the PII. Unresolved lineage is PII.

    Fails::

        -- models/marts/customers.sql
        select customer_id, ssn as account_ref from {{ ref('stg_customers') }}
        # account_ref: no meta

    Fixed (either)::

        - name: account_ref
          meta: {pii: national_id}          # masked in the published relation
        -- or publish what is not PII:      count(ssn) as ssn_count
        - name: ssn_count
          meta: {pii: none, pii_reason: a count, reveals no number}
    """
    inheritance = PiiInheritance(ctx.lineage)
    for model in ctx.project.public_models:
        unreadable = ctx.lineage.node(model.unique_id).unresolved
        if unreadable is not None:
            yield Violation(
                f"lineage of public model {model.display_name} unresolved: every column not classified is treated "
                f"as PII ({unreadable.reason})",
                model,
            )
            continue
        for name in _column_names(ctx.lineage, model):
            ref = ColumnRef(model.unique_id, name)
            declared = inheritance.declared(ref)  # as model.column(name), from an index rather than a scan
            if declared is not None and declared.pii is not None and declared.pii != NOT_PII:
                continue  # classified: DM006 makes sure it is masked, DM005 that the class is known
            taints = inheritance.taints(ref)
            problem = _problem(ctx.lineage, model, name, declared, taints)
            if problem:
                yield Violation(problem, model, declared.name if declared else name)


class InheritedClass(msgspec.Struct, frozen=True):
    """A class an unclassified column of a public model inherits: what ``scan --write`` can write."""

    model: Model
    column: str
    pii_class: str
    upstream: str  # the upstream column it comes from, as a user reads it


def inherited_classes(lineage: Lineage) -> Iterator[InheritedClass]:
    """For each undeclared column of each public model whose values carry PII, unreduced, from a resolved
    upstream column: the class (the most strongly masked one when several feed it)."""
    inheritance = PiiInheritance(lineage)
    for model in lineage.project.public_models:
        if lineage.node(model.unique_id).unresolved is not None:
            continue
        for name in _column_names(lineage, model):
            ref = ColumnRef(model.unique_id, name)
            declared = inheritance.declared(ref)
            if declared is not None and declared.pii is not None:
                continue
            taints = inheritance.taints(ref)
            passed = sorted((t for t in taints if t.pii_class and not t.derivation.reduced), key=_strongest_first)
            if passed and passed[0].derivation.unresolved is None:
                upstream = lineage.display(passed[0].derivation.upstream)
                yield InheritedClass(model, declared.name if declared else name, str(passed[0].pii_class), upstream)


def _column_names(lineage: Lineage, model: Model) -> list[str]:
    """The columns the model's SQL outputs, by their declared names where declared (undeclared ones are
    published too when no contract is enforced). A declared column the SQL lacks holds no data: the contract
    fails the build; ``select *`` over columns nobody listed outputs every declared column, unresolved."""
    node = lineage.node(model.unique_id)
    declared = [name for name in model.column_names if node.hops(name) is not None]
    known = {name.lower() for name in declared}
    return declared + [name for name in node.output_columns() if name.lower() not in known]


def _problem(lineage: Lineage, model: Model, name: str, declared: Column | None, taints: tuple[Taint, ...]) -> str:
    if not taints:
        return ""
    where = f"{model.display_name}.{name}"
    passed = sorted((t for t in taints if t.pii_class is not None and not t.derivation.reduced), key=_strongest_first)
    unresolved = next((t.derivation.unresolved for t in taints if t.derivation.unresolved is not None), None)
    if unresolved is not None and not passed:
        return (
            f"lineage of {where} unresolved: treated as PII ({unresolved.reason}); "
            "classify it `meta: {pii: <class>}` so it is masked, or read named columns through ref()/source() "
            "and compile the project"
        )
    taint = passed[0] if passed else taints[0]
    origin = f"{taint.pii_class} from {lineage.display(taint.derivation.upstream)}{_path(lineage, taint)}"
    more = f" and {len(taints) - 1} more PII column(s)" if len(taints) > 1 else ""
    classify = f"`meta: {{pii: {taint.pii_class}}}`"
    if passed:
        if declared is not None and declared.pii == NOT_PII:
            return (
                f"{where} is marked `pii: none` but carries {origin}{more}; `pii: none` holds only "
                f"for an aggregate, a count or a boolean: classify it {classify} so it is masked"
            )
        return f"{where} carries {origin}{more} but has no PII class; classify it {classify} so it is masked"
    if declared is not None and declared.pii == NOT_PII:
        if declared.pii_reason:
            return ""  # a reasoned `pii: none` on an aggregate, a count or a boolean of PII
        return f"{where} reduces {origin}{more} and is marked `pii: none` without a reason; add `pii_reason:`"
    return (
        f"{where} reduces {origin}{more} (an aggregate, a count or a boolean) but declares no PII status; mark it "
        f"`meta: {{pii: none, pii_reason: <why its values reveal no one>}}`, or classify it {classify}"
    )


def _strongest_first(taint: Taint) -> tuple[int, ColumnRef]:
    """Name first the class whose masking protects most: classifying the column so covers every other one."""
    policy = mesh_policy()
    known = {c.value: c for c in PiiClass}
    pii_class = known.get(taint.pii_class or "")
    strength = STRATEGY_STRENGTH[policy.default_strategy[pii_class]] if pii_class else len(STRATEGY_STRENGTH)
    return (-strength, taint.derivation.upstream)


def _path(lineage: Lineage, taint: Taint) -> str:
    """`` (path: a -> b -> c)`` when the PII travels through more than one hop."""
    steps = taint.derivation.path
    if len(steps) <= 2:
        return ""
    return f" (path: {' -> '.join(lineage.display(step) for step in reversed(steps))})"

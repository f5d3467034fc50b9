"""The mesh policy's rules, one registered function each (``@rule``): DM001 to DM009, DM013 and DM014.

Each docstring's first line is the rule's summary and its body a failing and a fixed example; `dmesh-dbt check
--list-rules` prints them. Each declaration carries ``examples``: minimal projects (``dmesh_dbt.examples``) the
rule must flag and must leave alone, run by ``tests/unit/test_rule_examples.py``. A rule yields Violations;
``policy/engine.py`` gives them their severity.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache

from dmesh_dbt import examples as ex
from dmesh_dbt.artifacts import Access, Column, Model, Project, Source
from dmesh_dbt.errors import ConfigError, PolicyViolation
from dmesh_dbt.masking import IncompleteMaskException, column_masking, enumeration_time
from dmesh_dbt.pii import NOT_PII, ForbiddenClass, PiiClass, Strategy, mesh_policy
from dmesh_dbt.policy.engine import DOMAIN_FILE, PolicyContext, Violation, rule

#: The example model: public, contracted, typed, described, a tested key, published through the hook.
_M = ex.model()


def _with(*columns: Column) -> Project:
    """A project whose one public model has the tested key and ``columns``."""
    return ex.project(ex.with_columns(_M, ex.KEY, *columns))


@rule(
    "DM001",
    "public-model-contract",
    examples=ex.Examples(fails=(ex.project(ex.model(contract=False)),), passes=(ex.project(_M),)),
)
def public_models_enforce_a_contract(ctx: PolicyContext) -> Iterator[Violation]:
    """Public models have an enforced contract.

    Fails::

        models:
          - name: customers
            access: public

    Fixed::

        models:
          - name: customers
            access: public
            config:
              contract: {enforced: true}
    """
    for model in ctx.project.public_models:
        if not model.contract_enforced:
            yield Violation(
                f"public model {model.display_name} has no enforced contract; "
                "set `config: {contract: {enforced: true}}` on it",
                model,
            )


@rule(
    "DM002",
    "public-column-type",
    examples=ex.Examples(fails=(_with(ex.column("email", None)),), passes=(_with(ex.column("email")),)),
)
def public_columns_are_typed(ctx: PolicyContext) -> Iterator[Violation]:
    """Every column of a public model has a data_type.

    Fails::

        columns:
          - name: email

    Fixed::

        columns:
          - name: email
            data_type: varchar
    """
    for model in ctx.project.public_models:
        if not model.columns:
            yield Violation(f"public model {model.display_name} declares no columns; list them under `columns:`", model)
        for column in model.columns:
            if not column.data_type:
                yield Violation(
                    f"{model.display_name}.{column.name} has no data_type; add `data_type:` to the column",
                    model,
                    column.name,
                )


@rule(
    "DM003",
    "public-column-description",
    examples=ex.Examples(fails=(_with(ex.column("email", description="")),), passes=(_with(ex.column("email")),)),
)
def public_columns_are_described(ctx: PolicyContext) -> Iterator[Violation]:
    """Every column of a public model has a description.

    Fails::

        columns:
          - name: email
            data_type: varchar

    Fixed::

        columns:
          - name: email
            data_type: varchar
            description: Contact email address, lowercased.
    """
    for model in ctx.project.public_models:
        for column in model.columns:
            if not column.description.strip():
                yield Violation(
                    f"{model.display_name}.{column.name} has no description; add `description:` to the column",
                    model,
                    column.name,
                )


@rule(
    "DM004",
    "domain-owner",
    examples=ex.Examples(fails=(ex.project(_M),), passes=(ex.project(_M, groups=[ex.group()]),)),
)
def domain_has_an_owner(ctx: PolicyContext) -> Iterator[Violation]:
    """The domain has an owner: `owner:` in dmesh.yml, or a dbt group with an owner.

    Fails: a dmesh.yml without ``owner:`` and no group with an owner.

    Fixed::

        groups:
          - name: payments
            owner: {name: Payments team, email: payments-team@example.com}
    """
    if ctx.domain.owner:
        return
    if any(g.has_owner for g in ctx.project.groups if g.package_name == ctx.project.name):
        return
    yield Violation(
        f"domain {ctx.domain.name} has no owner; set `owner: <team email>` in {DOMAIN_FILE} "
        "or give a dbt group an `owner:`"
    )


@rule(
    "DM005",
    "pii-vocabulary",
    examples=ex.Examples(
        fails=(
            _with(ex.column("email", meta={"pii": "e-mail"})),
            _with(ex.column("email", meta={"pii": "email", "mask": "scramble"})),
            _with(ex.column("cvv", meta={"pii": "cvv"})),
        ),
        passes=(_with(ex.column("email", meta={"pii": "email", "mask": "hash"})),),
    ),
)
def pii_uses_known_classes_and_strategies(ctx: PolicyContext) -> Iterator[Violation]:
    """PII columns use a known class and masking strategy, and no model carries a forbidden class.

    Fails::

        meta: {pii: e-mail, mask: scramble}

    Fixed::

        meta: {pii: email, mask: hash}
    """
    classes = ", ".join(c.value for c in PiiClass)
    strategies = ", ".join(s.value for s in Strategy)
    forbidden = {c.value for c in ForbiddenClass}
    for model in ctx.project.own_models:
        for column in model.columns:
            if column.pii is None and column.mask is None:
                continue
            where = f"{model.display_name}.{column.name}"
            if column.pii in forbidden:
                yield Violation(
                    f"{where} is marked {column.pii}, which no model may carry (PCI DSS sensitive "
                    "authentication data); drop the column",
                    model,
                    column.name,
                )
            elif column.pii is not None and column.pii != NOT_PII and not _is_member(PiiClass, column.pii):
                yield Violation(
                    f"{where} has unknown PII class {column.pii!r}; use one of: {classes}", model, column.name
                )
            if column.mask is not None and not _is_member(Strategy, column.mask):
                yield Violation(
                    f"{where} has unknown masking strategy {column.mask!r}; use one of: {strategies}",
                    model,
                    column.name,
                )


#: The dmesh package's post-hook that publishes a public model's masked relation.
PUBLISH_HOOK = "publish_masked"


@rule(
    "DM006",
    "pii-masked-when-published",
    examples=ex.Examples(
        fails=(
            ex.project(ex.model("customers", ex.KEY, ex.column("email", meta={"pii": "email"}), post_hooks=())),
            _with(ex.column("email", meta={"pii": "email", "mask_exception": {"reason": "needed by support"}})),
        ),
        passes=(
            _with(ex.column("email", meta={"pii": "email"})),
            _with(ex.column("email", meta={"pii": "email", "mask_exception": {"reason": "r", "approver": "dpo"}})),
        ),
    ),
)
def public_pii_is_masked_when_published(ctx: PolicyContext) -> Iterator[Violation]:
    """Every PII column of a public model is masked in its published relation, or covered by a valid exception.

    The published relation is written by the dmesh package's post-hook, which masks each column by its class
    (or its ``mask:``) unless the column carries ``mask_exception: {reason, approver}``.

    Fails: a public model with ``meta: {pii: email}`` on a column and no ``dmesh.publish_masked()`` post-hook.

    Fixed::

        models:
          payments:
            marts:
              +post-hook: ["{{ dmesh.publish_masked() }}"]
    """
    for model in ctx.project.public_models:
        pii_columns = [c for c in model.columns if c.pii is not None and c.pii != NOT_PII]
        if not pii_columns:
            continue
        if not any(PUBLISH_HOOK in hook for hook in model.post_hooks):
            names = ", ".join(c.name for c in pii_columns)
            yield Violation(
                f"public model {model.display_name} has PII columns ({names}) but no masked published relation; "
                f"{_publish_hook_fix(model)}",
                model,
            )
            continue
        for column in pii_columns:
            problem = _masking_problem(model, column)
            if problem:
                yield Violation(problem, model, column.name)


_HOOK_CALL = "{{ dmesh.publish_masked() }}"


def _publish_hook_fix(model: Model) -> str:
    """Where to add the publish hook for ``model``, naming only the files and folders it really has: its own
    YAML entry (else its SQL file), and its folder's key in dbt_project.yml when it sits in a subfolder."""
    folders = model.original_file_path.split("/")[1:-1]  # below the model path (models/), without the file
    folder_key = f"`models: {model.package_name}: {': '.join(folders)}:`" if folders else None
    if model.patch_path:
        fix = f'add `post_hook: ["{_HOOK_CALL}"]` under `config:` of {model.name} in {model.declared_in}'
    else:
        fix = f'add `{{{{ config(post_hook="{_HOOK_CALL}") }}}}` at the top of {model.original_file_path}'
    if folder_key:
        fix += f' (or `+post-hook: ["{_HOOK_CALL}"]` for its whole folder under {folder_key} in dbt_project.yml)'
    return fix


@rule(
    "DM013",
    "joinable-hash-enumerable",
    examples=ex.Examples(
        fails=(_with(ex.column("ssn", meta={"pii": "national_id"})), _with(ex.column("phone", meta={"pii": "phone"}))),
        passes=(
            _with(ex.column("email", meta={"pii": "email"})),
            _with(ex.column("phone", meta={"pii": "phone", "mask": "partial"})),
        ),
        domain={"joinable_pii_classes": frozenset({"email", "national_id", "phone"})},
    ),
)
def joinable_hashes_cannot_be_enumerated(ctx: PolicyContext) -> Iterator[Violation]:
    """No public column is hashed with the shared mesh key when its class's values can be enumerated.

    Every domain holds the mesh key, and anyone holding a key reverses the hash of a small value space by hashing
    every candidate (about 3 M HMAC-SHA256/s per core): all 10^9 SSNs in minutes. Only the classes the domain marks
    joinable (dbt var ``dmesh_joinable_pii_classes``) use the mesh key; the others use the domain's own.

    Fails::

        vars:
          dmesh_joinable_pii_classes: [email, national_id]   # national_id: 10^9 values
        columns:
          - name: ssn
            meta: {pii: national_id}

    Fixed::

        vars:
          dmesh_joinable_pii_classes: [email]   # ssn hashes with the domain's own key; join on customer_id
    """
    enumerable = mesh_policy().enumerable
    for model in ctx.project.public_models:
        for column in model.columns:
            pii_class = _joinable_enumerable_hash(model, column, ctx.domain.joinable_pii_classes)
            if pii_class is None:
                continue
            yield Violation(
                f"{model.display_name}.{column.name} ({pii_class}) is hashed with the shared mesh key, since "
                f"dmesh_joinable_pii_classes lists {pii_class}, but its ~10^{enumerable[pii_class]} values are "
                f"enumerated in {enumeration_time(enumerable[pii_class])} by any domain holding that key: remove "
                f"{pii_class} from dmesh_joinable_pii_classes (dbt_project.yml) so it hashes with the domain's own "
                "key, and join across domains on a surrogate key the domain publishes (e.g. customer_id)",
                model,
                column.name,
            )


def _joinable_enumerable_hash(model: Model, column: Column, joinable: frozenset[str]) -> PiiClass | None:
    """The class of ``column`` when it is hashed (unmasked exceptions aside) with the mesh key and enumerable."""
    if column.pii is None or column.pii not in joinable or not _is_member(PiiClass, column.pii):
        return None
    pii_class = PiiClass(column.pii)
    if pii_class not in mesh_policy().enumerable:
        return None
    try:
        masking = column_masking(model.display_name, column.name, column.meta)
    except (ConfigError, PolicyViolation):
        return None  # DM005 and DM006 report what the macros would refuse
    return pii_class if masking.masked and masking.strategy is Strategy.HASH else None


def _masking_problem(model: Model, column: Column) -> str | None:
    """Why the macros could not mask ``column``; None when they can (unknown and forbidden classes and unknown
    strategies are DM005's findings)."""
    try:
        column_masking(model.display_name, column.name, column.meta)
    except IncompleteMaskException as error:
        return str(error)
    except (ConfigError, PolicyViolation):
        return None
    return None


def mask_exceptions(project: Project) -> list[str]:
    """``model.column: reason (approved by ...)`` for each PII column a valid exception publishes unmasked."""
    found = []
    for model in project.public_models:
        for column in model.columns:
            if column.pii is None:  # unclassified: column_masking would say unmasked, with no exception
                continue
            try:
                masking = column_masking(model.display_name, column.name, column.meta)
            except (ConfigError, PolicyViolation):
                continue
            if masking.exception is not None:
                exception = masking.exception
                found.append(
                    f"{model.display_name}.{column.name}: {exception.reason} (approved by {exception.approver})"
                )
    return found


@rule(
    "DM007",
    "cross-domain-published-only",
    examples=ex.Examples(
        fails=(
            ex.project(
                ex.model("orders", depends_on=["model.payments.stg_payments"]),
                ex.model("stg_payments", package="payments", access=Access.PROTECTED),
            ),
            ex.project(
                ex.model("orders", depends_on=["source.shop.upstream.payments"]),
                sources=[ex.source("payments", source_meta={"dmesh": {"domain": "payments"}})],
            ),
            ex.project(ex.model("orders", sql="select customer_id from payments.main.customers")),
            ex.project(ex.model("orders", sql="select customer_id from payments_published.customers")),
        ),
        passes=(
            ex.project(
                ex.model("orders", depends_on=["model.payments.payments"]), ex.model("payments", package="payments")
            ),
            ex.project(
                ex.model("orders", depends_on=["model.shop.stg_orders"], sql='select * from "main"."stg_orders"'),
                ex.model("stg_orders", access=Access.PRIVATE, sql="select 1 as customer_id"),
            ),
            ex.project(
                ex.model("orders", depends_on=["source.shop.upstream.payments"]),
                sources=[
                    ex.source(
                        "payments",
                        meta={"dmesh": {"product": "payments.payments"}},
                        source_meta={"dmesh": {"domain": "payments"}},
                    )
                ],
            ),
        ),
    ),
)
def cross_domain_dependencies_use_published_products(ctx: PolicyContext) -> Iterator[Violation]:
    """Cross-domain dependencies go only to published products.

    Another domain's node counts when it is a public model (installed as a package, or injected by dbt-loom)
    or a source table ``dmesh-dbt consume`` wrote from the registry (``meta: {dmesh: {product: ...}}``).

    Fails: ``ref('payments', 'stg_payments')`` where ``stg_payments`` is internal to the payments domain, a
    hand-written source with ``meta: {dmesh: {domain: payments}}`` on a table no release published, or compiled
    SQL naming another domain's database or schema directly (``from payments.main.customers``).

    Fixed: ``ref('payments', 'payments')``, or ``dmesh-dbt consume payments.payments`` and its source.
    """
    models = {m.unique_id: m for m in ctx.project.models}
    sources = {s.unique_id: s for s in ctx.project.sources}
    for model in ctx.project.own_models:
        for parent_id in model.depends_on:
            if parent_id in models:
                problem = _unpublished_model(ctx, models[parent_id])
            elif parent_id in sources:
                problem = _unpublished_source(ctx, sources[parent_id])
            else:
                problem = None
            if problem:
                yield Violation(f"{model.display_name} depends on {problem}", model)
    yield from _hard_coded_relations(ctx)


#: Schemas every database has, which no domain owns.
_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog"})


def _hard_coded_relations(ctx: PolicyContext) -> Iterator[Violation]:
    """Relations the compiled SQL names in a database or schema none of the project's own nodes live in: another
    domain's data read around source()/ref(), so neither a release nor DM007's dependency check sees it."""
    own = ctx.project.own_sql_nodes
    databases = {m.database.lower() for m in own if m.database}
    schemas = {m.schema.lower() for m in own} | {f"{m.schema.lower()}_published" for m in own}
    for model in own:
        for relation in ctx.lineage.unknown_relations(model.unique_id):
            parts = relation.lower().split(".")
            database, schema = (parts[-3] if len(parts) > 2 else None), (parts[-2] if len(parts) > 1 else None)
            foreign_database = database is not None and database not in databases
            foreign_schema = schema is not None and schema not in schemas and schema not in _SYSTEM_SCHEMAS
            if foreign_database or foreign_schema:
                yield Violation(
                    f"{model.display_name} reads {relation} directly, not through source() or ref(); read another "
                    "domain's data only as a published product: `dmesh-dbt consume <domain>.<product>` and its "
                    "source()",
                    model,
                )


def _unpublished_model(ctx: PolicyContext, parent: Model) -> str | None:
    if ctx.project.owns(parent) or parent.is_public:
        return None
    return (
        f"{parent.package_name}.{parent.display_name}, which is {parent.access}, not a published product; "
        f"use a public model of {parent.package_name}"
    )


def _unpublished_source(ctx: PolicyContext, source: Source) -> str | None:
    """A source that says it is another domain's (``meta.dmesh.domain``) must be a consumed product."""
    declared = source.source_meta.get("dmesh") or source.meta.get("dmesh") or {}
    domain = declared.get("domain") if isinstance(declared, Mapping) else None
    if not domain or domain == ctx.domain.name:
        return None
    if _is_consumed_product(source):
        return None
    return (
        f"source {source.source_name}.{source.name} of domain {domain}, which is not a published product; "
        f"read it with `dmesh-dbt consume {domain}.<product>`"
    )


@rule(
    "DM008",
    "public-model-key-tested",
    examples=ex.Examples(
        fails=(ex.project(ex.with_columns(_M, ex.column("customer_id", "integer", tests=("not_null",)))),),
        passes=(ex.project(_M),),
    ),
)
def public_models_test_a_key(ctx: PolicyContext) -> Iterator[Violation]:
    """Every public model tests a key: one column with unique and not_null, or a primary key.

    Fails::

        columns:
          - name: customer_id
            data_tests: [not_null]

    Fixed::

        columns:
          - name: customer_id
            data_tests: [unique, not_null]
    """
    for model in ctx.project.public_models:
        if not _has_tested_key(model):
            yield Violation(
                f"public model {model.display_name} tests no key; add `data_tests: [unique, not_null]` to its key "
                "column or a `primary_key` constraint",
                model,
            )


@rule(
    "DM009",
    "pii-unmarked-suspect",
    examples=ex.Examples(
        fails=(_with(ex.column("contact_email")), _with(ex.column("contact_email", meta={"pii": "none"}))),
        passes=(
            _with(ex.column("contact_email", meta={"pii": "email"})),
            _with(ex.column("contact_email", meta={"pii": "none", "pii_reason": "a shared support mailbox"})),
            _with(ex.column("city")),  # a city alone is coarse; beside a street column it is part of an address
        ),
    ),
)
def public_columns_named_like_pii_are_classified(ctx: PolicyContext) -> Iterator[Violation]:
    """A column of a public model whose name signals PII is classified, or marked `pii: none` with a reason.

    Fails::

        columns:
          - name: contact_email

    Fixed (either)::

        columns:
          - name: contact_email
            meta: {pii: email}
          - name: contact_email
            meta: {pii: none, pii_reason: a shared support mailbox, not a person's}
    """
    from dmesh_dbt.scan.context import ColumnContext, decide

    reported_by_name: set[tuple[str, str]] = set()
    for model in ctx.project.public_models:
        siblings = tuple(c.name for c in model.columns)
        for column in model.columns:
            if column.pii == NOT_PII and not column.pii_reason:
                yield Violation(
                    f"{model.display_name}.{column.name} is marked `pii: none` without a reason; add `pii_reason:` "
                    "to its meta",
                    model,
                    column.name,
                )
                continue
            if column.pii is not None:
                continue
            # The scan's own decision (name, table, description, type, siblings), so check and scan never disagree.
            match = decide(ColumnContext(column.name, model.name, column.description, column.data_type, siblings))
            if match is not None:
                reported_by_name.add((model.unique_id, column.name))
                yield Violation(
                    f"{model.display_name}.{column.name} looks like {match.pii_class} ({match.source} matches "
                    f"{match.pattern!r}) but has no PII class; add `meta: {{pii: {match.pii_class}}}`, or "
                    "`{pii: none, pii_reason: ...}` if it is not PII",
                    model,
                    column.name,
                )
    yield from _value_suspects(ctx, reported_by_name)


def _value_suspects(ctx: PolicyContext, reported_by_name: set[tuple[str, str]]) -> Iterator[Violation]:
    """What `check --sample` adds: public columns, and published relations, whose sampled values look like PII."""
    if not ctx.sampled_suspects:
        return  # names only: no need to index the public models again
    models = {model.unique_id: model for model in ctx.project.public_models}
    for suspect in ctx.sampled_suspects:
        if suspect.values is None:
            continue
        model = models.get(suspect.node_id)
        if model is None or (model.unique_id, suspect.column) in reported_by_name:
            continue
        if suspect.published:
            message = (
                f"the published relation of {model.display_name} shows raw {suspect.pii_class} values in column "
                f"{suspect.column} ({suspect.evidence}); classify {model.display_name}.{suspect.column} "
                f"with `meta: {{pii: {suspect.pii_class}}}` so it is masked"
            )
        else:
            message = (
                f"{model.display_name}.{suspect.column} holds values that look like {suspect.pii_class} "
                f"({suspect.evidence}) but has no PII class; add `meta: {{pii: {suspect.pii_class}}}`, "
                "or `{pii: none, pii_reason: ...}` if it is not PII"
            )
        yield Violation(message, model, suspect.column)


def _has_tested_key(model: Model) -> bool:
    if any(c.is_unique and c.is_not_null for c in model.columns):
        return True
    if any(c.type == "primary_key" and c.columns for c in model.constraints):
        return True
    return any(t.name == "unique_combination_of_columns" for t in model.tests)


def _is_member(enum: type[PiiClass] | type[Strategy], value: str) -> bool:
    return value in _values(enum)


@cache
def _values(enum: type[PiiClass] | type[Strategy]) -> frozenset[str]:
    # Cached: iterating an enum is slow, and DM005 asks for every classified column of every model.
    return frozenset(m.value for m in enum)


@rule(
    "DM014",
    "domain-publishes-a-product",
    examples=ex.Examples(
        fails=(ex.project(ex.model(access=Access.PROTECTED)), ex.project()),
        passes=(
            ex.project(_M),
            ex.project(  # a consumer domain: it reads a product another domain published
                ex.model("risk_scores", access=Access.PROTECTED, depends_on=["source.shop.upstream.customers"]),
                sources=[ex.source("customers", meta={"dmesh": {"product": "payments.customers"}})],
            ),
        ),
    ),
)
def domain_publishes_a_product(ctx: PolicyContext) -> Iterator[Violation]:
    """The domain has at least one public model; until it has, the mesh rules have nothing to judge.

    A project nobody marked public passes every other rule vacuously while its PII goes unclassified, so this
    warns, and `check` prints what still blocks the project from being a domain, in order. A consumer domain (it
    reads products other domains published, through `dmesh-dbt consume`) need publish nothing.

    Fails: a dbt project whose models are all protected or private.

    Fixed::

        dmesh-dbt scan                             # the PII to classify first
        dmesh-dbt adopt --public customers         # the data products: public, contracted, typed, masked
    """
    if ctx.project.public_models or any(_is_consumed_product(s) for s in ctx.project.sources):
        return
    yield Violation(
        f"domain {ctx.domain.name} has no public model, so nothing is published and no mesh rule checks its "
        "columns; run `dmesh-dbt scan` for PII suspects, then choose the products with `dmesh-dbt adopt --public "
        "SELECTOR` (the report's notes list what else blocks, in order)"
    )


def _is_consumed_product(source: Source) -> bool:
    """Whether ``source`` is a product ``dmesh-dbt consume`` wrote from the registry."""
    declared = source.meta.get("dmesh")
    return isinstance(declared, Mapping) and bool(declared.get("product"))

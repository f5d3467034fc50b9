"""Mesh policy rules, their severities (mesh-wide, with domain overrides) and audited waivers.

Each rule is one small function registered with ``@rule``: a stable id, a name, and a docstring whose first line
is the summary and whose body shows a failing and a fixed example. A rule yields Violations (a message naming
the model/column and the fix); ``evaluate_policy`` turns them into Findings at the configured severity. Adding a
rule touches one place: a new decorated function.

Severities come from the ``rules:`` section of the mesh policy (``data/mesh_policy.yml``); a domain overrides
them under ``policy:`` in its ``dmesh.yml``, except rules the mesh lists as ``locked``. A rule is waived only by
a ``waivers:`` entry in ``dmesh.yml`` with a reason, an approver and an expiry date; an expired waiver is itself
a violation (DM010).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from dmesh_dbt.artifacts import Column, Model, Project, Source
from dmesh_dbt.errors import ConfigError, PolicyViolation
from dmesh_dbt.pii import NOT_PII, ForbiddenClass, PiiClass, Strategy, policy_document
from dmesh_dbt.report import Finding, RuleInfo, Severity, Waiver

#: The severity that switches a rule off.
OFF = "off"
_SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, OFF: None}

#: The domain descriptor beside dbt_project.yml.
DOMAIN_FILE = "dmesh.yml"


@dataclass(frozen=True)
class Violation:
    """What a rule found, before the policy gives it a severity."""

    message: str
    model: Model | None = None
    column: str | None = None


@dataclass(frozen=True)
class DomainConfig:
    """The parts of a domain's ``dmesh.yml`` that check reads."""

    name: str
    owner: str | None = None
    policy: Mapping[str, str] = field(default_factory=dict)  # rule id -> error | warning | off
    waivers: tuple[Waiver, ...] = ()
    path: Path | None = None


@dataclass(frozen=True)
class PolicyContext:
    """Everything a rule may look at."""

    project: Project
    domain: DomainConfig
    today: date


RuleCheck = Callable[[PolicyContext], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    check: RuleCheck

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip()

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else self.name

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.id, self.name, self.summary)


RULES: dict[str, Rule] = {}


def rule(rule_id: str, name: str) -> Callable[[RuleCheck], RuleCheck]:
    """Register a rule function under a stable id."""

    def register(check: RuleCheck) -> RuleCheck:
        if rule_id in RULES:
            raise ValueError(f"rule id {rule_id} registered twice")
        RULES[rule_id] = Rule(rule_id, name, check)
        return check

    return register


# ----------------------------------------------------------------------------------------------- the rules


@rule("DM001", "public-model-contract")
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


@rule("DM002", "public-column-type")
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


@rule("DM003", "public-column-description")
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


@rule("DM004", "domain-owner")
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


@rule("DM005", "pii-vocabulary")
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


@rule("DM006", "pii-masked-when-published")
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
                f'add `+post-hook: ["{{{{ dmesh.publish_masked() }}}}"]` to it (dbt_project.yml, marts)',
                model,
            )
            continue
        for column in pii_columns:
            problem = _masking_problem(model, column)
            if problem:
                yield Violation(problem, model, column.name)


def _masking_problem(model: Model, column: Column) -> str | None:
    """Why the macros could not mask ``column``; None when they can (unknown classes are DM005's finding)."""
    from dmesh_dbt.masking import column_masking

    try:
        column_masking(model.display_name, column.name, column.meta)
    except PolicyViolation:
        return None  # a forbidden class: DM005
    except ConfigError as error:
        if "mask_exception" not in str(error):
            return None  # an unknown class or strategy: DM005
        return str(error)
    return None


def mask_exceptions(project: Project) -> list[str]:
    """``model.column: reason (approved by ...)`` for each PII column a valid exception publishes unmasked."""
    from dmesh_dbt.masking import column_masking

    found = []
    for model in project.public_models:
        for column in model.columns:
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


@rule("DM007", "cross-domain-published-only")
def cross_domain_dependencies_use_published_products(ctx: PolicyContext) -> Iterator[Violation]:
    """Cross-domain dependencies go only to published products.

    Another domain's node counts when it is a public model (installed as a package, or injected by dbt-loom)
    or a source table ``dmesh-dbt consume`` wrote from the registry (``meta: {dmesh: {product: ...}}``).

    Fails: ``ref('payments', 'stg_payments')`` where ``stg_payments`` is internal to the payments domain, or a
    hand-written source with ``meta: {dmesh: {domain: payments}}`` on a table no release published.

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


def _unpublished_model(ctx: PolicyContext, parent: Model) -> str | None:
    if parent.package_name == ctx.project.name or parent.is_public:
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
    table_dmesh = source.meta.get("dmesh")
    if isinstance(table_dmesh, Mapping) and table_dmesh.get("product"):
        return None
    return (
        f"source {source.source_name}.{source.name} of domain {domain}, which is not a published product; "
        f"read it with `dmesh-dbt consume {domain}.<product>`"
    )


@rule("DM008", "public-model-key-tested")
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


@rule("DM009", "pii-unmarked-suspect")
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
    from dmesh_dbt.scan.names import match_name

    matches = {}  # column names repeat across models (customer_id, email): match each once
    for model in ctx.project.public_models:
        for column in model.columns:
            where = f"{model.display_name}.{column.name}"
            if column.pii == NOT_PII and not column.pii_reason:
                yield Violation(
                    f"{where} is marked `pii: none` without a reason; add `pii_reason:` to its meta", model, column.name
                )
                continue
            if column.pii is not None:
                continue
            if column.name not in matches:
                matches[column.name] = match_name(column.name)
            match = matches[column.name]
            if match is not None:
                yield Violation(
                    f"{where} looks like {match.pii_class} (name matches {match.pattern!r}) but has no PII class; "
                    f"add `meta: {{pii: {match.pii_class}}}`, or `{{pii: none, pii_reason: ...}}` if it is not PII",
                    model,
                    column.name,
                )


def _has_tested_key(model: Model) -> bool:
    if any(c.is_unique and c.is_not_null for c in model.columns):
        return True
    if any(c.type == "primary_key" and c.columns for c in model.constraints):
        return True
    return any(t.name == "unique_combination_of_columns" for t in model.tests)


def _is_member(enum: type[PiiClass] | type[Strategy], value: str) -> bool:
    return value in {m.value for m in enum}


# ----------------------------------------------------------------------------------------------- the policy

#: The rule id of an expired waiver.
EXPIRED_WAIVER = RuleInfo("DM010", "waiver-expired", "An expired waiver no longer covers its finding.")


@dataclass(frozen=True)
class Severities:
    """The severity of each rule after the mesh policy and the domain's overrides."""

    by_rule: Mapping[str, Severity | None]

    def of(self, rule_id: str) -> Severity | None:
        """The rule's severity; None when the rule is off. Rules the policy does not name are errors."""
        return self.by_rule.get(rule_id, Severity.ERROR)


def resolve_severities(domain: DomainConfig, mesh: Mapping[str, Any] | None = None) -> Severities:
    """Mesh-wide severities with the domain's overrides applied; ConfigError on an unknown or locked rule."""
    document = mesh if mesh is not None else _shipped_policy()
    mesh_rules: Mapping[str, str] = document.get("rules") or {}
    locked = set(document.get("locked") or ())
    severities = {rule_id: _parse_severity(value, rule_id, "the mesh policy") for rule_id, value in mesh_rules.items()}
    for rule_id, value in domain.policy.items():
        if rule_id not in severities and rule_id not in known_rule_ids():
            raise ConfigError(f"{DOMAIN_FILE} policy names unknown rule {rule_id!r}; known rules: {_rule_list()}")
        parsed = _parse_severity(value, rule_id, DOMAIN_FILE)
        if rule_id in locked and parsed != severities.get(rule_id, Severity.ERROR):
            raise ConfigError(
                f"{DOMAIN_FILE} policy changes {rule_id}, which the mesh policy locks; "
                f"remove it, or waive single findings under `waivers:` with an approver"
            )
        severities[rule_id] = parsed
    return Severities(severities)


@cache
def _shipped_policy() -> Mapping[str, Any]:
    return MappingProxyType(policy_document())


def _parse_severity(value: object, rule_id: str, where: str) -> Severity | None:
    key = _severity_word(value).lower()
    if key not in _SEVERITIES:
        raise ConfigError(f"{where} gives {rule_id} severity {value!r}; use error, warning or off")
    return _SEVERITIES[key]


def known_rule_ids() -> set[str]:
    """Every rule id a policy or waiver may name: policy rules, change kinds and the version gate."""
    from dmesh_dbt.changes import CHANGE_KINDS, KEPT_VERSION_NOT_DEPRECATED

    return set(RULES) | {k.id for k in CHANGE_KINDS} | {KEPT_VERSION_NOT_DEPRECATED.id, EXPIRED_WAIVER.id}


def _rule_list() -> str:
    return ", ".join(sorted(known_rule_ids()))


def evaluate_policy(ctx: PolicyContext, severities: Severities) -> list[Finding]:
    """Run every rule that is not off and return its violations as Findings at the configured severity."""
    findings = []
    for rule_id, registered in sorted(RULES.items()):
        severity = severities.of(rule_id)
        if severity is None:
            continue
        for violation in registered.check(ctx):
            findings.append(_finding(rule_id, severity, violation))
    return findings


def _finding(rule_id: str, severity: Severity, violation: Violation) -> Finding:
    model = violation.model
    return Finding(
        rule_id=rule_id,
        severity=severity,
        message=violation.message,
        model=model.display_name if model else None,
        column=violation.column,
        path=model.declared_in if model else None,
    )


# ----------------------------------------------------------------------------------------------- dmesh.yml


def load_domain_config(project_dir: Path, project_name: str) -> DomainConfig:
    """The domain's ``dmesh.yml`` (policy overrides, waivers, owner); defaults when the project has none."""
    path = project_dir / DOMAIN_FILE
    if not path.is_file():
        return DomainConfig(name=project_name)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}; fix the syntax") from None
    if not isinstance(document, Mapping):
        raise ConfigError(f"{path} must be a YAML mapping (domain:, owner:, policy:, waivers:)")
    policy = document.get("policy") or {}
    if not isinstance(policy, Mapping):
        raise ConfigError(f"`policy:` in {path} must map rule ids to error, warning or off")
    return DomainConfig(
        name=str(document.get("domain") or project_name),
        owner=str(document["owner"]) if document.get("owner") else None,
        policy={str(k): _severity_word(v) for k, v in policy.items()},
        waivers=parse_waivers(document.get("waivers") or [], path),
        path=path,
    )


def _severity_word(value: object) -> str:
    """YAML 1.1 reads a bare ``off`` as false: take it as the word the user wrote."""
    return OFF if value is False else str(value)


_WAIVER_FIELDS = ("rule", "model", "reason", "approver", "expires")


def parse_waivers(entries: object, path: Path) -> tuple[Waiver, ...]:
    """Waivers from YAML; ConfigError naming the entry and the missing field when one is incomplete."""
    if not isinstance(entries, list):
        raise ConfigError(f"`waivers:` in {path} must be a list of entries with {', '.join(_WAIVER_FIELDS)}")
    return tuple(_waiver(entry, index, path) for index, entry in enumerate(entries, start=1))


def _waiver(entry: object, index: int, path: Path) -> Waiver:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"waiver {index} in {path} must be a mapping with {', '.join(_WAIVER_FIELDS)}")
    missing = [name for name in _WAIVER_FIELDS if not str(entry.get(name) or "").strip()]
    if missing:
        raise ConfigError(
            f"waiver {index} in {path} lacks {', '.join(missing)}; every waiver needs "
            f"{', '.join(_WAIVER_FIELDS)} (expires as YYYY-MM-DD)"
        )
    rule_id = str(entry["rule"])
    if rule_id not in known_rule_ids():
        raise ConfigError(f"waiver {index} in {path} names unknown rule {rule_id!r}; known rules: {_rule_list()}")
    if rule_id == EXPIRED_WAIVER.id:
        raise ConfigError(f"waiver {index} in {path} waives {rule_id}; renew the expired waiver instead")
    return Waiver(
        rule=rule_id,
        model=str(entry["model"]),
        column=str(entry["column"]) if entry.get("column") else None,
        reason=str(entry["reason"]),
        approver=str(entry["approver"]),
        expires=_expiry(entry["expires"], index, path),
    )


def _expiry(value: object, index: int, path: Path) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"waiver {index} in {path} has expires {value!r}; write it as YYYY-MM-DD") from None


def split_waivers(waivers: Iterable[Waiver], today: date) -> tuple[tuple[Waiver, ...], list[Finding]]:
    """The waivers in force, and a DM010 finding for each expired one."""
    in_force = []
    expired = []
    for waiver in waivers:
        if not waiver.is_expired(today):
            in_force.append(waiver)
            continue
        expired.append(
            Finding(
                rule_id=EXPIRED_WAIVER.id,
                severity=Severity.ERROR,
                message=(
                    f"waiver of {waiver.rule} for {waiver.subject} expired on {waiver.expires} "
                    f"(approved by {waiver.approver}); renew it with a new approval and expiry, or fix the finding"
                ),
                model=waiver.model,
                column=waiver.column,
                path=DOMAIN_FILE,
            )
        )
    return tuple(in_force), expired

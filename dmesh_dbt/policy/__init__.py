"""Mesh policy rules, their severities (mesh-wide, with domain overrides) and audited waivers.

Each rule is one small function registered with ``@rule``: a stable id, a name, and a docstring whose first line
is the summary and whose body shows a failing and a fixed example. A rule yields Violations (a message naming
the model/column and the fix); ``evaluate_policy`` turns them into Findings at the configured severity. Adding a
rule touches one place: a new decorated function in ``dmesh_dbt/policy/rules.py``.

Severities come from the ``rules:`` section of the mesh policy (``data/mesh_policy.yml``); a domain overrides
them under ``policy:`` in its ``dmesh.yml``, except rules the mesh lists as ``locked``. A rule is waived only by
a ``waivers:`` entry in ``dmesh.yml`` with a reason, an approver and an expiry date; an expired waiver is itself
a violation (DM010).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from dmesh_dbt.artifacts import Model, Project
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.pii import policy_document
from dmesh_dbt.report import Finding, RuleInfo, Severity, Waiver

#: The severity that switches a rule off.
OFF = "off"
_SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, OFF: None}

#: The domain descriptor beside dbt_project.yml.
DOMAIN_FILE = "dmesh.yml"

if TYPE_CHECKING:
    from dmesh_dbt.scan.detect import Suspect


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
    #: Suspects found by sampling values (`check --sample N`); empty when only names are checked.
    sampled_suspects: tuple[Suspect, ...] = ()


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


# Importing the rules registers them (last: they import the names above).
from dmesh_dbt.policy.rules import mask_exceptions  # noqa: E402

__all__ = [
    "DOMAIN_FILE",
    "EXPIRED_WAIVER",
    "OFF",
    "RULES",
    "DomainConfig",
    "PolicyContext",
    "Rule",
    "Severities",
    "Violation",
    "evaluate_policy",
    "known_rule_ids",
    "load_domain_config",
    "mask_exceptions",
    "parse_waivers",
    "resolve_severities",
    "rule",
    "split_waivers",
]

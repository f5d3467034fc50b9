"""The whole rule registry: severities from the mesh policy and a domain's overrides, the rule ids a policy or
waiver may name, and the evaluation that turns rules' Violations into Findings.

Importing this module registers every rule (``policy/rules.py``, ``pii_lineage.py``, ``drift.py``,
``versions.py``) before anything here reads ``RULES``: a registry read half-filled would skip rules (fail open)
or refuse a waiver of a rule it had not loaded yet. ``policy/engine.py`` holds the registry itself so the rule
modules can register without loading one another, and so ``scan``, which reads only the mesh policy
(``policy/mesh.py``), loads no rule at all (issue 16: start-up time).
"""

from __future__ import annotations

# Importing a rule module registers its rules (by module, not from the package: the face loads this module).
import dmesh_dbt.policy.drift
import dmesh_dbt.policy.pii_lineage
import dmesh_dbt.policy.rules
import dmesh_dbt.policy.versions  # noqa: F401
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.policy.engine import (
    DOMAIN_FILE,
    EXPIRED_WAIVER,
    OFF,
    PUBLISHED_PII,
    RULES,
    DomainConfig,
    PolicyContext,
    Severities,
    Violation,
    severity_word,
)
from dmesh_dbt.policy.mesh import MeshPolicyFile, shipped_mesh_policy
from dmesh_dbt.report import Finding, Severity

__all__ = ["RULES", "evaluate_policy", "known_rule_ids", "resolve_severities", "rule_list"]

_SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, OFF: None}


def resolve_severities(domain: DomainConfig, mesh: MeshPolicyFile | None = None) -> Severities:
    """Mesh-wide severities with the domain's overrides applied.

    ConfigError on an unknown rule, and on a domain that changes or waives a rule the mesh policy locks: only
    the mesh policy (the platform's file) can change those.
    """
    mesh = mesh or shipped_mesh_policy()
    severities = {
        str(rule_id): _parse_severity(value, str(rule_id), f"the mesh policy {mesh.source}")
        for rule_id, value in mesh.rules.items()
    }
    for rule_id, value in domain.policy.items():
        if rule_id not in severities and rule_id not in known_rule_ids():
            raise ConfigError(f"{DOMAIN_FILE} policy names unknown rule {rule_id!r}; known rules: {rule_list()}")
        parsed = _parse_severity(value, rule_id, DOMAIN_FILE)
        if rule_id in mesh.locked and parsed != severities.get(rule_id, Severity.ERROR):
            raise ConfigError(
                f"{DOMAIN_FILE} policy changes {rule_id}, which the mesh policy locks ({mesh.source}); remove it: "
                "only the platform's mesh policy can change a locked rule"
            )
        severities[rule_id] = parsed
    for waiver in domain.waivers:
        if waiver.rule in mesh.locked:
            raise ConfigError(
                f"{DOMAIN_FILE} waives {waiver.rule} for {waiver.subject}, which the mesh policy locks "
                f"({mesh.source}); fix the finding instead: only the platform's mesh policy can change a locked rule"
            )
    return Severities(severities)


def _parse_severity(value: object, rule_id: str, where: str) -> Severity | None:
    key = severity_word(value).lower()
    if key not in _SEVERITIES:
        raise ConfigError(f"{where} gives {rule_id} severity {value!r}; use error, warning or off")
    return _SEVERITIES[key]


def known_rule_ids() -> set[str]:
    """The one registry of rule ids a policy or waiver may name: policy rules (DM), change kinds (BC, AC) and
    the version gate (VG)."""
    # Here: building the change kinds' examples costs every check, and only a waiver or an override asks.
    from dmesh_dbt.changes.kinds import CHANGE_KINDS, KEPT_VERSION_NOT_DEPRECATED

    apart = {KEPT_VERSION_NOT_DEPRECATED.id, EXPIRED_WAIVER.id, PUBLISHED_PII.id}
    return set(RULES) | {k.id for k in CHANGE_KINDS} | apart


def rule_list() -> str:
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

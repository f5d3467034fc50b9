"""Audited waivers: a ``waivers:`` entry in ``dmesh.yml`` with a reason, an approver and an expiry date waives one
rule's findings for one model (or column); an expired waiver is itself a violation (DM010).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.policy.engine import DOMAIN_FILE, EXPIRED_WAIVER
from dmesh_dbt.policy.registry import known_rule_ids, rule_list
from dmesh_dbt.report import Finding, Severity, Waiver

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
        raise ConfigError(f"waiver {index} in {path} names unknown rule {rule_id!r}; known rules: {rule_list()}")
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

"""Mesh policy rules, their severities (mesh-wide, with domain overrides) and audited waivers (a thin face).

``policy/engine.py``: the rule registry (``@rule``, ``RULES``) and the types a rule sees and returns;
``policy/registry.py``: the whole registry read (``evaluate_policy``, ``resolve_severities``, ``known_rule_ids``),
loading every rule module first; ``policy/rules.py``: the rules DM001 to DM009, each with its examples;
``policy/pii_lineage.py``: DM011, PII classes following column lineage; ``policy/drift.py``: DM015, YAML
columns against the warehouse's (catalog.json); ``policy/versions.py``: DM016, the template and package versions
against the mesh's minimum; ``policy/waivers.py``: waivers and DM010; ``policy/domain.py``: reading
``dmesh.yml``; ``policy/mesh.py``: the mesh policy file. Adding a rule touches one place: a new decorated
function in ``policy/rules.py``.

The face loads a name's module when the name is first used: importing ``policy.mesh`` (as ``scan`` does for its
thresholds) runs this file, and must not load every rule, lineage and the change kinds with it (issue 16).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmesh_dbt.lazy import face_getattr

if TYPE_CHECKING:
    from dmesh_dbt.policy.domain import load_domain_config
    from dmesh_dbt.policy.engine import (
        DOMAIN_FILE,
        EXPIRED_WAIVER,
        OFF,
        PUBLISHED_PII,
        DomainConfig,
        PolicyContext,
        Rule,
        Severities,
        Violation,
        rule,
    )
    from dmesh_dbt.policy.registry import RULES, evaluate_policy, known_rule_ids, resolve_severities
    from dmesh_dbt.policy.rules import mask_exceptions
    from dmesh_dbt.policy.waivers import parse_waivers, split_waivers

#: Each name of the face and the module that defines it. RULES comes through ``registry``, which registers
#: every rule before anyone can read it.
_HOMES = {
    "DOMAIN_FILE": "engine",
    "EXPIRED_WAIVER": "engine",
    "OFF": "engine",
    "PUBLISHED_PII": "engine",
    "RULES": "registry",
    "DomainConfig": "engine",
    "PolicyContext": "engine",
    "Rule": "engine",
    "Severities": "engine",
    "Violation": "engine",
    "evaluate_policy": "registry",
    "known_rule_ids": "registry",
    "load_domain_config": "domain",
    "mask_exceptions": "rules",
    "parse_waivers": "waivers",
    "resolve_severities": "registry",
    "rule": "engine",
    "split_waivers": "waivers",
}

__all__ = [
    "DOMAIN_FILE",
    "EXPIRED_WAIVER",
    "OFF",
    "PUBLISHED_PII",
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


__getattr__ = face_getattr(__name__, _HOMES)

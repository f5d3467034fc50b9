"""Mesh policy rules, their severities (mesh-wide, with domain overrides) and audited waivers (a thin face).

``policy/engine.py``: the rule registry (``@rule``, ``RULES``, ``known_rule_ids``), severities and
``evaluate_policy``; ``policy/rules.py``: the rules DM001 to DM009, each with its examples;
``policy/pii_lineage.py``: DM011, PII classes following column lineage; ``policy/drift.py``: DM015, YAML
columns against the warehouse's (catalog.json); ``policy/versions.py``: DM016, the template and package versions
against the mesh's minimum;
``policy/waivers.py``: waivers and DM010; ``policy/domain.py``: reading ``dmesh.yml``. Adding a rule touches one
place: a new decorated function in ``policy/rules.py``.
"""

from dmesh_dbt.policy import drift, pii_lineage, versions  # noqa: F401  (importing registers DM015, DM011, DM016)
from dmesh_dbt.policy.domain import load_domain_config
from dmesh_dbt.policy.engine import (
    DOMAIN_FILE,
    EXPIRED_WAIVER,
    OFF,
    PUBLISHED_PII,
    RULES,
    DomainConfig,
    PolicyContext,
    Rule,
    Severities,
    Violation,
    evaluate_policy,
    known_rule_ids,
    resolve_severities,
    rule,
)
from dmesh_dbt.policy.rules import mask_exceptions  # importing the rules registers them
from dmesh_dbt.policy.waivers import parse_waivers, split_waivers

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

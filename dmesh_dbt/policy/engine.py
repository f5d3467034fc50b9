"""The policy engine: the rule registry (``@rule``, ``RULES``), what a rule sees (``PolicyContext``) and says
(``Violation``), and the severities' type. Reading the whole registry (severities, evaluation, known rule ids)
is ``policy/registry.py``'s, which loads every rule module first.

Each rule is one small function registered with ``@rule`` (in ``policy/rules.py``): a stable id, a name, a
docstring whose first line is the summary and whose body shows a failing and a fixed example, and ``examples``:
minimal projects it must flag and must leave alone. Severities come from the ``rules:`` section of the mesh
policy (``data/mesh_policy.yml``); a domain overrides them under ``policy:`` in its ``dmesh.yml``, except rules
the mesh lists as ``locked``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from dmesh_dbt.artifacts import Catalog, Model, Project
from dmesh_dbt.examples import Examples
from dmesh_dbt.lineage import Lineage
from dmesh_dbt.lineage_cache import LineageCache
from dmesh_dbt.policy.mesh import MeshPolicyFile, shipped_mesh_policy
from dmesh_dbt.project import DMESH_FILE
from dmesh_dbt.report import RuleInfo, Severity, Waiver

if TYPE_CHECKING:
    # Only a type here: importing the scan's detectors costs every check start-up time for nothing.
    from dmesh_dbt.scan.detect import Suspect

#: The severity that switches a rule off.
OFF = "off"

#: The domain descriptor beside dbt_project.yml.
DOMAIN_FILE = DMESH_FILE  # one name for the file, defined where it is read


class Violation(msgspec.Struct, frozen=True):
    """What a rule found, before the policy gives it a severity."""

    message: str
    model: Model | None = None
    column: str | None = None


class DomainConfig(msgspec.Struct, frozen=True):
    """The parts of a domain's ``dmesh.yml`` that check reads."""

    name: str
    owner: str | None = None
    policy: Mapping[str, str] = msgspec.field(default_factory=dict)  # rule id -> error | warning | off
    waivers: tuple[Waiver, ...] = ()
    path: Path | None = None
    #: Classes the domain's build hashes with the shared mesh key: the dbt var ``dmesh_joinable_pii_classes`` of its
    #: dbt_project.yml, which the macros read (none when it is not set).
    joinable_pii_classes: frozenset[str] = frozenset()
    #: The template version the project was rendered from (.copier-answers.yml) and the `dmesh` dbt package
    #: version `dbt deps` installed; None when not made from the template, or the package is not installed.
    template_version: str | None = None
    dmesh_package_version: str | None = None


class PolicyContext(msgspec.Struct, frozen=True, dict=True):
    """Everything a rule may look at."""

    project: Project
    domain: DomainConfig
    today: date
    #: Suspects found by sampling values (`check --sample N`); empty when only names are checked.
    sampled_suspects: tuple[Suspect, ...] = ()
    #: The mesh policy that applies (its ``minimum_versions``); the shipped one unless check loaded another.
    mesh: MeshPolicyFile = msgspec.field(default_factory=shipped_mesh_policy)
    #: The relations' real columns (``target/catalog.json``, from ``dbt docs generate``); None without one.
    catalog: Catalog | None = None
    #: Nodes' lineage computed by earlier runs (``target/dmesh_lineage.cache``); None: every node is parsed.
    lineage_cache: LineageCache | None = None

    @cached_property
    def lineage(self) -> Lineage:
        """The project's column lineage, built once for every rule that follows it (each node parsed once)."""
        return Lineage(self.project, self.lineage_cache)


RuleCheck = Callable[[PolicyContext], Iterable[Violation]]


class Rule(msgspec.Struct, frozen=True):
    """A registered policy rule: its id, name, check and documented examples."""

    id: str
    name: str
    check: RuleCheck
    #: Projects the rule must flag and projects it must leave alone (``tests/unit/test_rule_examples.py``).
    examples: Examples[Project] | None = None

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


def rule(rule_id: str, name: str, examples: Examples[Project] | None = None) -> Callable[[RuleCheck], RuleCheck]:
    """Register a rule function under a stable id, with the projects it must flag and must leave alone."""

    def register(check: RuleCheck) -> RuleCheck:
        if rule_id in RULES:
            raise ValueError(f"rule id {rule_id} registered twice")
        RULES[rule_id] = Rule(rule_id, name, check, examples)
        return check

    return register


# ----------------------------------------------------------------------------------------------- the policy

#: The rule id of an expired waiver.
EXPIRED_WAIVER = RuleInfo("DM010", "waiver-expired", "An expired waiver no longer covers its finding.")
#: The rule id of raw PII found by the release inspector (``dmesh_dbt.inspection``) in a published relation's
#: sampled values: ``publish`` refuses the release, ``check --sample-rows`` and ``scan`` report it.
PUBLISHED_PII = RuleInfo(
    "DM012", "published-values-clean", "No sampled value of a published relation holds raw PII, anywhere inside it."
)


class Severities(msgspec.Struct, frozen=True):
    """The severity of each rule after the mesh policy and the domain's overrides."""

    by_rule: Mapping[str, Severity | None]

    def of(self, rule_id: str) -> Severity | None:
        """The rule's severity; None when the rule is off. Rules the policy does not name are errors."""
        return self.by_rule.get(rule_id, Severity.ERROR)


def severity_word(value: object) -> str:
    """YAML 1.1 reads a bare ``off`` as false: take it as the word the user wrote."""
    return OFF if value is False else str(value)

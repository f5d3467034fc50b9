"""Every policy rule and change kind against the examples it declares beside its code, without dbt.

Each rule must flag each of its failing example projects and leave each passing one alone; each change kind
must be found between each failing (old, new) pair and not between each passing one. A rule or kind without
both kinds of example fails here. The same rules on projects dbt really parsed: tests/integration/test_check_cases.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from dmesh_dbt.artifacts import Project
from dmesh_dbt.changes.detect import find_changes
from dmesh_dbt.changes.kinds import CHANGE_KINDS, ChangeKind
from dmesh_dbt.examples import DOMAIN
from dmesh_dbt.policy.engine import DomainConfig, PolicyContext, Rule
from dmesh_dbt.policy.registry import RULES

TODAY = date(2026, 12, 1)


def flagged(rule: Rule, project: Project, failing: bool) -> list[str]:
    """The messages of ``rule``'s violations in ``project`` (a domain with no owner in dmesh.yml, set as the rule's
    examples ask for its ``failing`` or passing side)."""
    examples = rule.examples
    side = {} if examples is None else examples.failing_domain if failing else examples.passing_domain
    settings = {**(examples.domain if examples is not None else {}), **side}
    context = examples.context if examples is not None else {}
    ctx = PolicyContext(project, DomainConfig(name=DOMAIN, **settings), TODAY, **context)
    return [violation.message for violation in rule.check(ctx)]


def kinds_found(old: Project, new: Project) -> list[str]:
    return [change.kind.id for change in find_changes(old, new, TODAY)]


@pytest.mark.parametrize("rule", sorted(RULES.values(), key=lambda r: r.id), ids=lambda r: r.id)
def test_each_rule_flags_its_failing_examples_and_passes_its_passing_ones(rule: Rule) -> None:
    assert rule.examples is not None and rule.examples.fails and rule.examples.passes, f"{rule.id} lacks examples"
    for index, failing in enumerate(rule.examples.fails):
        assert flagged(rule, failing, True), f"{rule.id} does not flag its failing example {index}"
    for index, passing in enumerate(rule.examples.passes):
        assert flagged(rule, passing, False) == [], f"{rule.id} flags its passing example {index}"


@pytest.mark.parametrize("kind", CHANGE_KINDS, ids=lambda k: k.id)
def test_each_change_kind_is_found_in_its_failing_examples_only(kind: ChangeKind) -> None:
    assert kind.examples is not None and kind.examples.fails and kind.examples.passes, f"{kind.id} lacks examples"
    for index, (old, new) in enumerate(kind.examples.fails):
        assert kind.id in kinds_found(old, new), f"{kind.id} not found in its failing example {index}"
    for index, (old, new) in enumerate(kind.examples.passes):
        assert kind.id not in kinds_found(old, new), f"{kind.id} found in its passing example {index}"


def test_every_policy_rule_and_breaking_change_kind_is_covered() -> None:
    assert {"DM001", "DM009"} <= set(RULES)
    assert {k.id for k in CHANGE_KINDS if k.breaking} >= {"BC001", "BC013", "BC020", "BC021"}

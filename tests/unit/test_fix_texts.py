"""Every rule's fix text is true for that rule: no waiver offered for a rule the mesh policy locks, and no file
or folder named that the project does not have.

The texts are taken from what each rule and change kind really reports on the failing examples it declares
beside its code (as tests/unit/test_rule_examples.py runs them), so a new rule is covered without a new test.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from msgspec.structs import replace

from dmesh_dbt import examples as ex
from dmesh_dbt.artifacts import Project
from dmesh_dbt.changes import compare_projects
from dmesh_dbt.changes.kinds import CHANGE_KINDS, ChangeKind
from dmesh_dbt.policy.engine import DomainConfig, PolicyContext, Rule
from dmesh_dbt.policy.mesh import shipped_mesh_policy
from dmesh_dbt.policy.registry import RULES

TODAY = date(2026, 12, 1)
LOCKED = shipped_mesh_policy().locked
#: Files every domain project has, that a fix may tell the user to create, or dbt's artifacts a rule read.
PROJECT_FILES = {"dbt_project.yml", "dmesh.yml", "packages.yml", "target/manifest.json", "target/catalog.json"}
#: A path-like word: at least one slash between name characters (``models/core/_core.yml``, ``models/core``).
PATH_WORD = re.compile(r"[\w.-]+(?:/[\w.-]+)+")


def rule_texts(rule: Rule) -> list[tuple[Project, str]]:
    settings = rule.examples.domain if rule.examples is not None else {}
    context = rule.examples.context if rule.examples is not None else {}
    texts = []
    for project in rule.examples.fails if rule.examples is not None else ():
        ctx = PolicyContext(project, DomainConfig(name=ex.DOMAIN, **settings), TODAY, **context)
        texts.extend((project, violation.message) for violation in rule.check(ctx))
    return texts


def kind_texts(kind: ChangeKind) -> list[str]:
    texts = [kind.fix] if kind.fix else []
    for old, new in kind.examples.fails if kind.examples is not None else ():
        texts.extend(f.message for f in compare_projects(old, new, None, TODAY).gate_findings if f.rule_id == kind.id)
    return texts


def offers_a_waiver(text: str) -> bool:
    return bool(re.search(r"\bwaiv", text, re.IGNORECASE))


@pytest.mark.parametrize("rule", [RULES[r] for r in sorted(LOCKED & set(RULES))], ids=lambda r: r.id)
def test_a_locked_rule_offers_no_waiver(rule: Rule) -> None:
    texts = rule_texts(rule)
    assert texts, f"{rule.id}: its failing examples report nothing"
    assert [t for _, t in texts if offers_a_waiver(t)] == []


@pytest.mark.parametrize("kind", [k for k in CHANGE_KINDS if k.id in LOCKED], ids=lambda k: k.id)
def test_a_locked_change_kind_offers_no_waiver(kind: ChangeKind) -> None:
    texts = kind_texts(kind)
    assert texts, f"{kind.id}: its failing examples report nothing"
    assert [t for t in texts if offers_a_waiver(t)] == []


def test_locked_ids_are_rules_or_change_kinds_this_test_reads() -> None:
    # DM010 (a waiver expired: renewing it is its fix) and DM012 (the release inspection) report outside RULES.
    assert LOCKED - set(RULES) - {k.id for k in CHANGE_KINDS} == {"DM010", "DM012"}


def project_paths(project: Project) -> set[str]:
    """Every file the project's models are declared in, and every folder above them."""
    paths: set[str] = set()
    for model in project.models:
        for path in (model.original_file_path, model.declared_in):
            parts = path.split("/")
            paths.update("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    return paths


@pytest.mark.parametrize("rule", sorted(RULES.values(), key=lambda r: r.id), ids=lambda r: r.id)
def test_fix_texts_name_only_files_and_folders_the_project_has(rule: Rule) -> None:
    for project, text in rule_texts(rule):
        named = set(PATH_WORD.findall(text)) - PROJECT_FILES
        assert named <= project_paths(project), f"{rule.id} names {named - project_paths(project)}: {text}"
        if not any("marts" in path.split("/") for path in project_paths(project)):
            assert "marts" not in text, f"{rule.id} names a marts folder the project lacks: {text}"


def test_dm006_points_at_the_model_s_own_yaml_and_folder() -> None:
    pii = ex.column("email", meta={"pii": "email"})
    in_core = replace(
        ex.model("customers", ex.KEY, pii, post_hooks=()),
        original_file_path="models/core/customers.sql",
        patch_path="shop://models/core/_core.yml",
    )
    (text,) = [v.message for v in RULES["DM006"].check(PolicyContext(ex.project(in_core), DomainConfig("shop"), TODAY))]
    assert (
        'add `post_hook: ["{{ dmesh.publish_masked() }}"]` under `config:` of customers in models/core/_core.yml'
        in text
    )
    assert "`models: shop: core:` in dbt_project.yml" in text and "marts" not in text
    sql_only = replace(in_core, original_file_path="models/customers.sql", patch_path=None)
    (text,) = [
        v.message for v in RULES["DM006"].check(PolicyContext(ex.project(sql_only), DomainConfig("shop"), TODAY))
    ]
    assert text.endswith(
        'add `{{ config(post_hook="{{ dmesh.publish_masked() }}") }}` at the top of models/customers.sql'
    )

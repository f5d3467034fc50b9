"""Table-driven: every change kind and every policy rule, one case per model of one parsed fixture project.

The fixture is the `dmesh-dbt init` example domain with one copy of its public ``customers`` mart per case
(tests/check_fixtures.py), parsed by real dbt before and after each case's mutation.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from msgspec.structs import replace

from dmesh_dbt.artifacts import Project, load_manifest
from dmesh_dbt.changes.gate import compare_projects
from dmesh_dbt.changes.kinds import Comparison
from dmesh_dbt.check import baseline_from_registry, run_check
from dmesh_dbt.policy.engine import DomainConfig, PolicyContext
from dmesh_dbt.policy.registry import evaluate_policy, resolve_severities
from dmesh_dbt.project import ensure_project_id
from dmesh_dbt.registry import ConsumerRecord, Registry
from tests.check_fixtures import (
    ALL_CASES,
    CHANGE_CASES,
    GROUPS,
    RULE_CASES,
    Case,
    CaseProject,
    build_case_projects,
    parse,
    write_cases,
)
from tests.helpers import run_dbt
from tests.manifest_oracle import oracle_project

TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseProject]:
    """The case project parsed for DuckDB (``dev``) and BigQuery (``prod``), before and after the cases."""
    return build_case_projects(tmp_path_factory.getbasetemp() / "check-cases", ALL_CASES)


@pytest.fixture(scope="module")
def cases(projects: dict[str, CaseProject]) -> CaseProject:
    return projects["dev"]


@pytest.fixture(scope="module")
def old(cases: CaseProject) -> Project:
    return load_manifest(cases.old_manifest)


@pytest.fixture(scope="module")
def new(cases: CaseProject) -> Project:
    return load_manifest(cases.new_manifest)


@pytest.fixture(scope="module")
def comparison(old: Project, new: Project) -> Comparison:
    return compare_projects(old, new, today=TODAY)


def test_the_typed_reader_makes_of_every_case_the_project_the_dict_reader_made(
    projects: dict[str, CaseProject],
) -> None:
    """Every case manifest, on DuckDB and BigQuery, old and new: versions, constraints, quoted names, meta in
    config or beside it (tests/manifest_oracle.py holds the dict reader)."""
    for project in projects.values():
        for path in (project.old_manifest, project.new_manifest):
            read, expected = load_manifest(path), replace(oracle_project(path.read_bytes()), manifest_path=path)
            assert read == expected and repr(read) == repr(expected), path


def _kinds_on(comparison: Comparison, case: Case) -> set[str]:
    return {c.kind.id for c in comparison.changes if c.model == case.name}


@pytest.mark.parametrize("case", CHANGE_CASES, ids=lambda c: c.name)
def test_change_kind(case: Case, comparison: Comparison) -> None:
    assert _kinds_on(comparison, case) == set(case.expected)


GATE_FAILURES = {
    "ch_unchanged": set(),
    "ch_type_same_family": set(),
    "ch_column_added": set(),
    "ch_model_added": set(),
    "ch_model_retired": set(),
    "ch_deprecation_scheduled": set(),
    "ch_column_removed": {"BC003"},
    "ch_pii_unmarked": {"BC020"},
    "vg_new_version": set(),
    "vg_additive_version": set(),
    "vg_kept_version_not_deprecated": {"VG002"},
    "vg_breaking_in_place": {"BC003"},
    "vg_version_removed": {"BC002"},
    "vg_latest_moved_back": {"BC011"},
    "vg_leak_in_new_version": {"BC020"},
}


@pytest.mark.parametrize("name", sorted(GATE_FAILURES))
def test_version_gate(name: str, comparison: Comparison) -> None:
    failing = {f.rule_id for f in comparison.gate_findings if f.fails and (f.model or "").split(".v")[0] == name}
    assert failing == GATE_FAILURES[name]


def test_no_additive_case_is_reported_as_breaking(comparison: Comparison) -> None:
    additive = [c.name for c in CHANGE_CASES if not any(k.startswith("BC") for k in c.expected)]
    assert {c.model for c in comparison.breaking if not c.in_new_version} & set(additive) == set()


def test_gate_messages_say_how_to_release_a_new_version(comparison: Comparison) -> None:
    removed = next(f for f in comparison.gate_findings if f.model == "ch_column_removed")
    assert "ch_column_removed: column city was removed" in removed.message
    assert "add `versions:` with v2 carrying the change and keep v1 (with a `deprecation_date`)" in removed.message
    kept = next(f for f in comparison.gate_findings if f.rule_id == "VG002")
    assert kept.model == "vg_kept_version_not_deprecated.v1" and "set `deprecation_date:` on version 1" in kept.message


@pytest.mark.parametrize("case", RULE_CASES, ids=lambda c: c.name)
def test_policy_rule(case: Case, new: Project) -> None:
    findings = _policy_findings(new)
    assert {f.rule_id for f in findings if f.model == case.name} == set(case.expected)


def _policy_findings(project: Project) -> list:  # type: ignore[type-arg]
    domain = DomainConfig(name="payments", owner="payments-team@example.com")
    return evaluate_policy(PolicyContext(project, domain, TODAY), resolve_severities(domain))


def test_policy_messages_name_the_column_and_the_fix(new: Project) -> None:
    messages = {(f.rule_id, f.model): f.message for f in _policy_findings(new)}
    assert (
        messages[("DM002", "p_untyped_column")]
        == "p_untyped_column.city has no data_type; add `data_type:` to the column"
    )
    assert "p_pii_suspect.contact_email looks like email" in messages[("DM009", "p_pii_suspect")]
    assert "add `meta: {pii: email}`" in messages[("DM009", "p_pii_suspect")]
    assert "use one of: email, phone" in messages[("DM005", "p_unknown_pii_class")]


def test_public_pii_without_the_publishing_post_hook_is_unmasked(new: Project) -> None:
    """dbt adds model-level hooks to the project's, so this case edits the parsed model instead of its YAML."""
    models = tuple(replace(m, post_hooks=()) if m.name == "p_clean" else m for m in new.models)
    findings = [f for f in _policy_findings(replace(new, models=models)) if f.model == "p_clean"]
    assert [f.rule_id for f in findings] == ["DM006"]
    assert findings[0].message.startswith("public model p_clean has PII columns (full_name, email, phone,")
    # The fix names the model's own YAML entry, and its folder's key in dbt_project.yml: files the project has.
    assert (
        f'add `post_hook: ["{{{{ dmesh.publish_masked() }}}}"]` under `config:` of p_clean in {findings[0].path}'
        in (findings[0].message)
    )
    assert '`+post-hook: ["{{ dmesh.publish_masked() }}"]` for its whole folder' in findings[0].message


def test_cross_domain_messages_say_what_to_use_instead(new: Project) -> None:
    messages = {f.model: f.message for f in _policy_findings(new) if f.rule_id == "DM007"}
    assert messages["p_cross_domain_protected"] == (
        "p_cross_domain_protected depends on ledger.ledger_entries, which is protected, not a published "
        "product; use a public model of ledger"
    )
    assert "source risk.scores_raw of domain risk" in messages["p_unconsumed_source"]
    assert "`dmesh-dbt consume risk.<product>`" in messages["p_unconsumed_source"]


def test_mask_exception_messages_ask_for_an_approver(new: Project) -> None:
    message = next(f.message for f in _policy_findings(new) if f.model == "p_mask_exception_unapproved")
    assert "mask_exception without both a reason and an approver" in message


def test_the_example_domain_passes_its_own_policy(new: Project) -> None:
    assert [f for f in _policy_findings(new) if f.model in {"customers", "payments"}] == []


def test_unchanged_bigquery_manifest_has_no_changes_against_duckdb(
    projects: dict[str, CaseProject], old: Project
) -> None:
    """Types are compared by family across adapters: varchar/string, double precision/float64, bigint/INT64."""
    bigquery = projects["prod"]
    old_on_bigquery = load_manifest(bigquery.old_manifest)
    assert old_on_bigquery.adapter_type == "bigquery"
    assert compare_projects(old, old_on_bigquery, today=TODAY).changes == ()


@pytest.fixture(scope="module")
def bigquery_comparison(projects: dict[str, CaseProject]) -> Comparison:
    bigquery = projects["prod"]
    return compare_projects(load_manifest(bigquery.old_manifest), load_manifest(bigquery.new_manifest), today=TODAY)


@pytest.mark.parametrize("case", CHANGE_CASES, ids=lambda c: c.name)
def test_bigquery_manifests_give_the_same_changes(case: Case, bigquery_comparison: Comparison) -> None:
    """Keys and nullability are judged from what the project declares, whatever BigQuery enforces."""
    assert _kinds_on(bigquery_comparison, case) == set(case.expected)


def test_a_registry_release_is_the_baseline_and_consumers_are_named(cases: CaseProject, tmp_path: Path) -> None:
    """The last published release's manifest is compared with, and each breaking change names who it hits."""
    url = str(tmp_path / "registry")
    registry = Registry.open(url)
    registry.publish(
        "payments",
        "1.0.0",
        "payments-team@example.com",
        (),
        {"manifest.json": cases.old_manifest.read_bytes()},
        ensure_project_id(cases.path),  # the release is this project's own: only those are its baseline
    )
    for consumer, product, version, columns in [
        ("risk", "ch_column_removed", None, ("customer_id", "city")),
        ("marketing", "ch_column_removed", None, ("customer_id", "email")),
        ("finance", "ch_access_narrowed", None, ("customer_id",)),
        ("audit", "vg_breaking_in_place", "1", ()),  # pinned to v1, reads every column
    ]:
        registry.record_consumer(
            ConsumerRecord(consumer, "payments", product, version, columns, "2026-11-25T10:00:00Z")
        )

    baseline = baseline_from_registry(url, cases.path)
    assert baseline is not None and baseline.label == f"payments 1.0.0 published in {url}"
    report = run_check(cases.path, baseline, today=TODAY, parse=False)
    impacts = {(f.rule_id, f.model): [str(i) for i in f.impacts] for f in report.findings if f.impacts}
    assert impacts == {
        ("BC003", "ch_column_removed"): ["risk (city)"],
        ("BC009", "ch_access_narrowed"): ["finance (customer_id)"],
        ("BC003", "vg_breaking_in_place.v1"): ["audit (city)"],  # reads every column (select *)
    }
    assert report.exit_code == 1


def test_no_release_yet_means_no_baseline(cases: CaseProject, tmp_path: Path) -> None:
    assert baseline_from_registry(str(tmp_path / "empty-registry"), cases.path) is None


#: Changes that break consumers but that dbt's own contract check (state:modified) lets through on BigQuery.
DBT_MISSES = (
    "ch_access_narrowed",
    "ch_group_moved",
    "ch_not_null_test_removed",
    "ch_key_removed",
    "ch_primary_key_constraint_removed",
    "ch_accepted_values_changed",
    "ch_pii_unmarked",
    "ch_masking_weakened",
    "ch_mask_exception_added",
    "vg_latest_moved_back",
    "vg_deprecation_shortened",
    "vg_deprecation_removed",
)


def test_dbt_lets_through_what_check_blocks(projects: dict[str, CaseProject], tmp_path: Path) -> None:
    """`dbt ls -s state:modified` with the template's UnversionedBreakingChange-as-error passes on these cases;
    dmesh-dbt check fails each of them."""
    cases = tuple(c for c in ALL_CASES if c.name in DBT_MISSES)
    template = projects["dev"].path.parent.parent / "payments"  # the initialised example domain
    sides = {}
    for phase in ("old", "new"):
        sides[phase] = tmp_path / phase / "payments"
        shutil.copytree(template, sides[phase], symlinks=True, ignore=shutil.ignore_patterns("target", "logs"))
        write_cases(sides[phase], cases, phase, GROUPS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        old_manifest, new_manifest = pool.map(lambda side: parse(side, "prod"), (sides["old"], sides["new"]))
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(old_manifest, state / "manifest.json")

    env = {"DMESH_TARGET": "prod", "DMESH_BQ_METHOD": "oauth-secrets", "DMESH_BQ_TOKEN": "unused"}
    listed = run_dbt(sides["new"], "ls", "-s", "state:modified", "--state", str(state), env=env)  # exit 0
    assert "Breaking Change" not in listed.stdout  # not even a warning (column meta is not compared at all)

    comparison = compare_projects(load_manifest(old_manifest), load_manifest(new_manifest), today=TODAY)
    failing = {(f.model or "").split(".v")[0] for f in comparison.gate_findings if f.fails}
    assert failing == set(DBT_MISSES)

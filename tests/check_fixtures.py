"""One fixture project for the check tests, mutated per case: the `dmesh-dbt init` example domain plus one copy
of its public ``customers`` mart per case, each changed the way its case says.

Every case is a model of its own, so one ``dbt parse`` of the "old" project and one of the "new" project serve
every case (two parses instead of two per case). A case's mutation edits the model's YAML (a dict); its SQL is
``select * from customers`` (``dbt parse`` does not compare contracts with SQL).
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import init_domain, run_dbt

Yaml = dict[str, Any]
Mutation = Callable[[Yaml], Yaml | None]
CASES_DIR = Path("models") / "marts" / "cases"  # under marts: public, contracted, like the real products


@dataclass(frozen=True)
class Case:
    """A model in the fixture project: its YAML before (``old``) and after (``new``); None leaves it out."""

    name: str
    new: Mutation | None
    old: Mutation | None = field(default=lambda model: model)
    expected: frozenset[str] = frozenset()  # rule or change-kind ids expected on this model
    sql: str = "select * from {{ ref('customers') }}"


@dataclass(frozen=True)
class CaseProject:
    """The fixture project after both parses: its directory and the two manifests."""

    path: Path
    old_manifest: Path
    new_manifest: Path


def base_model(project: Path) -> Yaml:
    """The example domain's ``customers`` mart as YAML."""
    document = yaml.safe_load((project / "models" / "marts" / "_marts.yml").read_text())
    return next(m for m in document["models"] if m["name"] == "customers")


def column(model: Yaml, name: str) -> Yaml:
    """The column ``name`` of ``model`` (of the model itself, or of its first version that lists it)."""
    return next(c for c in model["columns"] if c["name"] == name)


def write_cases(project: Path, cases: Sequence[Case], phase: str, extra_yaml: Yaml | None = None) -> None:
    """Write ``models/cases/`` for ``phase`` ("old" or "new"): one YAML entry and SQL file(s) per case model."""
    directory = project / CASES_DIR
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    base = base_model(project)
    models = []
    for case in cases:
        mutate = case.old if phase == "old" else case.new
        if mutate is None:
            continue
        model = copy.deepcopy(base)
        model["name"] = case.name
        model = mutate(model) or model
        models.append(model)
        for identifier in _sql_files(model):
            (directory / f"{identifier}.sql").write_text(case.sql + "\n")
    document: Yaml = {"version": 2, "models": models, **(extra_yaml or {})}
    (directory / "_cases.yml").write_text(yaml.safe_dump(document, sort_keys=False))


def _sql_files(model: Yaml) -> list[str]:
    versions = model.get("versions")
    if not versions:
        return [model["name"]]
    return [f"{model['name']}_v{v['v']}" for v in versions]


def parse(project: Path, target: str = "dev") -> Path:
    """``dbt parse`` the project for ``target`` and return its manifest; on DuckDB (``dev``) ``dbt compile``, so
    the manifest carries the compiled SQL column lineage (DM011) reads, as after a build."""
    env = {"DMESH_TARGET": target}
    if target == "prod":  # BigQuery: parse needs a profile but never connects
        env.update(DMESH_BQ_METHOD="oauth-secrets", DMESH_BQ_TOKEN="unused", DMESH_BQ_PROJECT="dmesh-test")
    if target == "dev":  # models and snapshots only: compiling the hooks would run the masking policy's assertion
        run_dbt(
            project, "compile", "--no-partial-parse", "--select", "resource_type:model resource_type:snapshot", env=env
        )
    else:
        run_dbt(project, "parse", "--no-partial-parse", env=env)
    return project / "target" / "manifest.json"


@cache
def build_case_projects(
    parent: Path, cases: tuple[Case, ...], targets: tuple[str, ...] = ("dev", "prod")
) -> dict[str, CaseProject]:
    """Init the example domain once under ``parent``; parse its old and new case YAML per target (cached).

    Each (target, phase) gets its own copy of the project so the parses run two at a time.
    """
    template = init_domain(parent, "payments")
    install_other_domain(template, parent / "ledger")
    jobs = {}
    for target in targets:
        for phase in ("old", "new"):
            copy_dir = parent / f"{target}-{phase}" / "payments"
            shutil.copytree(template, copy_dir, symlinks=True, ignore=shutil.ignore_patterns("target", "logs"))
            write_cases(copy_dir, cases, phase, GROUPS)
            jobs[target, phase] = copy_dir
    with ThreadPoolExecutor(max_workers=2) as pool:
        manifests = dict(zip(jobs, pool.map(lambda key: parse(jobs[key], key[0]), jobs), strict=True))
    return {
        target: CaseProject(jobs[target, "new"], manifests[target, "old"], manifests[target, "new"])
        for target in targets
    }


def install_other_domain(project: Path, package: Path) -> None:
    """Another domain's project installed as a dbt package: one protected and one public model."""
    (package / "models").mkdir(parents=True)
    (package / "dbt_project.yml").write_text('name: ledger\nversion: "1.0.0"\nconfig-version: 2\n')
    (package / "models" / "ledger_entries.sql").write_text("select 1 as entry_id\n")
    (package / "models" / "ledger_balances.sql").write_text("select 1 as account_id\n")
    models = {
        "models": [
            {"name": "ledger_entries", "access": "protected"},
            {"name": "ledger_balances", "access": "public"},
        ]
    }
    (package / "models" / "_ledger.yml").write_text(yaml.safe_dump(models))
    packages = project / "packages.yml"
    packages.write_text(packages.read_text() + f'  - local: "{package}"\n')
    run_dbt(project, "deps")


#: Also in the fixture project: a second group ("group moved") and another domain's sources, one table
#: written by `dmesh-dbt consume` (a published product) and one written by hand.
GROUPS: Yaml = {
    "groups": [{"name": "finance", "owner": {"name": "Finance", "email": "finance@example.com"}}],
    "sources": [
        {
            "name": "risk",
            "schema": "risk_published",
            "meta": {"dmesh": {"domain": "risk", "owner": "risk-team@example.com"}},
            "tables": [
                {"name": "scores_consumed", "meta": {"dmesh": {"product": "risk.scores", "release": "1.0.0"}}},
                {"name": "scores_raw"},
            ],
        }
    ],
}


# ------------------------------------------------------------------------------------------------- mutations


def drop(name: str) -> Mutation:
    def mutate(model: Yaml) -> Yaml:
        model["columns"] = [c for c in model["columns"] if c["name"] != name]
        return model

    return mutate


def rename(name: str, new_name: str) -> Mutation:
    def mutate(model: Yaml) -> Yaml:
        column(model, name)["name"] = new_name
        return model

    return mutate


def set_column(name: str, **values: Any) -> Mutation:
    """Set keys of a column; a value of None deletes the key."""

    def mutate(model: Yaml) -> Yaml:
        target = column(model, name)
        for key, value in values.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
        return model

    return mutate


def add_column(name: str, **values: Any) -> Mutation:
    def mutate(model: Yaml) -> Yaml:
        model["columns"].append({"name": name, "data_type": "varchar", "description": f"The {name}.", **values})
        return model

    return mutate


def set_model(**values: Any) -> Mutation:
    def mutate(model: Yaml) -> Yaml:
        model.update(values)
        return model

    return mutate


def versions(*entries: Yaml, latest: int | None = None) -> Mutation:
    """Make the model versioned with ``entries`` (``{"v": 1, ...}``)."""

    def mutate(model: Yaml) -> Yaml:
        model["versions"] = [copy.deepcopy(e) for e in entries]
        if latest is not None:
            model["latest_version"] = latest
        return model

    return mutate


def chain(*mutations: Mutation) -> Mutation:
    def mutate(model: Yaml) -> Yaml:
        for mutation in mutations:
            model = mutation(model) or model
        return model

    return mutate


def keep(model: Yaml) -> Yaml:
    return model


#: A version whose columns are the model's without ``city``.
WITHOUT_CITY = [{"include": "all", "exclude": ["city"]}]
#: A version whose email column has lost its PII classification.
EMAIL_UNMARKED = [
    {"include": "all", "exclude": ["email"]},
    {"name": "email", "data_type": "varchar", "description": "Contact email address, lowercased."},
]
FUTURE = "2027-06-30"
SOONER = "2027-01-31"
PAST = "2026-01-01"

#: Change-classification cases: expected = change-kind ids found on the case's model (old -> new).
CHANGE_CASES: tuple[Case, ...] = (
    Case("ch_unchanged", keep),
    Case("ch_column_removed", drop("city"), expected=frozenset({"BC003"})),
    Case("ch_column_renamed", rename("city", "town"), expected=frozenset({"BC004"})),
    Case("ch_type_changed", set_column("payment_count", data_type="varchar"), expected=frozenset({"BC005"})),
    Case("ch_type_same_family", set_column("payment_count", data_type="integer")),
    Case("ch_not_null_test_removed", set_column("payment_count", data_tests=None), expected=frozenset({"BC006"})),
    Case(
        "ch_not_null_constraint_removed",
        set_column("lifetime_value_cents", data_tests=None),
        old=set_column("lifetime_value_cents", data_tests=None, constraints=[{"type": "not_null"}]),
        expected=frozenset({"BC006"}),
    ),
    Case(
        "ch_key_removed",
        set_column("customer_id", constraints=[{"type": "not_null"}], data_tests=["not_null"]),
        expected=frozenset({"BC007"}),
    ),
    # BigQuery does not enforce primary keys, and dbt does not flag dropping one there: we do, on every adapter.
    Case(
        "ch_primary_key_constraint_removed",
        set_column("customer_id", data_tests=None, constraints=[{"type": "not_null"}]),
        old=set_column("customer_id", data_tests=None),
        expected=frozenset({"BC007"}),
    ),
    Case("ch_key_kept_by_test", set_column("customer_id", constraints=[{"type": "not_null"}])),
    Case(
        "ch_accepted_values_changed",
        set_column("country_code", data_tests=[{"accepted_values": {"arguments": {"values": ["DE", "FR", "NL"]}}}]),
        old=set_column("country_code", data_tests=[{"accepted_values": {"arguments": {"values": ["DE", "FR"]}}}]),
        expected=frozenset({"BC008"}),
    ),
    Case("ch_access_narrowed", set_model(access="protected"), expected=frozenset({"BC009"})),
    Case("ch_group_moved", set_model(config={"group": "finance"}), expected=frozenset({"BC010"})),
    Case("ch_contract_unenforced", set_model(config={"contract": {"enforced": False}}), expected=frozenset({"BC013"})),
    Case("ch_pii_unmarked", set_column("email", meta=None), expected=frozenset({"BC020"})),
    Case(
        "ch_masking_weakened",
        set_column("email", meta={"pii": "email", "mask": "partial"}),
        expected=frozenset({"BC021"}),
    ),
    Case(
        "ch_mask_exception_added",
        set_column("email", meta={"pii": "email", "mask_exception": {"reason": "support", "approver": "dpo"}}),
        expected=frozenset({"BC021"}),
    ),
    Case("ch_masking_strengthened", set_column("ssn", meta={"pii": "national_id", "mask": "redact"})),
    Case("ch_model_removed", None, expected=frozenset({"BC001"})),
    Case("ch_model_retired", None, old=set_model(deprecation_date=PAST), expected=frozenset({"AC005"})),
    Case("ch_model_added", keep, old=None, expected=frozenset({"AC001"})),
    Case("ch_column_added", add_column("segment"), expected=frozenset({"AC003"})),
    Case("ch_deprecation_scheduled", set_model(deprecation_date=FUTURE), expected=frozenset({"AC004"})),
    # The version gate.
    Case(
        "vg_new_version",
        versions({"v": 1, "deprecation_date": FUTURE}, {"v": 2, "columns": WITHOUT_CITY}, latest=2),
        expected=frozenset({"AC002", "AC004", "BC003"}),
    ),
    Case(
        "vg_kept_version_not_deprecated",
        versions({"v": 1}, {"v": 2, "columns": WITHOUT_CITY}, latest=2),
        expected=frozenset({"AC002", "BC003"}),
    ),
    Case(
        "vg_breaking_in_place",
        versions({"v": 1, "columns": WITHOUT_CITY}),
        old=versions({"v": 1}),
        expected=frozenset({"BC003"}),
    ),
    Case(
        "vg_additive_version",
        versions(
            {"v": 1, "deprecation_date": FUTURE},
            {
                "v": 2,
                "columns": [{"include": "all"}, {"name": "segment", "data_type": "varchar", "description": "Segment."}],
            },
            latest=2,
        ),
        old=versions({"v": 1}),
        expected=frozenset({"AC002", "AC003", "AC004", "AC007"}),
    ),
    Case("vg_version_removed", versions({"v": 2}), old=versions({"v": 1}, {"v": 2}), expected=frozenset({"BC002"})),
    Case(
        "vg_version_retired",
        versions({"v": 2}),
        old=versions({"v": 1, "deprecation_date": PAST}, {"v": 2}),
        expected=frozenset({"AC005"}),
    ),
    Case(
        "vg_latest_moved_back",
        versions({"v": 1}, {"v": 2}, latest=1),
        old=versions({"v": 1}, {"v": 2}, latest=2),
        expected=frozenset({"BC011"}),
    ),
    Case(
        "vg_deprecation_shortened",
        versions({"v": 1, "deprecation_date": SOONER}, {"v": 2}),
        old=versions({"v": 1, "deprecation_date": FUTURE}, {"v": 2}),
        expected=frozenset({"BC012"}),
    ),
    Case(
        "vg_deprecation_removed",
        versions({"v": 1}, {"v": 2}),
        old=versions({"v": 1, "deprecation_date": FUTURE}, {"v": 2}),
        expected=frozenset({"BC012"}),
    ),
    Case(
        "vg_leak_in_new_version",
        versions({"v": 1, "deprecation_date": FUTURE}, {"v": 2, "columns": EMAIL_UNMARKED}, latest=2),
        expected=frozenset({"AC002", "AC004", "BC020"}),
    ),
)

#: Policy cases: expected = policy rule ids found on the case's model in the new manifest.
RULE_CASES: tuple[Case, ...] = (
    Case("p_clean", keep),
    Case("p_no_contract", set_model(config={"contract": {"enforced": False}}), expected=frozenset({"DM001"})),
    Case("p_untyped_column", set_column("city", data_type=None), expected=frozenset({"DM002"})),
    Case("p_undescribed_column", set_column("city", description=""), expected=frozenset({"DM003"})),
    Case("p_unknown_pii_class", set_column("email", meta={"pii": "e-mail"}), expected=frozenset({"DM005"})),
    Case(
        "p_unknown_strategy",
        set_column("email", meta={"pii": "email", "mask": "scramble"}),
        expected=frozenset({"DM005"}),
    ),
    Case("p_forbidden_class", add_column("card_cvv", meta={"pii": "cvv"}), expected=frozenset({"DM005"})),
    Case(
        "p_no_key",
        set_column("customer_id", constraints=[{"type": "not_null"}], data_tests=["not_null"]),
        expected=frozenset({"DM008"}),
    ),
    Case("p_key_by_constraint_only", set_column("customer_id", data_tests=None)),
    Case("p_pii_suspect", add_column("contact_email"), expected=frozenset({"DM009"})),
    Case("p_pii_none_with_reason", add_column("contact_email", meta={"pii": "none", "pii_reason": "a team mailbox"})),
    Case("p_pii_none_without_reason", add_column("contact_email", meta={"pii": "none"}), expected=frozenset({"DM009"})),
    Case(
        "p_mask_exception",
        set_column(
            "city", meta={"pii": "address", "mask_exception": {"reason": "city only", "approver": "dpo@example.com"}}
        ),
    ),
    Case(
        "p_mask_exception_unapproved",
        set_column("city", meta={"pii": "address", "mask_exception": {"reason": "city only"}}),
        expected=frozenset({"DM006"}),
    ),
    Case(
        "p_cross_domain_protected",
        keep,
        sql="select * from {{ ref('ledger', 'ledger_entries') }}",
        expected=frozenset({"DM007"}),
    ),
    Case("p_cross_domain_public", keep, sql="select * from {{ ref('ledger', 'ledger_balances') }}"),
    # `select *` from a source that lists no columns: lineage cannot tell what is published (DM011).
    Case(
        "p_consumed_source",
        keep,
        sql="select * from {{ source('risk', 'scores_consumed') }}",
        expected=frozenset({"DM011"}),
    ),
    Case(
        "p_unconsumed_source",
        keep,
        sql="select * from {{ source('risk', 'scores_raw') }}",
        expected=frozenset({"DM007", "DM011"}),
    ),
    Case("p_private_model", set_model(access="private", config={"contract": {"enforced": False}})),
)

ALL_CASES = CHANGE_CASES + RULE_CASES

"""What still keeps a dbt project from being a mesh domain, in the order to fix it.

``check`` prints this on a project with no public model (where the mesh rules have nothing to judge) instead of
a bare PASS: a descriptor, an owner, the dmesh package, the products to publish, then the PII to classify first.
``adopt`` reports the same steps, in the same words, from ``blockers`` (with check's failures after them), so the
two never disagree on what is left to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from dmesh_dbt.artifacts import Project
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import load_yaml_file
from dmesh_dbt.policy import DomainConfig
from dmesh_dbt.project import DMESH_FILE, is_placeholder_owner
from dmesh_dbt.report import Finding

#: The rule that warns a project publishes nothing (``policy/rules.py``); check adds these steps to its report.
NO_PRODUCT = "DM014"
#: The files dbt installs packages from.
PACKAGE_FILES = ("packages.yml", "dependencies.yml")
#: The step of a project that publishes nothing yet.
NO_PUBLIC_MODEL = (
    "no public model: choose the data products with `dmesh-dbt adopt --public SELECTOR` (access public, an "
    "enforced contract, typed columns, the masking post-hook)"
)


def readiness_notes(project: Project, project_dir: Path, domain: DomainConfig) -> list[str]:
    """The report's lines: a heading, then each step numbered."""
    steps = readiness(project, project_dir, domain)
    return ["not a mesh domain yet; in this order:", *(f"  {n}. {step}" for n, step in enumerate(steps, 1))]


def blockers(project: Project, project_dir: Path, domain: DomainConfig, findings: Iterable[Finding]) -> list[str]:
    """Everything that still blocks the domain, in the order to fix it, as ``adopt`` reports it: the readiness
    steps (all of them, as ``check`` prints them, when it publishes nothing: DM014; else only the descriptor's),
    then each error ``check`` fails on, as ``RULE message``."""
    findings = list(findings)
    publishes_nothing = any(f.rule_id == NO_PRODUCT for f in findings)
    steps = readiness(project, project_dir, domain) if publishes_nothing else descriptor_steps(project, domain)
    return [*steps, *(f"{f.rule_id} {f.message}" for f in findings if f.fails)]


def readiness(project: Project, project_dir: Path, domain: DomainConfig) -> list[str]:
    """The steps that still stand between ``project`` and a published domain, first to last."""
    steps = descriptor_steps(project, domain)
    if not _installs_dmesh(project_dir):
        steps.append(
            "the dmesh package is not in packages.yml: `dmesh-dbt adopt` adds it (its macros mask what is published)"
        )
    if not project.public_models:
        steps.append(NO_PUBLIC_MODEL)
    steps.append(_pii_step(project))
    return steps


def descriptor_steps(project: Project, domain: DomainConfig) -> list[str]:
    """The steps dmesh.yml still needs: to exist, and to name a real owner (``publish`` refuses a placeholder)."""
    if domain.path is None:
        return [f"no {DMESH_FILE}: `dmesh-dbt adopt --owner EMAIL` writes it (the domain: the dbt project name)"]
    if domain.owner and is_placeholder_owner(domain.owner):
        return [f"owner is the placeholder {domain.owner}: set `owner:` in {DMESH_FILE} (or pass --owner) to publish"]
    if not domain.owner and not any(g.has_owner for g in project.groups if g.package_name == project.name):
        return [f"no owner: set `owner: <team email>` in {DMESH_FILE}"]
    return []


def _installs_dmesh(project_dir: Path) -> bool:
    for name in PACKAGE_FILES:
        path = project_dir / name
        if not path.is_file():
            continue
        try:
            document = load_yaml_file(path, ConfigError)
        except ConfigError:
            return False  # dbt deps reports a broken file itself; here it installs nothing we can see
        packages = document.get("packages") if isinstance(document, dict) else None
        if isinstance(packages, list) and any("dmesh" in json.dumps(p, default=str) for p in packages):
            return True
    return False


def _pii_step(project: Project) -> str:
    """How many declared columns look like PII by name and carry no class; `scan` finds the rest (undeclared
    columns, values)."""
    # Imported here: only a project that is not a domain yet pays for it. The scan's own decision (name read in
    # its table, description, type, siblings), as DM009 and adopt make it.
    from dmesh_dbt.scan.context import ColumnContext, decide

    suspects = [
        f"{model.name}.{column.name}"
        for model in project.own_models
        for column in model.columns
        if column.pii is None
        and decide(
            ColumnContext(
                column.name,
                model.name,
                column.description,
                column.data_type,
                tuple(c.name for c in model.columns),
            )
        )
        is not None
    ]
    if not suspects:
        return (
            "classify PII before publishing: `dmesh-dbt scan` finds PII columns by name (and by value with "
            "--sample-rows), `dmesh-dbt scan --write` classifies them"
        )
    example = ", ".join(suspects[:3]) + (", ..." if len(suspects) > 3 else "")
    return (
        f"{len(suspects)} documented column(s) look like PII and have no class ({example}): `dmesh-dbt scan` lists "
        "every suspect (by value too with --sample-rows), `dmesh-dbt scan --write` classifies them"
    )

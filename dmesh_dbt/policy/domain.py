"""A domain's ``dmesh.yml`` as check reads it: its name, owner, policy overrides and waivers; and from its
``dbt_project.yml`` the PII classes its build hashes with the mesh key.

The file itself is read in one place, ``dmesh_dbt.project``; the policy validates only the sections it owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.policy.engine import DomainConfig, severity_word
from dmesh_dbt.policy.waivers import parse_waivers
from dmesh_dbt.project import DBT_PROJECT_FILE, policy_sections, read_dbt_project
from dmesh_dbt.templates import installed_package_version, project_template_version

#: The dbt var through which the macros learn the joinable classes (rendered from the mesh policy).
JOINABLE_VAR = "dmesh_joinable_pii_classes"


def load_domain_config(project_dir: Path, project_name: str) -> DomainConfig:
    """The domain's ``dmesh.yml`` (policy overrides, waivers, owner); defaults when the project has none."""
    sections = policy_sections(project_dir)
    joinable = joinable_pii_classes(project_dir)
    template, package = project_template_version(project_dir), installed_package_version(project_dir)
    if sections.path is None:
        return DomainConfig(
            name=project_name, joinable_pii_classes=joinable, template_version=template, dmesh_package_version=package
        )
    policy = sections.policy or {}
    if not isinstance(policy, Mapping):
        raise ConfigError(f"`policy:` in {sections.path} must map rule ids to error, warning or off")
    return DomainConfig(
        name=sections.domain or project_name,
        owner=sections.owner,
        policy={str(k): severity_word(v) for k, v in policy.items()},
        waivers=parse_waivers(sections.waivers or [], sections.path),
        path=sections.path,
        joinable_pii_classes=joinable,
        template_version=template,
        dmesh_package_version=package,
    )


def joinable_pii_classes(project_dir: Path) -> frozenset[str]:
    """The classes the domain's build hashes with the mesh key, as its dbt_project.yml tells the macros."""
    if not (project_dir / DBT_PROJECT_FILE).is_file():
        return frozenset()
    configured = read_dbt_project(project_dir).vars.get(JOINABLE_VAR) or []
    if not isinstance(configured, list):
        where = project_dir / DBT_PROJECT_FILE
        raise ConfigError(f"the dbt var {JOINABLE_VAR} in {where} must be a list of PII classes, e.g. [email]")
    return frozenset(str(c) for c in configured)

"""A domain's ``dmesh.yml`` as check reads it: its name, owner, policy overrides and waivers.

The file itself is read in one place, ``dmesh_dbt.project``; the policy validates only the sections it owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.policy.engine import DomainConfig, severity_word
from dmesh_dbt.policy.waivers import parse_waivers
from dmesh_dbt.project import policy_sections


def load_domain_config(project_dir: Path, project_name: str) -> DomainConfig:
    """The domain's ``dmesh.yml`` (policy overrides, waivers, owner); defaults when the project has none."""
    sections = policy_sections(project_dir)
    if sections.path is None:
        return DomainConfig(name=project_name)
    policy = sections.policy or {}
    if not isinstance(policy, Mapping):
        raise ConfigError(f"`policy:` in {sections.path} must map rule ids to error, warning or off")
    return DomainConfig(
        name=sections.domain or project_name,
        owner=sections.owner,
        policy={str(k): severity_word(v) for k, v in policy.items()},
        waivers=parse_waivers(sections.waivers or [], sections.path),
        path=sections.path,
    )

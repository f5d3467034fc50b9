"""A domain's ``dmesh.yml`` as check reads it: its name, owner, policy overrides and waivers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.policy.engine import DOMAIN_FILE, DomainConfig, severity_word
from dmesh_dbt.policy.waivers import parse_waivers


def load_domain_config(project_dir: Path, project_name: str) -> DomainConfig:
    """The domain's ``dmesh.yml`` (policy overrides, waivers, owner); defaults when the project has none."""
    path = project_dir / DOMAIN_FILE
    if not path.is_file():
        return DomainConfig(name=project_name)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}; fix the syntax") from None
    if not isinstance(document, Mapping):
        raise ConfigError(f"{path} must be a YAML mapping (domain:, owner:, policy:, waivers:)")
    policy = document.get("policy") or {}
    if not isinstance(policy, Mapping):
        raise ConfigError(f"`policy:` in {path} must map rule ids to error, warning or off")
    return DomainConfig(
        name=str(document.get("domain") or project_name),
        owner=str(document["owner"]) if document.get("owner") else None,
        policy={str(k): severity_word(v) for k, v in policy.items()},
        waivers=parse_waivers(document.get("waivers") or [], path),
        path=path,
    )

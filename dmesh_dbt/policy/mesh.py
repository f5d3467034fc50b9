"""The mesh policy that applies: the platform's file, never the domain's, with its source and sha256 digest.

The boundary rules are ``locked`` in the mesh policy: a domain cannot switch them off, downgrade or waive them
from its ``dmesh.yml``. Only the mesh policy itself can: the file shipped with the toolkit
(``dmesh_dbt/data/mesh_policy.yml``), or a platform-owned file given by ``--policy`` or ``$DMESH_POLICY_FILE``
that lies outside the domain project (a file the domain's own repository holds would let the domain unlock
what the mesh locks). Every ``check`` report names the file and its digest so a reviewer can see which policy
judged the build.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import yaml
from packaging.version import InvalidVersion, Version

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import parse_yaml
from dmesh_dbt.pii import (
    ScanThresholds,
    parse_scan_thresholds,
    policy_document,
    shipped_policy_bytes,
    stricter_scan_thresholds,
)
from dmesh_dbt.project import DMESH_FILE, read_dmesh_file
from dmesh_dbt.report import PolicyStamp

#: The environment variable that names the platform's mesh policy file.
POLICY_ENV = "DMESH_POLICY_FILE"
#: How reports name the policy shipped with the toolkit.
SHIPPED_SOURCE = "dmesh_dbt/data/mesh_policy.yml"


class MeshPolicyFile(msgspec.Struct, frozen=True):
    """One mesh policy document, where it came from and the sha256 of its bytes."""

    source: str
    sha256: str
    document: Mapping[str, Any]

    @property
    def rules(self) -> Mapping[str, object]:
        rules = self.document.get("rules") or {}
        return rules if isinstance(rules, Mapping) else {}

    @property
    def minimum_versions(self) -> Mapping[str, str]:
        """The oldest template and `dmesh` package versions a domain may build with (``template``,
        ``dmesh_package``), checked by DM016."""
        minimums = self.document.get("minimum_versions") or {}
        return minimums if isinstance(minimums, Mapping) else {}

    @property
    def locked(self) -> frozenset[str]:
        return frozenset(str(rule_id) for rule_id in self.document.get("locked") or ())

    @property
    def stamp(self) -> PolicyStamp:
        return PolicyStamp(self.source, self.sha256)

    @property
    def scan_thresholds(self) -> ScanThresholds:
        """How sure ``scan`` must be to report a values-only suspect and to write a classification."""
        return parse_scan_thresholds(self.document.get("scan") or {}, f"mesh policy {self.source}")


def scan_thresholds(project_dir: Path, explicit: Path | None = None) -> ScanThresholds:
    """The thresholds ``scan``, ``check --sample-rows`` and ``adopt`` apply: the platform's mesh policy (``--policy``,
    ``$DMESH_POLICY_FILE`` or the shipped one), made stricter, never looser, by a ``scan:`` section of the domain's
    ``dmesh.yml``."""
    return domain_scan_thresholds(load_mesh_policy(project_dir, explicit), project_dir)


def domain_scan_thresholds(mesh: MeshPolicyFile, project_dir: Path) -> ScanThresholds:
    """``mesh``'s thresholds, made stricter by the ``scan:`` section of the domain's ``dmesh.yml`` if it has one."""
    platform = mesh.scan_thresholds
    section = (read_dmesh_file(project_dir) or {}).get("scan")
    if section is None:
        return platform
    return stricter_scan_thresholds(platform, section, str(project_dir / DMESH_FILE))


def load_mesh_policy(project_dir: Path | None = None, explicit: Path | None = None) -> MeshPolicyFile:
    """The policy from ``explicit`` (``--policy``), else ``$DMESH_POLICY_FILE``, else the shipped one.

    ConfigError when the file is missing, not a mapping, or inside ``project_dir`` (the domain's project).
    Sections a platform file leaves out come from the shipped policy, so a file may hold only ``rules:`` and
    ``locked:``.
    """
    configured = explicit or (Path(os.environ[POLICY_ENV]) if os.environ.get(POLICY_ENV) else None)
    if configured is None:
        return shipped_mesh_policy()
    path = configured.expanduser().resolve()
    if project_dir is not None and path.is_relative_to(project_dir.resolve()):
        raise ConfigError(
            f"the mesh policy {path} lies inside the domain project {project_dir.resolve()}; the platform team "
            f"owns the mesh policy: keep it outside the project and name it with --policy or {POLICY_ENV}"
        )
    try:
        data = path.read_bytes()
    except OSError:
        raise ConfigError(f"mesh policy {path} cannot be read; fix --policy or {POLICY_ENV}") from None
    document = _parse(data, str(path))
    merged = {**shipped_mesh_policy().document, **document}
    return MeshPolicyFile(str(path), hashlib.sha256(data).hexdigest(), MappingProxyType(merged))


@cache
def shipped_mesh_policy() -> MeshPolicyFile:
    # The document pii parsed (once per process) from the same bytes: the shipped file is parsed once, not twice.
    data = shipped_policy_bytes()
    document = _validated(policy_document(), SHIPPED_SOURCE)
    return MeshPolicyFile(SHIPPED_SOURCE, hashlib.sha256(data).hexdigest(), MappingProxyType(document))


def _parse(data: bytes, source: str) -> dict[str, Any]:
    try:
        document = parse_yaml(data.decode("utf-8"))  # libyaml when PyYAML has it: the pure-Python parser took 15 ms
    except (UnicodeDecodeError, yaml.YAMLError):
        raise ConfigError(f"mesh policy {source} is not valid YAML; fix the file") from None
    return _validated(document, source)


def _validated(document: object, source: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ConfigError(f"mesh policy {source} must be a YAML mapping (rules:, locked:)")
    if not isinstance(document.get("rules", {}), Mapping) or not isinstance(document.get("locked", []), list):
        raise ConfigError(f"mesh policy {source}: `rules:` must map rule ids to severities and `locked:` be a list")
    _check_minimum_versions(document.get("minimum_versions", {}), source)
    return document


def _check_minimum_versions(minimums: object, source: str) -> None:
    example = "e.g. minimum_versions: {template: 0.1.0, dmesh_package: 0.1.0}"
    if not isinstance(minimums, Mapping) or not set(minimums) <= {"template", "dmesh_package"}:
        raise ConfigError(
            f"mesh policy {source}: `minimum_versions:` maps template and dmesh_package to versions, {example}"
        )
    for key, value in minimums.items():
        try:
            Version(str(value))
        except InvalidVersion:
            raise ConfigError(
                f"mesh policy {source}: minimum_versions.{key} {value!r} is not a version; {example}"
            ) from None

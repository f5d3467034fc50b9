"""Locked means locked: which mesh policy applies, what a domain may not change, and the stamp every report carries."""

from __future__ import annotations

import functools
import hashlib
import json
import textwrap
from pathlib import Path

import pytest

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import parse_yaml
from dmesh_dbt.policy.domain import load_domain_config
from dmesh_dbt.policy.engine import DomainConfig
from dmesh_dbt.policy.mesh import POLICY_ENV, SHIPPED_SOURCE, load_mesh_policy, shipped_mesh_policy
from dmesh_dbt.policy.registry import resolve_severities
from dmesh_dbt.render import render
from dmesh_dbt.report import Report, Severity

#: The boundary rules no domain may switch off, downgrade or waive.
BOUNDARY = ("DM001", "DM005", "DM006", "DM007", "DM009", "DM010", "DM012", "BC013", "BC020", "BC021")


def domain_file(project: Path, text: str) -> DomainConfig:
    project.mkdir(exist_ok=True)
    (project / "dmesh.yml").write_text(textwrap.dedent(text))
    return load_domain_config(project, "payments")


def test_the_shipped_policy_locks_every_boundary_rule() -> None:
    assert set(BOUNDARY) <= shipped_mesh_policy().locked


@pytest.mark.parametrize("rule", [r for r in BOUNDARY if r != "DM010"])
@pytest.mark.parametrize("severity", ["off", "warning"])
def test_a_domain_cannot_change_a_locked_rule(tmp_path: Path, rule: str, severity: str) -> None:
    domain = domain_file(tmp_path, f"policy: {{{rule}: {severity}}}\n")
    with pytest.raises(ConfigError, match=rf"policy changes {rule}, which the mesh policy locks \({SHIPPED_SOURCE}\)"):
        resolve_severities(domain)


@pytest.mark.parametrize("rule", ["DM001", "DM006", "DM007", "DM012", "BC020"])
def test_a_domain_cannot_waive_a_locked_rule(tmp_path: Path, rule: str) -> None:
    domain = domain_file(
        tmp_path,
        f"""\
        waivers:
          - {{rule: {rule}, model: customers, reason: r, approver: a@example.com, expires: 2099-01-01}}
        """,
    )
    with pytest.raises(ConfigError, match=rf"waives {rule} for customers, which the mesh policy locks"):
        resolve_severities(domain)


def test_unlocked_rules_stay_the_domains_to_tune_and_waive(tmp_path: Path) -> None:
    domain = domain_file(
        tmp_path,
        """\
        policy: {DM003: warning, DM001: error}
        waivers:
          - {rule: DM008, model: customers, reason: r, approver: a@example.com, expires: 2099-01-01}
        """,
    )
    severities = resolve_severities(domain)
    assert severities.of("DM003") is Severity.WARNING and severities.of("DM001") is Severity.ERROR


def test_the_platform_file_changes_rules_and_is_named_by_its_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = tmp_path / "platform.yml"
    platform.write_text("rules: {DM001: warning}\nlocked: [DM006]\n")
    monkeypatch.setenv(POLICY_ENV, str(platform))
    project = tmp_path / "payments"
    mesh = load_mesh_policy(project)
    assert (mesh.source, mesh.sha256) == (str(platform.resolve()), hashlib.sha256(platform.read_bytes()).hexdigest())
    assert mesh.locked == {"DM006"}
    assert "pii_classes" in mesh.document  # sections the file leaves out come from the shipped policy
    severities = resolve_severities(domain_file(project, "policy: {DM001: off}\n"), mesh)
    assert severities.of("DM001") is None  # the platform unlocked it, so the domain may turn it off
    explicit = tmp_path / "other.yml"
    explicit.write_text("rules: {}\n")
    assert load_mesh_policy(project, explicit).source == str(explicit.resolve())  # --policy beats the env


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[DM001]", "must be a YAML mapping"),
        ("rules: [DM001]", "`rules:` must map rule ids"),
        ("rules: {DM001: loud}", "the mesh policy .* gives DM001 severity 'loud'"),
        ("rules: {x: [", "is not valid YAML"),
    ],
)
def test_a_broken_platform_file_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    platform = tmp_path / "platform.yml"
    platform.write_text(text)
    with pytest.raises(ConfigError, match=message):
        resolve_severities(DomainConfig(name="payments"), load_mesh_policy(tmp_path / "payments", platform))


def test_a_policy_file_inside_the_domain_project_is_refused(tmp_path: Path) -> None:
    own = tmp_path / "payments" / "policy" / "mesh.yml"
    own.parent.mkdir(parents=True)
    own.write_text("rules: {DM006: off}\nlocked: []\n")
    with pytest.raises(ConfigError, match="lies inside the domain project"):
        load_mesh_policy(tmp_path / "payments", own)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_mesh_policy(tmp_path / "payments", tmp_path / "missing.yml")


def test_every_report_names_the_policy_and_its_digest() -> None:
    stamp = shipped_mesh_policy().stamp
    report = Report(command="check", project="payments", findings=(), policy=stamp)
    assert f"  policy: {SHIPPED_SOURCE} (sha256 {stamp.sha256})" in render(report, "text").splitlines()
    assert json.loads(render(report, "json"))["policy"] == {"source": SHIPPED_SOURCE, "sha256": stamp.sha256}


def test_the_shipped_policy_is_parsed_once_and_each_caller_gets_its_own_vocabulary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The vocabulary (pii) and the mesh policy read the same file: one parse per process (issue 16: start-up)."""
    from dmesh_dbt import pii
    from dmesh_dbt.policy import mesh

    parses: list[str] = []

    def counted(text: str) -> object:
        parses.append(text)
        return parse_yaml(text)

    for module in (pii, mesh):  # both modules' names for the parser, as a fresh process would call them
        monkeypatch.setattr(module, "parse_yaml", counted, raising=False)
    monkeypatch.setattr(pii, "_shipped_document", functools.cache(pii._shipped_document.__wrapped__))
    monkeypatch.setattr(mesh, "shipped_mesh_policy", functools.cache(shipped_mesh_policy.__wrapped__))

    shipped = mesh.shipped_mesh_policy()
    vocabulary = pii.policy_document()
    assert len(parses) == 1
    assert dict(shipped.document) == vocabulary
    assert shipped.sha256 == hashlib.sha256(pii.SHIPPED_POLICY.read_bytes()).hexdigest()
    vocabulary["pii_classes"].clear()  # the caller's copy: neither the next caller nor the mesh policy sees it
    assert pii.policy_document()["pii_classes"] == shipped.document["pii_classes"] != {}

"""The scan's confidence thresholds live in the mesh policy (`scan: {report, classify}`) and are validated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.pii import ScanThresholds, mesh_policy, parse_scan_thresholds
from dmesh_dbt.policy.mesh import POLICY_ENV, scan_thresholds
from dmesh_dbt.scan.detect import ColumnRef, classify


def test_the_shipped_policy_sets_both_thresholds() -> None:
    assert mesh_policy().scan == ScanThresholds(report=0.5, classify=0.5)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"report": 1.5}, "`scan.report` is 1.5; use a confidence from 0 to 1"),
        ({"classify": "high"}, "`scan.classify` is 'high'"),
        ({"classify": True}, "`scan.classify` is True"),
        ({"reprot": 0.5}, "unknown keys ['reprot']"),
    ],
)
def test_a_bad_threshold_is_a_config_error_naming_it(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_scan_thresholds(section)


def test_a_section_may_set_one_threshold_and_keep_the_other() -> None:
    assert parse_scan_thresholds({"classify": 0.8}) == ScanThresholds(report=0.5, classify=0.8)


# --- the thresholds that apply: the platform's --policy file, made only stricter by the domain's dmesh.yml ---


def _domain(tmp_path: Path, scan: str | None = None) -> Path:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "dmesh.yml").write_text("domain: shop\nowner: shop@acme.test\n" + (f"scan: {scan}\n" if scan else ""))
    return project


def _platform(tmp_path: Path, scan: str) -> Path:
    path = tmp_path / "platform" / "mesh_policy.yml"
    path.parent.mkdir()
    path.write_text(f"scan: {scan}\n")
    return path


def test_without_a_policy_file_the_shipped_thresholds_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)
    assert scan_thresholds(_domain(tmp_path)) == mesh_policy().scan


def test_the_platforms_policy_file_sets_the_thresholds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)
    platform = _platform(tmp_path, "{report: 0.3, classify: 0.8}")
    assert scan_thresholds(_domain(tmp_path), platform) == ScanThresholds(report=0.3, classify=0.8)
    monkeypatch.setenv(POLICY_ENV, str(platform))  # as --policy reads it when not given
    assert scan_thresholds(tmp_path / "shop") == ScanThresholds(report=0.3, classify=0.8)


def test_a_domain_may_make_the_scan_stricter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)
    platform = _platform(tmp_path, "{report: 0.5, classify: 0.6}")
    project = _domain(tmp_path, "{report: 0.2, classify: 0.9}")
    assert scan_thresholds(project, platform) == ScanThresholds(report=0.2, classify=0.9)


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("{report: 0.8}", "`scan.report` 0.8 is above the mesh policy's 0.5: a domain may only make the scan stricter"),
        ("{classify: 0.1}", "`scan.classify` 0.1 is below the mesh policy's 0.6: a domain may only make the scan"),
        ("{report: loud}", "`scan.report` is 'loud'; use a confidence from 0 to 1"),
        ("[0.1]", "`scan:` must be a mapping"),
    ],
)
def test_a_domain_cannot_loosen_the_platforms_thresholds_to_hide_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, domain: str, message: str
) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)
    platform = _platform(tmp_path, "{report: 0.5, classify: 0.6}")
    project = _domain(tmp_path, domain)
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        scan_thresholds(project, platform)
    assert str(project / "dmesh.yml") in str(raised.value)


def test_a_policy_file_inside_the_domain_project_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)
    project = _domain(tmp_path)
    (project / "mesh_policy.yml").write_text("scan: {report: 0.99}\n")
    with pytest.raises(ConfigError, match="lies inside the domain project"):
        scan_thresholds(project, project / "mesh_policy.yml")


def test_the_report_threshold_decides_whether_a_values_only_suspect_is_reported() -> None:
    column = ColumnRef("model.shop.orders", "orders", "ref_2", data_type="varchar")
    dates = [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}" for i in range(40)]  # dates of birth alone: 0.55 sure
    assert classify(column, dates, report=0.5) is not None
    assert classify(column, dates, report=0.6) is None

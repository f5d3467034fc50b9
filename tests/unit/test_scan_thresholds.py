"""The scan's confidence thresholds live in the mesh policy (`scan: {report, classify}`) and are validated."""

from __future__ import annotations

import re

import pytest

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.pii import ScanThresholds, mesh_policy, parse_scan_thresholds


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

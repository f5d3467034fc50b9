"""Instances made without their dataclass ``__init__`` (issue 16: speed) are the ones ``__init__`` makes."""

from __future__ import annotations

from dataclasses import fields, replace

from dmesh_dbt.records import changed, filled
from dmesh_dbt.report import Finding, Impact, Severity


def test_a_changed_finding_is_what_replace_makes_and_leaves_the_original_alone() -> None:
    finding = Finding("DM003", Severity.ERROR, "x", model="m", column="c", path="p.yml", impacts=(Impact("risk"),))
    located = changed(finding, line=7)
    assert located == replace(finding, line=7) and located.line == 7 and finding.line is None
    assert list(vars(located)) == [f.name for f in fields(Finding)]
    assert hash(located) == hash(replace(finding, line=7))


def test_a_filled_finding_is_what_init_makes() -> None:
    values = {f.name: getattr(Finding("DM001", Severity.NOTE, "y"), f.name) for f in fields(Finding)}
    assert filled(Finding, values) == Finding("DM001", Severity.NOTE, "y")

"""Instances made without their dataclass ``__init__`` (issue 16: speed) are the ones ``__init__`` makes."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

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


def test_a_changed_record_works_out_its_cached_properties_afresh_and_refuses_a_field_it_lacks() -> None:
    """As ``replace``: a ``cached_property`` kept from the original would describe the old fields (a Project's
    ``own_models`` after its models changed), and a misspelt field must not become a silent attribute."""
    from functools import cached_property

    import pytest

    @dataclass(frozen=True)
    class Counted:
        items: tuple[int, ...]

        @cached_property
        def total(self) -> int:
            return sum(self.items)

    original = Counted((1, 2))
    assert original.total == 3  # now kept in the instance's __dict__
    assert changed(original, items=(5,)).total == 5
    with pytest.raises(TypeError, match="no field itmes"):
        changed(original, itmes=(5,))

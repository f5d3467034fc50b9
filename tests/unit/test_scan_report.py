"""The scan's text report: a long list of suspects is laid out as plain text exactly as rich lays out a short one."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from dmesh_dbt.pii import PiiClass
from dmesh_dbt.scan import report
from dmesh_dbt.scan.detect import Suspect
from dmesh_dbt.scan.scanner import ScanResult


def _printed(result: ScanResult) -> str:
    buffer = io.StringIO()
    report.print_text(Console(file=buffer, color_system=None, width=10_000, soft_wrap=True), result)
    return buffer.getvalue()


def test_long_reports_print_as_plain_text_in_the_layout_rich_gives_short_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    suspects = tuple(
        Suspect(f"model.shop.t{i}", None, name, cls, 0.9, name, "name", None)
        for i, (name, cls) in enumerate([("email", PiiClass.EMAIL), ("home_phone_number", PiiClass.PHONE),
                                         ("ip", PiiClass.IP_ADDRESS)])
    )  # fmt: skip
    result = ScanResult(suspects, 10)
    by_rich = _printed(result)
    monkeypatch.setattr(report, "PLAIN_TABLE_ROWS", 0)
    assert _printed(result) == by_rich
    assert by_rich.splitlines()[1] == "model t0  email              email       0.90  name 'email'"

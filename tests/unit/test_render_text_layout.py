"""The text report without colour is laid out without rich's Table, byte for byte as rich lays it out.

rich stays the reference: each report here is rendered both ways, at several widths, with rows that fit, that
fold their message, that hold words longer than the message column, consumer impacts, waivers and notes.
"""

from __future__ import annotations

from datetime import date

import pytest

from dmesh_dbt.render import _plain_text, _rich_text, render_text
from dmesh_dbt.report import Finding, Impact, Report, RuleInfo, Severity, Waiver

WAIVER = Waiver("DM003", "orders_3", "documented in the wiki [see #12]", "dpo@example.com", date(2027, 3, 31), "city")


def findings(count: int, message_words: int) -> tuple[Finding, ...]:
    made = []
    for index in range(count):
        words = " ".join(f"word{index * 7 + w}" for w in range(message_words))
        made.append(
            Finding(
                "DM00" + str(1 + index % 9),
                (Severity.ERROR, Severity.WARNING, Severity.NOTE)[index % 3],
                f"orders_{index}.amount has no data_type; add `data_type:` to the column, {words}",
                model=f"orders_{index}",
                column="amount" if index % 4 else None,
                path=None if index % 5 == 0 else f"models/marts/{'deep/' * (index % 3)}_marts.yml",
                line=None if index % 6 == 0 else 10 + 37 * index,
                impacts=(Impact("risk", ("amount", "status")), Impact("marketing")) if index % 7 == 0 else (),
                waived_by=WAIVER if index == 3 else None,
            )
        )
    made.append(Finding("DM004", Severity.ERROR, "x" * 150 + " then a few words after a very long one"))
    return tuple(made)


def report(count: int, message_words: int) -> Report:
    return Report(
        command="check",
        project="payments",
        findings=findings(count, message_words),
        rules=(RuleInfo("DM001", "public-model-contract", "Public models have an enforced contract."),),
        waivers=(WAIVER,),
        notes=("manifest: target/manifest.json (40 models)", "no baseline: breaking changes not checked"),
    )


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
@pytest.mark.parametrize("message_words", [0, 3, 25])
def test_plain_layout_equals_richs(width: int, message_words: int) -> None:
    subject = report(40, message_words)
    plain = _plain_text(subject, width)
    if plain is None:  # too narrow to fold the message column alone: rich lays it out, as before
        assert width <= 60
        return
    assert plain == _rich_text(subject, False, width)


def test_text_rich_would_change_is_left_to_rich() -> None:
    subject = Report("check", "payments", (Finding("DM003", Severity.WARNING, "café :smile: has no description"),))
    assert _plain_text(subject, 120) is None
    assert render_text(subject) == _rich_text(subject, False, 120)


def test_a_clean_report_is_laid_out_like_richs() -> None:
    subject = Report("check", "payments", (), notes=("no baseline",))
    assert _plain_text(subject, 120) == _rich_text(subject, False, 120)

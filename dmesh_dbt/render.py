"""Renderers: a Report as text (rich), JSON, GitHub annotations, SARIF 2.1.0 or JUnit XML. They never decide.

Every renderer returns a string; the CLI prints it or writes it (atomically) to ``--output``.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from dmesh_dbt import __version__
from dmesh_dbt.report import Finding, Report, Severity, Waiver

if TYPE_CHECKING:  # rich and ElementTree load in the renderers that use them: SARIF and JSON need neither
    import xml.etree.ElementTree as ET

    from rich.table import Table

FORMATS = ("text", "json", "github", "sarif", "junit")

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


def render(report: Report, output_format: str, color: bool = False) -> str:
    """``report`` in ``output_format`` (one of FORMATS)."""
    renderers: dict[str, Callable[[Report], str]] = {
        "text": lambda r: render_text(r, color=color),
        "json": render_json,
        "github": render_github,
        "sarif": render_sarif,
        "junit": render_junit,
    }
    return renderers[output_format](report)


# ----------------------------------------------------------------------------------------------- text


def render_text(report: Report, color: bool = False, width: int = 120) -> str:
    """A terminal report: one line per finding (grouped by severity), the waivers in force, a summary."""
    if not color:
        plain = _plain_text(report, width)
        if plain is not None:
            return plain
    return _rich_text(report, color, width)


def _rich_text(report: Report, color: bool, width: int) -> str:
    from rich.console import Console
    from rich.markup import escape

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    console.print(f"[bold]dmesh-dbt {report.command}[/bold]: {escape(report.project)}", soft_wrap=True)
    for note in report.notes:
        console.print(f"  {escape(note)}", style="dim", soft_wrap=True)
    if report.findings:
        console.print(_findings_table(report))
    if report.waivers:
        console.print("[bold]Waivers in force[/bold]")
        for waiver in report.waivers:
            console.print(f"  {escape(_waiver_line(waiver))}", soft_wrap=True)
    console.print(_summary(report), style="bold red" if report.exit_code else "bold green")
    # rich pads table cells to the console width; trailing blanks only get in the way of copying and diffing.
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


# Without colour, the text report is laid out here, as rich lays it out, byte for byte (a unit test compares
# them): rich's Table measures and renders every cell through its segment machinery, 0.2 s per 400 findings.
# Text rich would change or measure another way (anything but printable ASCII, backslashes, ``:name:`` emoji
# codes) or a table too wide to fit by folding its message column is left to rich.

#: Cell padding of the findings table, (0, 1) without edge padding: severity, rule, where, message.
_PADS = ((0, 1), (1, 1), (1, 1), (1, 0))
_EMOJI_CODE = re.compile(r":\S*:")


def _plain_text(report: Report, width: int) -> str | None:
    """``_rich_text(report, color=False, width)`` without rich, or None when only rich can lay it out."""
    rows = _table_rows(report)
    head = [f"dmesh-dbt {report.command}: {report.project}", *(f"  {note}" for note in report.notes)]
    waivers = ["Waivers in force", *(f"  {_waiver_line(w)}" for w in report.waivers)] if report.waivers else []
    summary = _summary(report)
    if len(summary) > width or not all(map(_is_plain, [*head, *waivers, summary, *(c for r in rows for c in r)])):
        return None
    table = _table_lines(rows, width) if rows else []
    if table is None:
        return None
    return "".join(line.rstrip() + "\n" for line in [*head, *table, *waivers, summary])


def _is_plain(text: str) -> bool:
    return text.isascii() and text.isprintable() and "\\" not in text and _EMOJI_CODE.search(text) is None


def _table_rows(report: Report) -> list[tuple[str, str, str, str]]:
    rows = []
    for finding in report.findings:
        label = "waived" if finding.waived_by else finding.severity.value
        rows.append((label, finding.rule_id, _where(finding), finding.message))
        rows.extend(("", "", "", f"hits consumer {impact}") for impact in finding.impacts)
    return rows


def _table_lines(rows: list[tuple[str, str, str, str]], width: int) -> list[str] | None:
    """The rows as rich's Table(box=None, pad_edge=False, padding=(0, 1)) prints them: columns as wide as their
    widest cell; when that is too wide, the message column (the only one that wraps) narrows and its cells fold
    as rich folds them. None when narrowing the message column alone cannot fit the table."""
    contents = [max(len(row[index]) for row in rows) for index in range(4)]
    widths = [min(content + sum(pad), width) or 1 for content, pad in zip(contents, _PADS, strict=True)]
    if any(content + sum(pad) > width for content, pad in zip(contents[:3], _PADS[:3], strict=True)):
        return None
    fixed = sum(widths[:3])
    if fixed + widths[3] > width:
        widths[3] = width - fixed
        if widths[3] < 2:
            return None
    cells = [w - sum(pad) for w, pad in zip(widths, _PADS, strict=True)]
    wrap = _message_wrapper(cells[3]) if contents[3] > cells[3] else None
    lines = []
    for row in rows:
        pieces = wrap(row[3]) if wrap is not None and len(row[3]) > cells[3] else [row[3]]
        for number, piece in enumerate(pieces):
            texts = row[:3] if number == 0 else ("", "", "")
            line = "".join(
                " " * left + text.ljust(cell) + " " * right
                for text, cell, (left, right) in zip((*texts, piece), cells, _PADS, strict=True)
            )
            lines.append(line)
    return lines


def _message_wrapper(cell: int) -> Callable[[str], list[str]]:
    """How rich folds a message into a cell ``cell`` characters wide: its own Text.wrap, as the Table calls it."""
    from rich.console import Console
    from rich.text import Text

    console = Console(width=cell, no_color=True, force_terminal=False, highlight=False)

    def wrap(message: str) -> list[str]:
        lines = Text(message).wrap(console, cell, justify="left", overflow="fold", tab_size=8, no_wrap=False)
        return [line.plain for line in lines]

    return wrap


def _findings_table(report: Report) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("where", no_wrap=True)
    table.add_column("message", overflow="fold")
    for finding in report.findings:
        label = "waived" if finding.waived_by else finding.severity.value
        style = "dim" if finding.waived_by else _STYLE[finding.severity]
        table.add_row(f"[{style}]{label}[/]", finding.rule_id, escape(_where(finding)), escape(finding.message))
        for impact in finding.impacts:
            table.add_row("", "", "", escape(f"hits consumer {impact}"))
    return table


def _where(finding: Finding) -> str:
    if finding.path is None:
        return ""
    return f"{finding.path}:{finding.line}" if finding.line else finding.path


def _waiver_line(waiver: Waiver) -> str:
    return f"{waiver.rule} {waiver.subject}: {waiver.reason} (approved by {waiver.approver}, expires {waiver.expires})"


def _summary(report: Report) -> str:
    parts = [
        f"{report.count(Severity.ERROR)} error(s)",
        f"{report.count(Severity.WARNING)} warning(s)",
        f"{report.count(Severity.NOTE)} note(s)",
        f"{len(report.waived)} waived",
    ]
    verdict = "FAIL" if report.exit_code else "PASS"
    return f"{verdict}: {', '.join(parts)}"


# ----------------------------------------------------------------------------------------------- json


def render_json(report: Report) -> str:
    document = {
        "command": report.command,
        "project": report.project,
        "passed": report.exit_code == 0,
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "notes": report.count(Severity.NOTE),
            "waived": len(report.waived),
        },
        "notes": list(report.notes),
        "findings": [_finding_json(f) for f in report.findings],
        "waivers": [_waiver_json(w) for w in report.waivers],
        "rules": [{"id": r.id, "name": r.name, "summary": r.summary} for r in report.rules],
    }
    return _indented_json(document) + "\n"


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "message": finding.message,
        "model": finding.model,
        "column": finding.column,
        "path": finding.path,
        "line": finding.line,
        "consumers": [{"domain": i.domain, "columns": list(i.columns)} for i in finding.impacts],
        "waiver": _waiver_json(finding.waived_by) if finding.waived_by else None,
    }


def _waiver_json(waiver: Waiver) -> dict[str, Any]:
    return {
        "rule": waiver.rule,
        "model": waiver.model,
        "column": waiver.column,
        "reason": waiver.reason,
        "approver": waiver.approver,
        "expires": waiver.expires.isoformat(),
    }


def _indented_json(document: Any) -> str:
    """``json.dumps(document, indent=2)``, byte for byte, at C speed.

    With ``indent`` the standard library encodes in pure Python (0.1-0.5 s for a few thousand findings). orjson
    writes the same text whenever its output is ASCII without DEL; anything else (json escapes non-ASCII and
    DEL as ``\\uXXXX``, orjson writes them as they are) is left to ``json.dumps``.
    """
    try:
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(document, indent=2)
    if data.isascii() and b"\x7f" not in data:
        return data.decode("ascii")
    return json.dumps(document, indent=2)


# ----------------------------------------------------------------------------------------------- github


def render_github(report: Report) -> str:
    """GitHub Actions workflow commands: one annotation per finding, a notice per waiver in force."""
    lines = []
    for finding in report.findings:
        if finding.waived_by is not None:
            continue
        command = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}[finding.severity]
        properties = {"title": f"{finding.rule_id} {_rule_name(report, finding.rule_id)}".strip()}
        if finding.path:
            properties["file"] = finding.path
            if finding.line:
                properties["line"] = str(finding.line)
        message = finding.message + "".join(f"; hits consumer {i}" for i in finding.impacts)
        lines.append(f"::{command} {_github_properties(properties)}::{_github_escape(message)}")
    for waiver in report.waivers:
        lines.append(f"::notice title=waiver {waiver.rule}::{_github_escape(_waiver_line(waiver))}")
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def _github_properties(properties: dict[str, str]) -> str:
    return ",".join(f"{key}={_github_escape(value, is_property=True)}" for key, value in properties.items())


def _github_escape(text: str, is_property: bool = False) -> str:
    """Escape as the Actions runner expects: % CR LF always, and : , inside properties."""
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if is_property:
        escaped = escaped.replace(":", "%3A").replace(",", "%2C")
    return escaped


def _rule_name(report: Report, rule_id: str) -> str:
    info = report.rule(rule_id)
    return info.name if info else ""


# ----------------------------------------------------------------------------------------------- sarif


def render_sarif(report: Report) -> str:
    """SARIF 2.1.0: rules in ``tool.driver.rules``, waived findings as accepted external suppressions."""
    rule_index = {rule.id: index for index, rule in enumerate(report.rules)}
    run = {
        "tool": {
            "driver": {
                "name": "dmesh-dbt",
                "version": __version__,
                "rules": [
                    {
                        "id": rule.id,
                        "name": _pascal(rule.name),
                        "shortDescription": {"text": rule.summary},
                    }
                    for rule in report.rules
                ],
            }
        },
        "automationDetails": {"id": f"dmesh-dbt/{report.command}/{report.project}/"},
        "results": [_sarif_result(f, rule_index) for f in report.findings],
        "invocations": [{"executionSuccessful": True, "exitCode": report.exit_code}],
    }
    return _indented_json({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}) + "\n"


def _sarif_result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": finding.severity.value,  # SARIF levels are error / warning / note, as ours
        "message": {"text": finding.message},
    }
    if finding.rule_id in rule_index:
        result["ruleIndex"] = rule_index[finding.rule_id]
    location: dict[str, Any] = {}
    if finding.path:
        physical: dict[str, Any] = {"artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"}}
        if finding.line:
            physical["region"] = {"startLine": finding.line}
        location["physicalLocation"] = physical
    if finding.subject:
        kind = "member" if finding.column else "type"
        location["logicalLocations"] = [{"fullyQualifiedName": finding.subject, "kind": kind}]
    if location:
        result["locations"] = [location]
    if finding.impacts:
        result["properties"] = {"consumers": [str(i) for i in finding.impacts]}
    if finding.waived_by is not None:
        waiver = finding.waived_by
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{waiver.reason} (approved by {waiver.approver}, expires {waiver.expires})",
            }
        ]
    return result


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


# ----------------------------------------------------------------------------------------------- junit


def render_junit(report: Report) -> str:
    """JUnit XML: a test suite per rule, a failing test case per error, skipped ones for waived findings."""
    import xml.etree.ElementTree as ET

    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_rule[finding.rule_id].append(finding)
    rule_ids = [r.id for r in report.rules] + sorted(set(by_rule) - {r.id for r in report.rules})
    root = ET.Element("testsuites", name=f"dmesh-dbt {report.command}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for rule_id in rule_ids:
        suite = _junit_suite(report, rule_id, by_rule.get(rule_id, []))
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        root.append(suite)
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _junit_suite(report: Report, rule_id: str, findings: list[Finding]) -> ET.Element:
    import xml.etree.ElementTree as ET

    info = report.rule(rule_id)
    suite_name = f"{rule_id} {info.name}" if info else rule_id
    suite = ET.Element("testsuite", name=suite_name)
    if not findings:
        ET.SubElement(suite, "testcase", name=info.summary if info else rule_id, classname=f"dmesh.{rule_id}")
    failures = skipped = 0
    for finding in findings:
        case = ET.SubElement(suite, "testcase", name=finding.subject or report.project, classname=f"dmesh.{rule_id}")
        if finding.waived_by is not None:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"waived: {finding.waived_by.reason}")
        elif finding.severity is Severity.ERROR:
            failures += 1
            failure = ET.SubElement(case, "failure", message=finding.message, type=rule_id)
            failure.text = "\n".join([finding.message, *(f"hits consumer {i}" for i in finding.impacts)])
        else:
            ET.SubElement(case, "system-out").text = f"{finding.severity.value}: {finding.message}"
    suite.set("tests", str(max(len(findings), 1)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    return suite

"""Renderers: a Report as text (rich), JSON, GitHub annotations, SARIF 2.1.0 or JUnit XML. They never decide.

Every renderer returns a string; the CLI prints it or writes it (atomically) to ``--output``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from dmesh_dbt import __version__
from dmesh_dbt.console import UNWRAPPED
from dmesh_dbt.report import Finding, Report, Severity, Waiver

if TYPE_CHECKING:  # rich loads when something is printed through it: `--help` and the other formats need none
    import xml.etree.ElementTree as ET  # and the XML library only for JUnit

    from rich.table import Table

FORMATS = ("text", "json", "github", "sarif", "junit")

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: The SARIF base id every artifact location is relative to: the repository root.
SOURCE_ROOT = "%SRCROOT%"
#: The name of dmesh-dbt's partial fingerprint (versioned: a new scheme gets a new name, so old alerts close cleanly).
FINGERPRINT = "dmeshFinding/v1"

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


def render(report: Report, output_format: str, color: bool = False, width: int = UNWRAPPED) -> str:
    """``report`` in ``output_format`` (one of FORMATS); text wraps at ``width`` (by default, never)."""
    renderers: dict[str, Callable[[Report], str]] = {
        "text": lambda r: render_text(r, color=color, width=width),
        "json": render_json,
        "github": render_github,
        "sarif": render_sarif,
        "junit": render_junit,
    }
    return renderers[output_format](report)


# ----------------------------------------------------------------------------------------------- text


def render_text(report: Report, color: bool = False, width: int = UNWRAPPED) -> str:
    """A report for people: one line per finding (grouped by severity), the waivers in force, a summary.

    Messages fold at ``width`` (a terminal's); by default nothing wraps, for files and pipes.
    """
    if not color and width >= UNWRAPPED:
        plain = _plain_text(report)
        if plain is not None:
            return plain
    from rich.console import Console
    from rich.markup import escape

    buffer = io.StringIO()
    color_system: Literal["auto"] | None = "auto" if color else None
    console = Console(file=buffer, force_terminal=color, color_system=color_system, width=width, highlight=False)
    console.print(f"[bold]dmesh-dbt {report.command}[/bold]: {escape(report.project)}", soft_wrap=True)
    if report.policy is not None:
        console.print(f"  policy: {escape(str(report.policy))}", soft_wrap=True)
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


#: What rich would not print as written: markup-free text only differs from rich's rendering by these
#: (tabs, control characters, line breaks, and ``:name:`` emoji codes).
_RICH_REWRITES = re.compile(r"[\x00-\x1f\x7f]|:[\w+-]+:")


def _plain_text(report: Report) -> str | None:
    """The report as ``render_text`` prints it without colour or wrapping, line by line, without laying out a
    rich table (whose cost grows with the findings faster than the output); None when some text holds what rich
    would rewrite (then rich renders it)."""
    lines = [f"dmesh-dbt {report.command}: {report.project}"]
    if report.policy is not None:
        lines.append(f"  policy: {report.policy}")
    lines.extend(f"  {note}" for note in report.notes)
    rows: list[tuple[str, str, str, str]] = []
    for finding in report.findings:
        label = "waived" if finding.waived_by else finding.severity.value
        rows.append((label, finding.rule_id, _where(finding), finding.message))
        rows.extend(("", "", "", f"hits consumer {impact}") for impact in finding.impacts)
    widths = [max((_cell_len(row[i]) for row in rows), default=0) for i in range(3)]
    for row in rows:
        cells = [cell + " " * (width - _cell_len(cell)) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join((*cells, row[3])))
    if report.waivers:
        lines.append("Waivers in force")
        lines.extend(f"  {_waiver_line(waiver)}" for waiver in report.waivers)
    lines.append(_summary(report))
    if any(_RICH_REWRITES.search(line) for line in lines):
        return None
    return "".join(line.rstrip() + "\n" for line in lines)


def _cell_len(text: str) -> int:
    """The columns ``text`` takes in a terminal, as rich counts them (wide characters take two); rich's table of
    character widths loads only for text that is not ASCII."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


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


def indented_json(document: object) -> str:
    """``json.dumps(document, indent=2)``, byte for byte, written by orjson when the data lets it.

    Why: with an indent the standard library encodes in pure Python, 40 ms for the SARIF of 400 findings (issue
    16). orjson lays out indent 2 and escapes alike; what differs is done here or left to the standard library:
    it writes non-ASCII characters (and DEL) as they are, where ``ensure_ascii`` escapes them, and floats in
    another notation (``1e-7`` for ``1e-07``), so a document with a float, or anything but text, integers,
    booleans, null, lists and text-keyed mappings, goes through ``json.dumps``.
    """
    if not _plain(document):
        return json.dumps(document, indent=2)
    try:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8")
    except TypeError:  # an integer past 64 bits
        return json.dumps(document, indent=2)
    return text if text.isascii() and "\x7f" not in text else _NOT_ASCII.sub(_escaped, text)


#: What ``ensure_ascii`` escapes that orjson writes as it is (only inside strings: JSON's syntax is ASCII).
_NOT_ASCII = re.compile(r"[^\x00-\x7e]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # beyond the BMP: a surrogate pair, as json writes it
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def _plain(value: object) -> bool:
    """Whether ``value`` holds only text, integers, booleans, null, lists and text-keyed mappings."""
    if value is None or isinstance(value, (str, int)):  # bool is an int
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False


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
        "policy": None if report.policy is None else {"source": report.policy.source, "sha256": report.policy.sha256},
        "notes": list(report.notes),
        "findings": [_finding_json(f) for f in report.findings],
        "waivers": [_waiver_json(w) for w in report.waivers],
        "rules": [{"id": r.id, "name": r.name, "summary": r.summary} for r in report.rules],
    }
    if report.lineage_cache is not None:
        document["lineage_cache"] = {"hits": report.lineage_cache.hits, "misses": report.lineage_cache.misses}
    return indented_json(document) + "\n"


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


# ----------------------------------------------------------------------------------------------- github


def render_github(report: Report) -> str:
    """GitHub Actions workflow commands: one annotation per finding, a notice per waiver in force."""
    lines = []
    for finding in report.findings:
        if finding.waived_by is not None:
            continue
        command = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}[finding.severity]
        properties = {"title": f"{finding.rule_id} {_rule_name(report, finding.rule_id)}".strip()}
        path = report.repo_path(finding)
        if path:
            properties["file"] = path
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
    fingerprints = _fingerprints(report)
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
        "originalUriBaseIds": {SOURCE_ROOT: _source_root_location(report)},
        "results": [
            _sarif_result(report, finding, rule_index, fingerprint)
            for finding, fingerprint in zip(report.findings, fingerprints, strict=True)
        ],
        "invocations": [{"executionSuccessful": True, "exitCode": report.exit_code}],
    }
    return indented_json({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}) + "\n"


def _source_root_location(report: Report) -> dict[str, Any]:
    """What %SRCROOT% stands for: the repository root (a file URI ending in /) when the report knows it."""
    location: dict[str, Any] = {"description": {"text": "The root of the repository holding the dbt project."}}
    if report.source_root is not None:
        location["uri"] = Path(report.source_root.root).as_uri().rstrip("/") + "/"
    return location


def _fingerprints(report: Report) -> list[str]:
    """A fingerprint per finding that survives edits elsewhere: its rule, domain, model and column, never a line
    number or message wording; findings sharing all four are told apart by their order (``:2``, ``:3``)."""
    seen: dict[str, int] = defaultdict(int)
    fingerprints = []
    for finding in report.findings:
        identity = "\0".join((finding.rule_id, report.project, finding.model or "", (finding.column or "").lower()))
        digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
        seen[digest] += 1
        fingerprints.append(digest if seen[digest] == 1 else f"{digest}:{seen[digest]}")
    return fingerprints


def _sarif_result(report: Report, finding: Finding, rule_index: dict[str, int], fingerprint: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": finding.severity.value,  # SARIF levels are error / warning / note, as ours
        "message": {"text": finding.message},
        # Code scanning tracks a result across commits by this, not by its line (which moves with every edit).
        "partialFingerprints": {FINGERPRINT: fingerprint},
    }
    if finding.rule_id in rule_index:
        result["ruleIndex"] = rule_index[finding.rule_id]
    location: dict[str, Any] = {}
    path = report.repo_path(finding)
    if path:
        physical: dict[str, Any] = {"artifactLocation": {"uri": path, "uriBaseId": SOURCE_ROOT}}
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
        path = report.repo_path(finding)
        if path:  # the attributes GitLab's and GitHub's JUnit readers link to a file with
            case.set("file", path)
            if finding.line:
                case.set("line", str(finding.line))
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

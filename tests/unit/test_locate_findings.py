"""Findings point at the line of their model or column in the YAML that declares it, on large files too.

``locate_findings`` indexes each YAML file once; these tests hold it to the lines the former line-by-line
scan (a case-insensitive ``name: <name>`` search from the top for the model, then from the model on for the
column) gave, on a file with many models and the shapes YAML allows.
"""

from __future__ import annotations

import re
from pathlib import Path

from dmesh_dbt.check import locate_findings
from dmesh_dbt.report import Finding, Severity

YAML_PATH = "models/marts/_marts.yml"


def scanned_line(lines: list[str], model: str, column: str | None) -> int | None:
    """The line the former implementation gave: one regex scan per finding, from line 0."""

    def find(name: str, start: int) -> int | None:
        pattern = re.compile(rf"^\s*-?\s*name:\s*[\"']?{re.escape(name)}[\"']?\s*(#.*)?$", re.IGNORECASE)
        return next((i for i in range(start, len(lines)) if pattern.match(lines[i])), None)

    model_line = find(model.split(".v")[0], 0)
    if model_line is None or not column:
        return None if model_line is None else model_line + 1
    column_line = find(column, model_line + 1)
    return (column_line if column_line is not None else model_line) + 1


def many_models_yaml(models: int) -> str:
    """A schema file with ``models`` models in the shapes dbt projects write: quotes, comments, case, versions."""
    blocks = ["version: 2", "models:"]
    for index in range(models):
        name = f"orders_{index}"
        quoted = {0: name, 1: f'"{name}"', 2: f"'{name}'", 3: f"{name}  # the {index}th"}[index % 4]
        blocks += [f"  - name: {quoted}", f"    description: orders of shop {index}", "    columns:"]
        blocks += ["      - name: order_id", "        data_type: bigint"]
        blocks += [f"      - Name: Customer_Email_{index % 7}", "        meta: {pii: email}"]
        blocks += ['      - name: "amount"  # in cents', "      -   name:    status"]
        blocks += ["      - NAME: created_at" if index % 2 else "      - nAmE: Created_At"]  # the key in any case
        if index % 10 == 0:
            blocks += ["    versions:", "      - v: 2", "        columns:", "          - include: all"]
    blocks += ["  - name: 'odd model'", "    columns:", '      - name: "a # b"', "      - name: straße"]
    blocks += ["      - name: \u212aelvin_id"]  # KELVIN SIGN: a case-insensitive match of "kelvin_id"
    return "\n".join(blocks) + "\n"


def finding(model: str, column: str | None) -> Finding:
    return Finding("DM003", Severity.WARNING, "x", model=model, column=column, path=YAML_PATH)


def test_lines_match_the_line_by_line_scan_on_a_file_with_many_models(tmp_path: Path) -> None:
    text = many_models_yaml(400)
    (tmp_path / YAML_PATH).parent.mkdir(parents=True)
    (tmp_path / YAML_PATH).write_text(text, encoding="utf-8")
    subjects: list[tuple[str, str | None]] = []
    for index in range(0, 400, 3):
        model = f"orders_{index}" if index % 10 else f"orders_{index}.v2"
        for column in (None, "order_id", "customer_email_3", "AMOUNT", "status", "created_at", "no_such_column"):
            subjects.append((model, column))
    subjects += [
        ("ORDERS_7", "Status"),
        ("no_such_model", "order_id"),
        ("odd model", "a # b"),
        ("odd model", "STRASSE"),
    ]
    subjects += [("odd model", "straße"), ("odd model", "KELVIN_ID"), ("orders_399", "order_id")]

    located = locate_findings([finding(m, c) for m, c in subjects], tmp_path)

    lines = text.splitlines()
    expected = [scanned_line(lines, m, c) for m, c in subjects]
    assert [f.line for f in located] == expected
    assert sum(1 for line in expected if line is not None) > 700  # the file really is searched, not skipped


def test_a_finding_outside_yaml_or_without_a_model_keeps_no_line(tmp_path: Path) -> None:
    findings = [
        Finding("DM004", Severity.ERROR, "no owner", path="dmesh.yml"),
        Finding("DM001", Severity.ERROR, "x", model="orders", path="models/orders.sql"),
        finding("orders", None),  # the YAML file does not exist
    ]
    assert [f.line for f in locate_findings(findings, tmp_path)] == [None, None, None]

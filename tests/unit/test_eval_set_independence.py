"""The scan reaches its accuracy by general rules, not by lists of the evaluation set's column names.

Every string literal of the name and context rules is compared with the full column names of
bench/pii_eval/public_schemas (see its LABELING.md): a literal with an underscore that *is* a column name of the set,
or a pattern of three or more words that spells one, is a rule written for the set, and fails this test.
"""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

from dmesh_dbt.scan import context, names

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "bench" / "pii_eval" / "public_schemas"


def _normalised(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _evaluation_names() -> set[str]:
    found: set[str] = set()
    for path in (EVAL / "columns.csv", EVAL / "synthetic.csv"):
        with path.open(newline="") as handle:
            rows = csv.DictReader(line for line in handle if not line.startswith("#"))
            found |= {row["column"] for row in rows}
    return found


def _literals(module_file: str) -> set[str]:
    tree = ast.parse(Path(module_file).read_text())
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_no_rule_names_a_column_of_the_evaluation_set_verbatim() -> None:
    columns = _evaluation_names()
    assert len(columns) > 2000  # the set is there
    lowered = {c.lower() for c in columns}
    long_names = {_normalised(c) for c in columns if len(names.split_words(c)) >= 3}
    offenders: list[str] = []
    for module in (names, context):
        for literal in _literals(str(module.__file__)):
            if "_" in literal and " " not in literal and literal.lower() in lowered:
                offenders.append(f"{module.__name__}: {literal!r} is a column of the evaluation set")
            words = literal.split()
            if 3 <= len(words) <= 6 and _normalised(literal) in long_names:
                offenders.append(f"{module.__name__}: pattern {literal!r} spells a column of the evaluation set")
    assert not offenders, "\n".join(offenders)


def test_the_check_would_catch_a_rule_written_for_the_set() -> None:
    long_names = {_normalised(c) for c in _evaluation_names() if len(names.split_words(c)) >= 3}
    assert _normalised("evidence customer purchase ip") in long_names
    assert "billing_address_first_name" in {c.lower() for c in _evaluation_names()}

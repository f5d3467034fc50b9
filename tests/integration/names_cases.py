"""How a YAML column name can miss the column it documents, as cases run on every engine against the example domain.

Each case edits a fresh copy of the domain `dmesh-dbt init` renders (its `customers` model) and says what the build
must do: publish with `ssn` masked, or fail with one line that names the model and the column. Either way no raw
PII value of the domain may reach a published relation.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.helpers import run_dbt

MARTS_YML = Path("models/marts/_marts.yml")
CUSTOMERS_SQL = Path("models/marts/customers.sql")
SSN_ENTRY = "      - name: ssn\n"

Edit = Callable[[Path], None]


@dataclass(frozen=True)
class NameCase:
    id: str
    edits: tuple[Edit, ...]
    #: The one line the build must fail with, or None when it must publish customers with ssn masked.
    error: str | None = None


def rename_ssn(spelling: str) -> Edit:
    """Spell the YAML entry of customers.ssn as ``spelling`` (a YAML scalar as a user would type it)."""

    def edit(project: Path) -> None:
        _replace(project / MARTS_YML, SSN_ENTRY, f"      - name: {spelling}\n")

    return edit


def contract_off(project: Path) -> None:
    """The marts stop enforcing their contract, so dbt no longer compares YAML and SQL names."""
    _replace(project / "dbt_project.yml", "        enforced: true\n", "        enforced: false\n")


def select_ssn_twice(project: Path) -> None:
    """customers also selects ssn under a name its YAML does not document."""
    _replace(project / CUSTOMERS_SQL, "    customers.ssn,\n", "    customers.ssn,\n    customers.ssn as tax_id,\n")


def document_absent_pii(project: Path) -> None:
    """customers' YAML documents a PII column its SQL never selects."""
    entry = "      - name: passport_number\n        description: Passport.\n        meta: {pii: national_id}\n"
    _replace(project / MARTS_YML, SSN_ENTRY, entry + SSN_ENTRY)


def document_ssn_twice(project: Path) -> None:
    """Two YAML entries, `ssn` (PII) and `SSN` (not), name one column."""
    _replace(project / MARTS_YML, SSN_ENTRY, "      - name: SSN\n        description: Twice.\n" + SSN_ENTRY)


UNDOCUMENTED_TAX_ID = (
    "dmesh: model customers: column tax_id of the relation has no documented column in its YAML: add "
    "`- name: tax_id` to the model's columns, with `meta: {pii: <class>}` when it holds personal data, or drop it "
    "from the model's SQL"
)
ABSENT_PASSPORT = (
    "dmesh: model customers: documented PII column passport_number (national_id) is not in the relation: spell its "
    "YAML name as the model's SQL names the column, or drop the entry"
)
UNDOCUMENTED_SSN = UNDOCUMENTED_TAX_ID.replace("tax_id", "ssn")

#: What every engine must do alike.
COMMON_CASES = (
    NameCase("trailing-blank", (rename_ssn('"ssn "'),)),
    NameCase("leading-blank-quoted-yaml", (rename_ssn("' ssn'"),)),
    NameCase("undocumented-column", (contract_off, select_ssn_twice), UNDOCUMENTED_TAX_ID),
    NameCase("documented-pii-absent", (contract_off, document_absent_pii), ABSENT_PASSPORT),
    NameCase(
        "two-entries-one-column",
        (contract_off, document_ssn_twice),
        "dmesh: model customers: YAML columns 'SSN' and 'ssn' name the same column of the relation: keep one entry",
    ),
)


def copy_domain(template: Path, destination: Path) -> Path:
    """A fresh copy of a rendered domain (its dbt_packages link kept as a link)."""
    shutil.copytree(template, destination, symlinks=True, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    return destination


def apply(case: NameCase, project: Path) -> None:
    for edit in case.edits:
        edit(project)


def raw_pii_values(template: Path) -> set[str]:
    """Every raw value, in the domain's seeds, of a column its pristine YAML classifies as PII.

    Read from the YAML before any case edits it, so a misspelt entry cannot shrink the set that is looked for.
    """
    document = yaml.safe_load((template / MARTS_YML).read_text())
    classified = {
        column["name"]
        for model in document["models"]
        for column in model["columns"]
        if (column.get("meta") or {}).get("pii") not in (None, "none")
    }
    assert "ssn" in classified
    values: set[str] = set()
    for seed in (template / "seeds").glob("*.csv"):
        with seed.open(newline="") as handle:
            for row in csv.DictReader(handle):
                values.update(value for column, value in row.items() if column in classified and value)
    return values


def error_lines(output: str) -> list[str]:
    """The lines of dbt's output that carry a dmesh message about a model."""
    return [line.strip() for line in output.splitlines() if "dmesh: model " in line]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


#: Spellings whose reading the macros and the Python tools must agree on.
SPELLINGS = ("ssn", "ssn ", " SSN", '"Ssn"', ' "ssn" ', '"a""b"', "`Ssn`", "Straße")
_READINGS = "{% for n in var('names') %}<{{ dmesh.warehouse_column_name(n) }}|{{ dmesh.column_key(n) }}>{% endfor %}"


def macro_readings(project: Path, *dbt_args: str, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(dmesh.warehouse_column_name, dmesh.column_key) of every spelling, as the macros compute them on a target."""
    names = json.dumps({"names": list(SPELLINGS)})
    result = run_dbt(project, "compile", "--quiet", *dbt_args, "--vars", names, "--inline", _READINGS, env=env)
    return re.findall(r"<([^|>]*)\|([^|>]*)>", result.stdout)

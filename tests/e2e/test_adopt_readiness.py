"""`adopt`'s readiness report and `check`'s are one list from readiness.py: on a generated plain dbt project,
what adopt says still blocks is, word for word and in order, the steps `check` prints when the project publishes
nothing, and then the errors `check` fails on once adopt made a model public."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import VENV_BIN

FILES = {
    "dbt_project.yml": 'name: shop\nversion: "1.0.0"\nconfig-version: 2\nprofile: shop\n\n'
    "models:\n  shop:\n    +materialized: table\n",
    "profiles.yml": "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: warehouse.duckdb}\n",
    "models/customers.sql": "select 1 as customer_id, 'ada@analytical.test' as email, 'gold' as segment\n",
    # segment has no description: DM003 blocks once customers is public.
    "models/schema.yml": "version: 2\nmodels:\n  - name: customers\n    description: One row per customer.\n"
    "    columns:\n      - name: customer_id\n        description: Key.\n"
    "      - name: email\n        description: Contact address.\n      - name: segment\n",
}


def run(project: Path, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_PROFILES_DIR", "COLUMNS")}
    env["DO_NOT_TRACK"] = "1"
    result = subprocess.run(
        [str(VENV_BIN / program), *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode in (0, 1), f"{program} {args}:\n{result.stdout[-3000:]}\n{result.stderr}"
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def check_steps(report: dict[str, Any]) -> list[str]:
    """The numbered readiness steps of check's notes, as text; then its failing findings as `RULE message`."""
    notes: list[str] = report["notes"]
    start = (
        notes.index("not a mesh domain yet; in this order:") + 1
        if "not a mesh domain yet; in this order:" in notes
        else len(notes)
    )
    steps = [note.strip().split(". ", 1)[1] for note in notes[start:] if note.startswith("  ")]
    failing = [
        f"{f['rule']} {f['message']}" for f in report["findings"] if f["severity"] == "error" and not f["waiver"]
    ]
    return steps + failing


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("readiness") / "shop"
    for name, text in FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    run(project, "dbt", "build", "--quiet")
    return project


def test_without_public_models_adopt_reports_check_s_readiness_steps(shop: Path) -> None:
    adopted = as_json(run(shop, "dmesh-dbt", "adopt", "--owner", "shop-team@acme.test", "--sample-rows", "0",
                          "--format", "json"))  # fmt: skip
    checked = as_json(run(shop, "dmesh-dbt", "check", "--format", "json"))
    assert adopted["public_models"] == [] and not adopted["ready"]
    assert adopted["blockers"] == check_steps(checked)
    assert adopted["blockers"][0].startswith("no public model: choose the data products")


def test_with_a_public_model_adopt_reports_the_errors_check_fails_on(shop: Path) -> None:
    adopted = as_json(run(shop, "dmesh-dbt", "adopt", "--public", "customers", "--sample-rows", "0",
                          "--format", "json"))  # fmt: skip
    checked = as_json(run(shop, "dmesh-dbt", "check", "--format", "json"))
    assert adopted["public_models"] == ["customers"]
    assert adopted["blockers"] == check_steps(checked)
    assert any(b.startswith("DM003 customers.segment") for b in adopted["blockers"]), adopted["blockers"]

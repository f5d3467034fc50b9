"""A project without the pasted `dmesh_pii_classes` / `dmesh_forbidden_pii_classes` vars masks by the mesh
vocabulary the `dmesh` package carries; the var still overrides it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from dmesh_dbt.masking import dbt_vars
from tests.helpers import init_domain, run_dbt
from tests.integration.masking_leaks import find_leaks, raw_pii_values

KEY = "vocabulary-default-key"
PUBLISHED = "main_published.customers"
_PASTED_VOCABULARY = re.compile(r"  # The mesh-wide PII vocabulary.*?dmesh_forbidden_pii_classes: \[[^\]]*\]\n", re.S)


def _query(project: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def unpasted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = init_domain(tmp_path_factory.mktemp("vocabulary"), "payments")
    dbt_project = project / "dbt_project.yml"
    text, removed = _PASTED_VOCABULARY.subn("", dbt_project.read_text())
    assert removed == 1 and "dmesh_pii_classes" not in text
    dbt_project.write_text(text)
    run_dbt(project, "build", "--resource-type", "seed", "--resource-type", "model", env={"DMESH_MASKING_KEY": KEY})
    return project


def test_the_package_default_masks_every_classified_column(unpasted: Path) -> None:
    columns = [str(name) for (name,) in _query(unpasted, f"select column_name from (describe {PUBLISHED})")]
    values = [
        ("customers", column, str(value))
        for column in columns
        for (value,) in _query(unpasted, f'select cast("{column}" as varchar) from {PUBLISHED}')
        if value is not None
    ]
    assert len(values) > 100
    assert find_leaks(raw_pii_values(unpasted), values) == []


def test_the_project_var_still_overrides_the_default(unpasted: Path) -> None:
    classes = {**dbt_vars()["dmesh_pii_classes"], "email": "redact"}  # the var replaces the whole vocabulary
    override = json.dumps({"dmesh_pii_classes": classes})
    run_dbt(unpasted, "run", "--select", "customers", "--vars", override, env={"DMESH_MASKING_KEY": KEY})
    emails = {value for (value,) in _query(unpasted, f"select email from {PUBLISHED}")}
    assert emails == {"[REDACTED]"}

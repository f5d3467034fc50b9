"""Leak checks shared by the no-leak tests of every engine: raw PII values of a domain, and where they resurface."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path


def pii_columns(project: Path) -> dict[str, str]:
    """column -> PII class, for every classified column of the project's public models (from its manifest)."""
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return {
        name: column["meta"]["pii"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node.get("access") == "public"
        for name, column in node["columns"].items()
        if column["meta"].get("pii") not in (None, "none")
    }


def raw_pii_values(project: Path) -> set[str]:
    """Every non-empty value of a PII column in the project's seeds, as written in the CSV files."""
    classified = pii_columns(project)
    values: set[str] = set()
    for seed in (project / "seeds").glob("*.csv"):
        with seed.open(newline="") as handle:
            for row in csv.DictReader(handle):
                values.update(value for column, value in row.items() if column in classified and value)
    return values


def find_leaks(raw: set[str], published: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The (relation, column, value) published values that contain a raw value, whole or as a substring."""
    return [(table, column, value) for table, column, value in published if any(secret in value for secret in raw)]


def files_containing(project: Path, secret: str) -> list[str]:
    """Files dbt wrote (target/, logs/) that contain ``secret``; asserts that dbt wrote run results at all."""
    written = [path for folder in ("target", "logs") for path in (project / folder).rglob("*") if path.is_file()]
    assert any(path.name == "run_results.json" for path in written)
    return [str(path) for path in written if secret.encode() in path.read_bytes()]

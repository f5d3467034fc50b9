"""The `dmesh` package carries the mesh vocabulary as its default, equal to the mesh policy file, so a project
needs no pasted `dmesh_pii_classes` var."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from dmesh_dbt.masking import dbt_vars

MACROS = Path(__file__).resolve().parents[2] / "macros"


class _Returned(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _returned(value: Any) -> None:
    raise _Returned(value)  # dbt's `return()` ends the macro with its value


def macro_default() -> Any:
    """What the package's ``mesh_vocabulary()`` macro returns, rendered by Jinja as dbt would."""
    text = (MACROS / "masking" / "mesh_vocabulary.sql").read_text()
    module = jinja2.Environment().from_string(text, globals={"return": _returned}).module
    try:
        module.mesh_vocabulary()  # type: ignore[attr-defined]
    except _Returned as returned:
        return returned.value
    raise AssertionError("mesh_vocabulary() returned nothing")


def test_the_package_default_is_the_mesh_policy() -> None:
    expected = dbt_vars()
    default = macro_default()
    assert default["classes"] == expected["dmesh_pii_classes"]
    assert sorted(default["forbidden"]) == expected["dmesh_forbidden_pii_classes"]

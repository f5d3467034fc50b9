"""`scan --write` on a large project in the shapes real ones have: 540 models in twelve folders, three properties
files per folder (long wrapped descriptions, `key :` spacing, comments, four-space and indentless lists), a model
documented in another folder's file, models and a seed with no YAML, a nested `integration_tests/` project with
same-named nodes and an installed package. Every class goes to the file dbt recorded for its node (or a new file
beside it); nothing else is touched; `git diff` shows only added lines. One `dbt deps` and one `dbt parse`, no
build: the catalog that names the undocumented models' columns (as `dbt docs generate` would after a build) is
written by the test; a last `dbt parse` shows dbt reads every class written."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli, run_dbt

FOLDERS = ("finance", "marketing", "sales", "support", "hr", "legal", "ops", "core/customers", "core/orders",
           "core/products", "staging/crm", "staging/web")  # fmt: skip
PER_FOLDER = 45
#: The project after `scan --write`, the scan's JSON report, and the package's YAML before the scan.
Written = tuple[Path, dict[str, Any], dict[str, str]]
UNDOCUMENTED = (7, 22, 38)  # per folder: models no properties file names

LONG = (
    "One row per {name}, rebuilt every night from the upstream system of record; the grain\n"
    "{pad}is enforced by a unique test on the key, and late-arriving rows are merged in on\n"
    "{pad}the next run rather than patched by hand."
)
UNWRAPPED = "A single very long description line that a YAML dumper with its default width would wrap; " * 2


def model_sql(index: int) -> str:
    return f"select {index} as id, 'a@b.test' as email, 'Ann Lee' as full_name, 1.5 as amount_{index}\n"


def write_catalog(project: Path) -> None:
    """``catalog.json`` as ``dbt docs generate`` writes it, for the models no YAML documents: their columns."""
    columns = ("id", "email", "full_name")
    nodes = {
        f"model.big.{folder.replace('/', '_')}_{i:03d}": {
            "metadata": {"type": "VIEW", "schema": "main", "name": f"{folder.replace('/', '_')}_{i:03d}"},
            "columns": {
                c: {"type": "VARCHAR", "index": n + 1, "name": c, "comment": None} for n, c in enumerate(columns)
            },
            "stats": {},
            "unique_id": f"model.big.{folder.replace('/', '_')}_{i:03d}",
        }
        for folder in FOLDERS
        for i in UNDOCUMENTED
    }
    metadata = {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json", "dbt_version": "1.11.16"}
    document = {"metadata": metadata, "nodes": nodes, "sources": {}, "errors": None}
    (project / "target" / "catalog.json").write_text(json.dumps(document))


def entry(name: str, style: int, dash: int, step: int) -> list[str]:
    """One model's entry, in one of four shapes; ``dash``: the column of its `-`, ``step``: the file's indent."""
    d, k = " " * dash, " " * (dash + 2)
    c = " " * (dash + 2 + step)  # a column entry's dash
    f = c + "  "
    pad = k + " " * 13
    if style == 0:
        return [f"{d}- name: {name}", f"{k}description: " + LONG.format(name=name, pad=pad),
                f"{k}columns:", f"{c}- name: id", f"{f}data_type :   integer", f"{f}data_tests: [unique]",
                f"{c}- name: email      # the buyer's", f"{f}description: >", f"{f}  Contact address,",
                f"{f}  folded.", f"{c}- name: full_name", f'{f}description : "As typed."']  # fmt: skip
    if style == 1:
        return [f"{d}- name: {name}   # owned by the {name} team", f"{k}description: {UNWRAPPED.strip()}",
                f"{k}config:", f"{k}  tags: ['nightly']", f"{k}columns:", f"{c}- name: email",
                f"{f}meta:", f"{f}  owner: crm   # who to ask", "", f"{c}# the name, as the desk sees it",
                f"{c}- name: full_name", f"{f}config:", f"{f}  meta:", f"{f}    type: varchar"]  # fmt: skip
    if style == 2:  # only the key documented: the PII columns are not in the manifest, so not scanned
        return [f"{d}- name: {name}", f"{k}columns:", f"{c}- name: id"]
    return [f"{d}- name : {name}", f"{k}description: 'Quoted, with: a colon.'", f"{k}columns :",
            f"{c}- name: full_name", f"{f}data_type: varchar", f"{c}- name: email"]  # fmt: skip


def properties_file(names: list[str], layout: int) -> str:
    """``names`` documented in one file; ``layout`` picks two-space, four-space or indentless lists."""
    dash, step = {0: (2, 2), 1: (4, 4), 2: (0, 2)}[layout]
    lines = ["# Properties of this folder's marts. Keep this comment.", "version: 2", "", "models:"]
    for index, name in enumerate(names):
        lines.extend(entry(name, (index + layout) % 4, dash, step))
        if index % 5 == 4:
            lines.extend(["", "  # ---- next group ----" if dash else "# ---- next group ----"])
    return "\n".join(lines) + "\n"


PACKAGE_YML = """version: 2
models:
  - name: pkg_contacts
    columns:
      - name: email
sources:
  - name: vendor
    tables:
      - name: leads
        columns:
          - name: email
"""

CRM_SOURCES = """version: 2
sources:
  - name: crm
    tables:
      - name: contacts
        columns:
          - name: phone_number
          - name: email
"""

NESTED = {
    "integration_tests/dbt_project.yml": 'name: big_tests\nversion: "1.0.0"\nconfig-version: 2\nprofile: big\n',
    "integration_tests/seeds/schema.yml": "seeds:\n  - name: raw_people   # same name as the outer seed\n",
    "integration_tests/models/schema.yml": "models:\n  - name: finance_000\n    columns:\n      - name: email\n",
}


def make_project(root: Path) -> Path:
    project = root / "big"
    files: dict[str, str] = {
        "dbt_project.yml": 'name: big\nversion: "1.0.0"\nconfig-version: 2\nprofile: big\n'
        "models:\n  big:\n    +materialized: view\n",
        "profiles.yml": "big:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: warehouse.duckdb}\n",
        "packages.yml": "packages:\n  - local: ../pkg\n  - local: ../crm_sources   # sources only\n",
        "seeds/raw_people.csv": "id,email,phone\n1,a@b.test,+1 202 555 0101\n",
        ".gitignore": "target/\ndbt_packages/\nlogs/\n*.duckdb\npackage-lock.yml\n",
        **NESTED,
    }
    for folder in FOLDERS:
        stem = folder.replace("/", "_")
        names = [f"{stem}_{i:03d}" for i in range(PER_FOLDER)]
        for index, name in enumerate(names):
            files[f"models/{folder}/{name}.sql"] = model_sql(index)
        documented = [n for i, n in enumerate(names) if i not in UNDOCUMENTED]
        third = len(documented) // 3
        for layout, part in enumerate((documented[:third], documented[third : 2 * third], documented[2 * third :])):
            files[f"models/{folder}/_{stem}__{'abc'[layout]}.yml"] = properties_file(part, layout)
    # A model documented in another folder's file: its patch_path names that file, the only right place.
    moved = "finance_001"
    files["models/finance/_finance__a.yml"] = re.sub(
        rf"name: {moved}\b", f"name: {moved}_moved", files["models/finance/_finance__a.yml"]
    )
    files["models/sales/_sales__c.yml"] += "\n" + "\n".join(entry(moved, 0, 0, 2)) + "\n"  # indentless
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    (project / "models/finance/finance_001_moved.sql").write_text("select 1 as id\n")
    package = root / "pkg"
    (package / "models").mkdir(parents=True)
    (package / "dbt_project.yml").write_text('name: pkg\nversion: "1.0.0"\nconfig-version: 2\n')
    (package / "models" / "pkg_contacts.sql").write_text("select 'a@b.test' as email\n")
    (package / "models" / "_pkg.yml").write_text(PACKAGE_YML)
    sources_only = root / "crm_sources"
    (sources_only / "models").mkdir(parents=True)
    (sources_only / "dbt_project.yml").write_text('name: crm_sources\nversion: "1.0.0"\nconfig-version: 2\n')
    (sources_only / "models" / "sources.yml").write_text(CRM_SOURCES)
    return project


def git(project: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True)
    return result.stdout


def snapshot(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*.yml")) if p.is_file()}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    """The project after `scan --write`, the scan's JSON report, and the package's YAML before the scan."""
    root = tmp_path_factory.mktemp("large")
    project = make_project(root)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@acme.test", "commit", "-qm", "as the team keeps it")
    run_dbt(project, "deps")
    run_dbt(project, "parse")
    write_catalog(project)
    package_before = {**snapshot(root / "pkg"), **snapshot(root / "crm_sources")}
    result = run_cli("scan", "--project-dir", str(project), "--write", "--format", "json")
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr
    return project, json.loads(result.stdout), package_before


def test_the_diff_of_every_existing_file_is_only_added_lines(
    written: Written,
) -> None:
    project, _, _ = written
    diff = git(project, "diff", "--unified=1")
    changed = [
        line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert changed, "scan --write changed nothing"
    assert [line for line in changed if line.startswith("-")] == []
    assert all(any(k in line for k in ("pii:", "- name:", "columns:")) or line == "+" for line in changed), changed[:20]


def test_each_class_lands_in_the_file_dbt_recorded_for_its_node(
    written: Written,
) -> None:
    project, report, _ = written
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"]
    entries = report["written"]
    assert isinstance(entries, list) and len(entries) > 500, len(entries)
    for item in entries:
        node = nodes.get(item["node"]) or manifest["sources"][item["node"]]
        patch = (node.get("patch_path") or "").split("://", 1)[-1]
        expected = (
            project / patch if patch else (project / node["original_file_path"]).with_name(f"_{node['name']}.yml")
        )
        assert Path(item["path"]) == expected, item
    moved = [item["path"] for item in entries if item["node"] == "model.big.finance_001"]
    assert moved and all(path.endswith("models/sales/_sales__c.yml") for path in moved)


def test_nodes_without_yaml_get_a_new_file_beside_them_and_nothing_else_is_new(
    written: Written,
) -> None:
    project, _, _ = written
    untracked = sorted(git(project, "ls-files", "--others", "--exclude-standard").split())
    expected = sorted(
        [f"models/{folder}/_{folder.replace('/', '_')}_{i:03d}.yml" for folder in FOLDERS for i in UNDOCUMENTED]
        + ["seeds/_raw_people.yml"]
    )
    assert untracked == expected


def test_the_nested_project_and_the_installed_package_are_untouched(
    written: Written,
) -> None:
    project, report, package_before = written
    assert not git(project, "status", "--porcelain", "integration_tests")
    assert {**snapshot(project.parent / "pkg"), **snapshot(project.parent / "crm_sources")} == package_before
    assert not [item for item in report["written"] if "pkg" in item["node"]]


def test_dbt_parses_the_written_files_and_sees_every_class(
    written: Written,
) -> None:
    project, report, _ = written
    run_dbt(project, "parse")
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    for item in report["written"]:
        node = manifest["nodes"].get(item["node"]) or manifest["sources"][item["node"]]
        column = next(c for name, c in node["columns"].items() if name.lower() == item["column"].lower())
        assert {**column["config"]["meta"], **column["meta"]}.get("pii") == item["pii"], item


def test_include_packages_reports_the_packages_sources_and_models_and_writes_none(written: Written) -> None:
    project, report, package_before = written
    assert not [s for s in report["suspects"] if s["node"].startswith("source.crm_sources.")]  # own nodes only
    result = run_cli("scan", "--project-dir", str(project), "--include-packages", "--write", "--format", "json")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr  # the packages' suspects stay open
    document = json.loads(result.stdout)
    nodes = {s["node"] for s in document["suspects"]}
    assert {"source.crm_sources.crm.contacts", "source.pkg.vendor.leads", "model.pkg.pkg_contacts"} <= nodes
    reasons = {s["node"]: s["reason"] for s in document["not_written"]}
    assert "overrides: crm_sources" in reasons["source.crm_sources.crm.contacts"]
    assert "installed package pkg" in reasons["model.pkg.pkg_contacts"]
    assert {**snapshot(project.parent / "pkg"), **snapshot(project.parent / "crm_sources")} == package_before

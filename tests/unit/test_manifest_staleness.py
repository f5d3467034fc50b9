"""When check must run `dbt parse` first, it can say why: the manifest is missing, or which file is newer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dmesh_dbt.project import (
    PARTIAL_PARSE_STATE,
    TARGET_PATH_ENV,
    _usable_parse_state,
    catalog_path,
    compile_parse_state,
    manifest_path,
    manifest_staleness,
    private_target,
    run_results_path,
    target_dir,
    vanished_source,
)


def project(tmp_path: Path) -> Path:
    (tmp_path / "dbt_project.yml").write_text("name: payments\nprofile: payments\nmodel-paths: [models]\n")
    (tmp_path / "models" / "marts").mkdir(parents=True)
    (tmp_path / "models" / "marts" / "_marts.yml").write_text("models: []\n")
    (tmp_path / "models" / "marts" / "orders.sql").write_text("select 1 as id\n")
    return tmp_path


def age(path: Path, seconds_ago: float) -> None:
    stamp = path.stat().st_mtime - seconds_ago
    os.utime(path, (stamp, stamp))


def write_manifest(root: Path) -> Path:
    manifest = root / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    return manifest


def test_a_missing_manifest_is_named(tmp_path: Path) -> None:
    assert manifest_staleness(project(tmp_path)) == "target/manifest.json does not exist"


def test_the_newest_file_edited_after_the_parse_is_named(tmp_path: Path) -> None:
    root = project(tmp_path)
    manifest = write_manifest(root)
    age(manifest, 60)
    age(root / "dbt_project.yml", 120)
    age(root / "models" / "marts" / "_marts.yml", 30)  # edited after the parse, but before orders.sql
    assert manifest_staleness(root) == "models/marts/orders.sql is newer than target/manifest.json"


def test_a_manifest_newer_than_every_file_is_fresh(tmp_path: Path) -> None:
    root = project(tmp_path)
    for path in (root / "dbt_project.yml", *(root / "models" / "marts").iterdir()):
        age(path, 60)
    write_manifest(root)
    assert manifest_staleness(root) is None


def test_a_file_the_manifest_was_built_from_that_is_gone_is_named(tmp_path: Path) -> None:
    root = project(tmp_path)
    nodes = {
        "model.payments.orders": {
            "package_name": "payments",
            "original_file_path": "models/marts/orders.sql",
            "patch_path": "payments://models/marts/_marts.yml",
        },
        "model.dmesh.helper": {"package_name": "dmesh", "original_file_path": "models/helper.sql"},  # a package's
    }
    document = {"metadata": {"project_name": "payments"}, "nodes": nodes, "sources": {}, "macros": {}}
    write_manifest(root).write_text(json.dumps(document))
    assert vanished_source(root) is None
    (root / "models" / "marts" / "orders.sql").unlink()
    assert vanished_source(root) == "models/marts/orders.sql"


def _built(root: Path) -> Path:
    """A project after a `dbt build`: its manifest, and dbt's saved parse state beside it."""
    document = {
        "metadata": {"project_name": "payments"},
        "nodes": {
            "model.payments.orders": {"package_name": "payments", "original_file_path": "models/marts/orders.sql"}
        },
        "sources": {},
        "macros": {},
    }
    write_manifest(root).write_text(json.dumps(document))
    state = root / "target" / PARTIAL_PARSE_STATE
    state.write_bytes(b"build state")
    return state


def test_a_compile_parses_partially_from_the_builds_saved_state(tmp_path: Path) -> None:
    root = project(tmp_path)
    _built(root)
    assert _usable_parse_state(root, compiled=True) == "partial parsing from dbt's saved state"
    assert compile_parse_state(root).read_bytes() == b"build state"


def test_a_compile_keeps_its_own_state_unless_a_build_saved_a_newer_one(tmp_path: Path) -> None:
    root = project(tmp_path)
    build = _built(root)
    age(build, 60)
    compile_parse_state(root).parent.mkdir(parents=True)
    compile_parse_state(root).write_bytes(b"compile state")
    _usable_parse_state(root, compiled=True)
    assert compile_parse_state(root).read_bytes() == b"compile state"
    build.write_bytes(b"newer build state")
    _usable_parse_state(root, compiled=True)
    assert compile_parse_state(root).read_bytes() == b"newer build state"


def test_every_saved_state_is_dropped_when_a_file_it_describes_is_gone(tmp_path: Path) -> None:
    root = project(tmp_path)
    _built(root)
    _usable_parse_state(root, compiled=True)
    (root / "models" / "marts" / "orders.sql").unlink()
    assert _usable_parse_state(root, compiled=True) == "models/marts/orders.sql is gone: parsing in full"
    assert not (root / "target" / PARTIAL_PARSE_STATE).exists() and not compile_parse_state(root).exists()


def test_without_a_saved_state_dbt_parses_in_full(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert _usable_parse_state(root, compiled=True) == "no saved parse state: parsing in full"
    _built(root)
    compile_parse_state(root).parent.mkdir(parents=True)
    (root / "target" / PARTIAL_PARSE_STATE).rename(compile_parse_state(root))
    assert _usable_parse_state(root, compiled=False) == "no saved parse state: parsing in full"  # dbt parse's is gone


def test_the_target_path_is_resolved_as_dbt_resolves_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    monkeypatch.delenv(TARGET_PATH_ENV, raising=False)
    assert manifest_path(root) == root / "target" / "manifest.json"
    (root / "dbt_project.yml").write_text("name: payments\nprofile: payments\ntarget-path: build/dbt\n")
    assert run_results_path(root) == root / "build" / "dbt" / "run_results.json"
    assert manifest_staleness(root) == "build/dbt/manifest.json does not exist"
    monkeypatch.setenv("DMESH_TEST_TARGET", "rendered")
    (root / "dbt_project.yml").write_text("name: p\ntarget-path: \"{{ env_var('DMESH_TEST_TARGET') }}\"\n")
    assert target_dir(root) == root / "rendered"
    monkeypatch.setenv(TARGET_PATH_ENV, "from-env")  # the environment wins over dbt_project.yml, as in dbt
    assert catalog_path(root) == root / "from-env" / "catalog.json"
    monkeypatch.setenv(TARGET_PATH_ENV, str(tmp_path / "elsewhere"))
    assert private_target(root, "dmesh-compile") == tmp_path / "elsewhere" / "dmesh-compile"

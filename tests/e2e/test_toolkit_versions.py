"""Which toolkit each domain builds with: releases record their template and `dmesh` package versions,
`registry list` marks the domains behind the platform, and `check` warns (DM016) below the mesh's minimum."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dmesh_dbt import __version__
from dmesh_dbt.cli import cli
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.policy.mesh import load_mesh_policy
from dmesh_dbt.registry import BuiltWith, ProductEntry, Registry
from tests.helpers import init_domain, run_cli

PRODUCT = (ProductEntry("orders", None, None, "orders.odcs.yaml"),)


def publish(registry: Registry, domain: str, built_with: BuiltWith | None) -> None:
    files = {"orders.odcs.yaml": f"{domain} contract".encode(), "manifest.json": b"{}"}
    registry.publish(domain, "1.0.0", f"{domain}-team@acme.test", PRODUCT, files, built_with=built_with)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    store = Registry.open(str(tmp_path / "registry"))
    publish(store, "current", BuiltWith(__version__, __version__))
    publish(store, "lagging", BuiltWith("0.0.1", __version__))
    publish(store, "older", None)  # published before releases recorded their toolkit
    return store


def test_registry_list_shows_the_versions_and_marks_the_domains_behind(registry: Registry) -> None:
    listed = CliRunner().invoke(cli, ["registry", "list", "--registry", registry.url, "--format", "json"])

    assert listed.exit_code == 0, listed.output
    document = json.loads(listed.stdout)
    assert document["platform_version"] == __version__
    releases = {r["domain"]: r for r in document["releases"]}
    assert releases["current"]["built_with"] == {"template": __version__, "dmesh_package": __version__}
    assert releases["current"]["behind"] == []
    assert releases["lagging"]["behind"] == ["template 0.0.1"]
    assert releases["older"]["behind"] == ["template unknown", "dmesh package unknown"]

    text = CliRunner().invoke(cli, ["registry", "list", "--registry", registry.url]).stdout
    assert f"built with template 0.0.1, dmesh package {__version__}  behind: template 0.0.1" in text
    assert f"built with template {__version__}, dmesh package {__version__}\n" in text


def test_a_marker_with_a_malformed_built_with_is_a_corrupt_entry(registry: Registry) -> None:
    marker = Path(registry.url) / "releases" / "lagging" / "1.0.0" / "RELEASE.json"
    document = json.loads(marker.read_text())
    document["built_with"] = {"template": "not a version"}
    marker.write_text(json.dumps(document))

    listing = registry.listing()

    assert [c.entry for c in listing.corrupt] == ["lagging 1.0.0"]
    assert "built_with.template" in listing.corrupt[0].reason


def test_check_warns_when_the_domain_is_older_than_the_mesh_minimum(tmp_path: Path) -> None:
    project = init_domain(tmp_path, "orders")
    current = run_cli("check", "--project-dir", str(project))
    assert current.returncode == 0 and "DM016" not in current.stdout, current.stdout + current.stderr

    policy = tmp_path / "mesh_policy.yml"  # the platform's, outside the project
    policy.write_text("minimum_versions: {template: 9.0.0, dmesh_package: 9.0.0}\n")
    lagging = run_cli("check", "--project-dir", str(project), "--policy", str(policy))

    assert lagging.returncode == 0, lagging.stdout + lagging.stderr  # a warning, not an error
    assert f"builds with template {__version__}, older than the mesh policy's minimum 9.0.0" in lagging.stdout
    assert "run `dmesh-dbt upgrade`" in lagging.stdout
    assert f"builds with dmesh dbt package {__version__}" in lagging.stdout


def test_a_malformed_minimum_in_the_mesh_policy_is_a_config_error(tmp_path: Path) -> None:
    policy = tmp_path / "mesh_policy.yml"
    policy.write_text("minimum_versions: {template: latest}\n")
    with pytest.raises(ConfigError, match="minimum_versions.template 'latest' is not a version"):
        load_mesh_policy(explicit=policy)

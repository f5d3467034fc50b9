"""The wheel carries the dbt package and the domain template, so `pip install dmesh-dbt` can run `init` offline."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tests.helpers import init_domain

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_bundles_the_dbt_package_and_the_template(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("dmesh_dbt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    bundle = "dmesh_dbt/bundle/"
    assert bundle + "dbt_project.yml" in names
    assert any(name.startswith(bundle + "macros/") and name.endswith(".sql") for name in names)
    template_prefix = bundle + "project_template/"
    template_files = {name.removeprefix(template_prefix) for name in names if name.startswith(template_prefix)}
    repo_template = ROOT / "project_template"
    expected = {str(path.relative_to(repo_template)) for path in repo_template.rglob("*") if path.is_file()}
    assert template_files == expected, "every template file, dotfiles included, is in the wheel"
    assert "dmesh_dbt/data/mesh_policy.yml" in names


def test_a_generated_project_inside_the_checkout_does_not_make_the_install_walk_forever() -> None:
    """README's demo writes ./demo inside the checkout and `dbt deps` links the dmesh package into it; setuptools
    walks the checkout following links, so a link back to the checkout's root made `pip install -e .` hang."""
    generated = ROOT / "demo" / f"packaging_test_{os.getpid()}"
    try:
        init_domain(generated.parent, generated.name, "--owner", "a@example.com")
        link = generated / "dbt_packages" / "dmesh"
        assert link.is_symlink(), "dbt deps links the local package (the case this test guards)"
        assert not ROOT.resolve().is_relative_to(link.resolve()), "the package link must not contain the checkout"
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, str(ROOT)],
                check=True,
                capture_output=True,
                timeout=600,
            )
    finally:
        shutil.rmtree(generated, ignore_errors=True)
        with contextlib.suppress(OSError):
            generated.parent.rmdir()  # only when the demo folder held nothing else

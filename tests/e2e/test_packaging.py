"""The wheel carries the dbt package and the domain template, so `pip install dmesh-dbt` can run `init` offline."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

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
    expected = {
        str(path.relative_to(repo_template)) for path in repo_template.rglob("*") if path.is_file()
    }
    assert template_files == expected, "every template file, dotfiles included, is in the wheel"
    assert "dmesh_dbt/data/mesh_policy.yml" in names

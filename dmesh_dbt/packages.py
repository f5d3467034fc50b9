"""Installed dbt packages: those `dbt deps` put in the project's packages-install-path, and a view of the project
in which their models and sources count as its own (``check --include-packages``, ``scan --include-packages``).

A package's files are named in the manifest relative to the package (``stripe_source://models/stripe.yml``); in
the view they are relative to the project (``dbt_packages/stripe_source/models/stripe.yml``), so findings point at
the file a reviewer opens. Nodes the manifest has from no installed folder (dbt-loom injects another domain's
public models) stay other domains' models.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from msgspec.structs import replace

from dmesh_dbt.artifacts import Model, Project, Source
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import load_yaml_file
from dmesh_dbt.project import DBT_PROJECT_FILE

#: Where dbt deps installs packages unless dbt_project.yml's ``packages-install-path`` says otherwise.
DEFAULT_INSTALL_PATH = "dbt_packages"


def installed_packages(project: Project, project_dir: Path) -> dict[str, str]:
    """Each package with models or sources that dbt deps installed: its name -> its folder, relative to the
    project."""
    install = _install_path(project_dir)
    found = {}
    packages = {m.package_name for m in project.models} | {s.package_name for s in project.sources}
    for name in sorted(packages - {project.name}):
        folder = f"{install}/{name}"
        if (project_dir / folder / DBT_PROJECT_FILE).is_file():
            found[name] = folder
    return found


def with_packages(project: Project, folders: Mapping[str, str]) -> Project:
    """``project`` with the models and sources of the packages in ``folders`` counted as its own, their files
    named from the project's directory."""
    models = tuple(_relocated(m, folders[m.package_name]) if m.package_name in folders else m for m in project.models)
    sources = tuple(
        _relocated_source(s, folders[s.package_name]) if s.package_name in folders else s for s in project.sources
    )
    return replace(project, models=models, sources=sources, included_packages=frozenset(folders))


def _relocated_source(source: Source, folder: str) -> Source:
    return replace(source, original_file_path=f"{folder}/{source.original_file_path}")


def _relocated(model: Model, folder: str) -> Model:
    patch_path = None
    if model.patch_path:
        package, _, path = model.patch_path.rpartition("://")
        patch_path = f"{package}://{folder}/{path}"
    return replace(model, original_file_path=f"{folder}/{model.original_file_path}", patch_path=patch_path)


def _install_path(project_dir: Path) -> str:
    document = load_yaml_file(project_dir / DBT_PROJECT_FILE, ConfigError)
    configured = document.get("packages-install-path") if isinstance(document, dict) else None
    return str(configured).strip("/") if configured else DEFAULT_INSTALL_PATH

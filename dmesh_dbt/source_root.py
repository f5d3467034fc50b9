"""Where a project's files sit in its repository, so code-scanning reports point at the right files.

GitHub annotations, SARIF and JUnit name files relative to the repository's root, while dbt names them relative
to the dbt project; in a repository whose dbt project is a subfolder those differ. The root is ``--repo-root``
when given, else what git says (``git rev-parse --show-toplevel`` from the project), else the project itself.
``diff`` has manifests rather than a project: ``project_of`` finds the project its NEW manifest belongs to.
"""

from __future__ import annotations

from pathlib import Path

from dmesh_dbt.errors import UsageError
from dmesh_dbt.report import SourceRoot

_DBT_PROJECT = "dbt_project.yml"


def project_of(artifact: Path) -> Path:
    """The dbt project an artifact belongs to: the nearest folder at or above ``artifact`` that holds
    dbt_project.yml (a manifest sits in its project's target path); else the current directory, where a
    manifest copied out of its project (a CI state folder) is diffed from."""
    start = artifact.resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        if (folder / _DBT_PROJECT).is_file():
            return folder
    return Path.cwd()


def find_source_root(project_dir: Path, repo_root: Path | None = None) -> SourceRoot:
    """The repository root holding ``project_dir`` and the project's folder inside it.

    UsageError when ``repo_root`` (``--repo-root``) is not a directory or does not contain the project.
    """
    project = project_dir.resolve()
    root = _explicit_root(project, repo_root) if repo_root is not None else _git_toplevel(project) or project
    return SourceRoot(str(root), project.relative_to(root).as_posix() if project != root else "")


def _explicit_root(project: Path, repo_root: Path) -> Path:
    root = repo_root.expanduser().resolve()
    if not root.is_dir():
        raise UsageError(f"--repo-root {repo_root} is not a directory; pass the repository's root folder")
    if not project.is_relative_to(root):
        raise UsageError(
            f"--repo-root {repo_root} does not contain the project {project}; pass the root of the repository "
            "that holds the dbt project"
        )
    return root


def _git_toplevel(project: Path) -> Path | None:
    """The root of the git work tree holding ``project``; None without git or outside a work tree."""
    import shutil
    import subprocess  # here: text and JSON reports never ask for the root

    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(
            [git, "-C", str(project), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top = result.stdout.strip()
    if result.returncode != 0 or not top:
        return None
    root = Path(top).resolve()
    # A project reached through a symlink may resolve outside the work tree git names: then paths cannot be anchored.
    return root if project.is_relative_to(root) else None

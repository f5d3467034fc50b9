"""Where the toolkit's own files live (the `dmesh` dbt package, the domain project template), and the one place
that starts dbt (``run_dbt``, ``dbt_process``).

In the repository, the root is the dbt package ``dmesh`` (dbt_project.yml, macros/) and ``project_template/`` is
the copier template. ``dmesh_dbt/bundle/`` links both into the Python package, so a wheel carries copies and an
editable install resolves the links back to the checkout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from dmesh_dbt.errors import ConfigError, DbtError

if TYPE_CHECKING:  # subprocess loads when dbt runs: a check of a current manifest starts none
    import subprocess

BUNDLE = Path(__file__).resolve().parent / "bundle"


def dbt_package_dir() -> Path:
    """The directory of the `dmesh` dbt package (it holds dbt_project.yml and macros/).

    The bundle itself, not the checkout it links into: `dbt deps` links a local package into each project's
    dbt_packages/, and a link to the checkout's root would put every generated project (./demo, tests) inside its
    own package, so any tool that walks the checkout following links (setuptools does, on `pip install -e .`)
    would never end.
    """
    if not (BUNDLE / "dbt_project.yml").is_file():
        raise ConfigError(f"the dmesh dbt package is missing from the toolkit ({BUNDLE}); reinstall dmesh-dbt")
    return BUNDLE


def template_dir() -> Path:
    """The copier template that `init` renders."""
    path = (BUNDLE / "project_template").resolve()
    if not (path / "copier.yml").is_file():
        raise ConfigError(f"the domain template is missing at {path}; reinstall dmesh-dbt")
    return path


def dbt_executable() -> str:
    """The dbt installed beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file():
        return str(beside)
    import shutil  # here: looked up only when dbt runs

    found = shutil.which("dbt")
    if found is None:
        raise ConfigError("dbt is not installed; install dmesh-dbt with its dependencies (pip install dmesh-dbt)")
    return found


class DbtFlags(msgspec.Struct, frozen=True):
    """The user's dbt set-up that every dbt run must carry: where profiles.yml is and the ``--vars``.

    ``profiles_dir`` is resolved by ``dmesh_dbt.project.dbt_flags`` as dbt resolves it; None leaves dbt to its
    own lookup (the project directory, which is dbt's working directory, then ~/.dbt), which is the same one.
    """

    profiles_dir: Path | None = None
    vars: str | None = None  # a YAML mapping, as dbt's --vars takes it

    def args(self) -> list[str]:
        flags = [] if self.profiles_dir is None else ["--profiles-dir", str(self.profiles_dir)]
        return flags if self.vars is None else [*flags, "--vars", self.vars]


#: No flag: dbt finds profiles.yml itself (in the project, its working directory, then ~/.dbt), no --vars.
DBT_DEFAULTS = DbtFlags()


def dbt_process(
    project_dir: Path, *args: str, env: dict[str, str] | None = None, flags: DbtFlags = DBT_DEFAULTS
) -> subprocess.CompletedProcess[str]:
    """Run a dbt command in ``project_dir`` with the user's ``flags`` and return it, failed or not.

    For callers that read dbt's output to explain a failure themselves; ``run_dbt`` raises instead.
    """
    import subprocess

    project_dir = project_dir.resolve()  # dbt runs with cwd set to it, so a relative path would resolve twice
    command = [dbt_executable(), *args, "--project-dir", str(project_dir), *flags.args()]
    return subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, check=False)


def run_dbt(
    project_dir: Path, *args: str, env: dict[str, str] | None = None, flags: DbtFlags = DBT_DEFAULTS
) -> subprocess.CompletedProcess[str]:
    """Run a dbt command in ``project_dir`` with the user's ``flags``; raise DbtError when it fails."""
    result = dbt_process(project_dir, *args, env=env, flags=flags)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DbtError(f"`dbt {' '.join(args)}` failed in {project_dir.resolve()}:\n{tail}")
    return result


def log_events(stdout: str) -> Iterator[dict[str, Any]]:
    """The events of a dbt run with ``--log-format json``, skipping any line that is not one."""
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            yield event

"""Helpers shared by the tests: create domain projects with the real CLI and run real dbt in them."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def masking_keys_env(label: str) -> dict[str, str]:
    """Fresh, strong domain and mesh keys (as every target but `dev` demands them), named after the test."""
    return {
        "DMESH_MASKING_KEY": f"{label}-domain-{secrets.token_hex(16)}",
        "DMESH_MESH_KEY": f"{label}-mesh-{secrets.token_hex(16)}",
    }


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    # Piped output never wraps unless COLUMNS asks for a width: a COLUMNS the test runner inherited must not.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["DO_NOT_TRACK"] = "1"
    env.update(extra or {})
    return env


def run_cli(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `dmesh-dbt` console script as a user would; never raises on a non-zero exit."""
    return subprocess.run(
        [str(VENV_BIN / "dmesh-dbt"), *args], cwd=cwd, env=_env(env), capture_output=True, text=True, check=False
    )


#: The mail domain of the tests' owners: `publish` refuses example.com, init's placeholder.
OWNER_MAIL_DOMAIN = "acme.test"


def init_domain(parent: Path, domain: str, *extra_cli_args: str, env: Mapping[str, str] | None = None) -> Path:
    """`dmesh-dbt init DOMAIN --dir parent/DOMAIN --owner DOMAIN-team@acme.test ...`; returns the project directory."""
    project = parent / domain
    owner = () if "--owner" in extra_cli_args else ("--owner", f"{domain}-team@{OWNER_MAIL_DOMAIN}")
    result = run_cli("init", domain, "--dir", str(project), *owner, *extra_cli_args, env=env)
    assert result.returncode == 0, f"init failed:\n{result.stdout}\n{result.stderr}"
    return project


def _dbt_command(project: Path, *args: str) -> list[str]:
    return [str(VENV_BIN / "dbt"), *args, "--project-dir", str(project), "--profiles-dir", str(project)]


def start_dbt(project: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start real dbt in ``project`` without waiting for it (stderr folded into stdout), to run beside another."""
    return subprocess.Popen(
        _dbt_command(project, *args),
        cwd=project,
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_dbt(
    project: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run real dbt in ``project`` (cwd and profiles dir); with ``check`` a failure raises with dbt's output."""
    command = _dbt_command(project, *args)
    result = subprocess.run(command, cwd=project, env=_env(env), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed in {project}:\n{result.stdout[-6000:]}\n{result.stderr}")
    return result


def dbt_invocations(project: Path, command: str) -> int:
    """How many times dbt ran ``command`` (``show``, ``compile``, ...) in ``project``: its own log, logs/dbt.log,
    records each invocation's command line (in text or, after ``--log-format json``, JSON)."""
    log = project / "logs" / "dbt.log"
    if not log.is_file():
        return 0
    return len(
        re.findall(rf"""["']invocation_command["']: ["']dbt {re.escape(command)} """, log.read_text(errors="replace"))
    )

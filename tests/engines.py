"""Real engines for the integration tests: a throwaway PostgreSQL cluster and a BigQuery emulator.

Both listen on 127.0.0.1 only, on a free port, and live in a temporary directory that is removed
when they stop. `scripts/engines.sh` installs the binaries; the fixtures in `tests/conftest.py`
start and stop the servers, so `pytest` behaves the same on a laptop and in CI.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# CI exports this (scripts/engines.sh) so a missing engine fails the run instead of skipping tests.
REQUIRE_ENGINES_ENV = "DMESH_REQUIRE_ENGINES"
LOCALHOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 60.0


class EngineUnavailable(Exception):
    """An engine cannot run on this machine (its binaries are missing); the message says how to fix it."""


def engines_required() -> bool:
    return os.environ.get(REQUIRE_ENGINES_ENV, "") == "1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOCALHOST, 0))
        port: int = probe.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class PostgresEngine:
    """Connection details of a running PostgreSQL server; `user` is a superuser."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def connect(self, user: str | None = None, password: str | None = None) -> Any:
        """An autocommit psycopg2 connection, as the superuser or as `user`/`password`."""
        import psycopg2

        connection = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=user or self.user,
            password=password if user else self.password,
            dbname=self.dbname,
            connect_timeout=10,
        )
        connection.autocommit = True
        return connection

    def run_sql(
        self,
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """Run one statement (as the superuser, or as another role) and return its rows, if any.

        Errors propagate as psycopg2 exceptions, e.g. `psycopg2.errors.InsufficientPrivilege`.
        """
        connection = self.connect(user, password)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall()) if cursor.description else []
        finally:
            connection.close()

    def create_database(self, name: str) -> PostgresEngine:
        """A fresh, empty database on the same server, so test modules do not see each other's schemas."""
        self.run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.run_sql(f'CREATE DATABASE "{name}"')
        return replace(self, dbname=name)

    def dbt_env(self, schema: str) -> dict[str, str]:
        """The variables a domain project's `postgres` target reads from profiles.yml."""
        return {
            "DMESH_PG_HOST": self.host,
            "DMESH_PG_PORT": str(self.port),
            "DMESH_PG_USER": self.user,
            "DMESH_PG_PASSWORD": self.password,
            "DMESH_PG_DBNAME": self.dbname,
            "DMESH_PG_SCHEMA": schema,
        }


def find_postgres_bindir() -> Path:
    """The directory holding initdb and pg_ctl: $DMESH_PG_BINDIR if set (and then only it), else PATH, else
    Debian's layout."""
    if override := os.environ.get("DMESH_PG_BINDIR"):
        if _has_server_binaries(Path(override)):
            return Path(override)
        raise EngineUnavailable(f"DMESH_PG_BINDIR={override} holds no initdb and pg_ctl: fix it or unset it")
    candidates: list[Path] = []
    if on_path := shutil.which("initdb"):
        candidates.append(Path(on_path).resolve().parent)
    # Debian keeps server binaries off PATH, one directory per major version; prefer the newest.
    debian_dirs = Path("/usr/lib/postgresql").glob("*/bin")
    candidates.extend(
        sorted(debian_dirs, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0, reverse=True)
    )
    for bindir in candidates:
        if _has_server_binaries(bindir):
            return bindir
    raise EngineUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: run `apt-get install -y postgresql` "
        "(scripts/engines.sh does) or set DMESH_PG_BINDIR"
    )


def _has_server_binaries(bindir: Path) -> bool:
    return (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()


def _server_os_user() -> str | None:
    """PostgreSQL refuses to run as root: root runs it as the `postgres` OS user Debian's package creates."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as missing:
        raise EngineUnavailable(
            "running as root but there is no `postgres` OS user to run PostgreSQL as: "
            "run `apt-get install -y postgresql` or run the tests as a non-root user"
        ) from missing
    return "postgres"


def _run_as(os_user: str | None, command: list[str]) -> None:
    full = ["runuser", "-u", os_user, "--", *command] if os_user else command
    result = subprocess.run(full, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresEngine]:
    """A throwaway cluster (initdb into a temp dir), started on a free port, stopped and removed on exit."""
    bindir = find_postgres_bindir()
    os_user = _server_os_user()
    workdir = Path(tempfile.mkdtemp(prefix="dmesh-pg-"))
    if os_user:
        shutil.chown(workdir, user=os_user, group=os_user)
    engine = PostgresEngine(LOCALHOST, free_port(), "dmesh", secrets.token_hex(12), "postgres")
    datadir = workdir / "data"
    started = False
    try:
        _initdb(bindir, os_user, workdir, engine)
        options = (
            f"-p {engine.port} -k {workdir} -c listen_addresses={LOCALHOST} "
            # A throwaway cluster needs no durability; skipping fsync makes dbt's DDL noticeably faster.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run_as(
            os_user,
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-l",
                str(workdir / "server.log"),
                "-w",
                "-t",
                str(int(STARTUP_TIMEOUT_S)),
                "-o",
                options,
                "start",
            ],
        )
        started = True
        yield engine
    finally:
        if started:
            _run_as(os_user, [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop"])
        shutil.rmtree(workdir, ignore_errors=True)


def _initdb(bindir: Path, os_user: str | None, workdir: Path, engine: PostgresEngine) -> None:
    pwfile = workdir / "pwfile"
    pwfile.write_text(engine.password + "\n")
    if os_user:
        shutil.chown(pwfile, user=os_user, group=os_user)
    _run_as(
        os_user,
        [
            str(bindir / "initdb"),
            "-D",
            str(workdir / "data"),
            "-U",
            engine.user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
    )
    pwfile.unlink()


# --------------------------------------------------------------------------------------- BigQuery emulator

BIGQUERY_PROJECT = "dmesh-test"
# Any token works: the emulator does not authenticate, but dbt-bigquery's oauth-secrets method needs one.
EMULATOR_TOKEN = "emulator-token"


@dataclass(frozen=True)
class BigQueryEngine:
    """A running BigQuery API emulator (crucible) and the project id to use with it."""

    endpoint: str
    project: str
    location: str = "US"

    def client(self) -> Any:
        """A google-cloud-bigquery client that talks to the emulator, without Google credentials."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options=ClientOptions(api_endpoint=self.endpoint),
        )

    def query(self, sql: str) -> list[dict[str, Any]]:
        return [dict(row) for row in self.client().query(sql).result()]

    def dbt_env(self, dataset: str) -> dict[str, str]:
        """The variables a domain project's BigQuery `prod` target reads from profiles.yml."""
        return {
            "DMESH_BQ_PROJECT": self.project,
            "DMESH_BQ_DATASET": dataset,
            "DMESH_BQ_LOCATION": self.location,
            "DMESH_BQ_METHOD": "oauth-secrets",
            "DMESH_BQ_TOKEN": EMULATOR_TOKEN,
            "DMESH_BQ_API_ENDPOINT": self.endpoint,
            # google-cloud-bigquery's own emulator switch: a profile without `api_endpoint` still never calls Google.
            "BIGQUERY_EMULATOR_HOST": self.endpoint,
        }


def find_crucible() -> Path:
    """The emulator's executable: $DMESH_CRUCIBLE if set (and then only it), else the venv scripts/engines.sh
    makes, else PATH."""
    if override := os.environ.get("DMESH_CRUCIBLE"):
        if os.access(override, os.X_OK):
            return Path(override)
        raise EngineUnavailable(f"DMESH_CRUCIBLE={override} is not an executable: point it at crucible or unset it")
    for candidate in (str(REPO_ROOT / ".venv-crucible" / "bin" / "crucible"), shutil.which("crucible") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise EngineUnavailable(
        "BigQuery emulator `crucible` not found: run `source scripts/engines.sh && start_engines` "
        "(it installs crucible-emulator into .venv-crucible) or set DMESH_CRUCIBLE"
    )


@contextlib.contextmanager
def running_bigquery_emulator() -> Iterator[BigQueryEngine]:
    """crucible's BigQuery emulator (in-memory) on a free port, stopped by its pid on exit."""
    crucible = find_crucible()
    port = free_port()
    engine = BigQueryEngine(endpoint=f"http://{LOCALHOST}:{port}", project=BIGQUERY_PROJECT)
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(
            [str(crucible), "serve", "--dialect", "bigquery", "--host", LOCALHOST, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(server, engine, log)
            yield engine
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_serving(server: subprocess.Popen[bytes], engine: BigQueryEngine, log: Any) -> None:
    probe = f"{engine.endpoint}/bigquery/v2/projects/{engine.project}/datasets"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"crucible exited with {server.returncode}:\n{log.read()}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError),
            urllib.request.urlopen(probe, timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"crucible did not answer on {engine.endpoint} within {STARTUP_TIMEOUT_S:.0f} s")


# ------------------------------------------------------------------------------------------------- Chromium

CHROMIUM_ENV = "DMESH_CHROMIUM"


def chromium_path() -> str | None:
    """Debian's `chromium` (scripts/engines.sh installs it), or the binary DMESH_CHROMIUM names."""
    return os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def running_chromium() -> Iterator[Any]:
    """Headless Chromium driven by Playwright: the system binary, never a download (no network here)."""
    executable = chromium_path()
    if executable is None:
        raise EngineUnavailable("Chromium is not installed; install it with: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"], headless=True)
        try:
            yield browser
        finally:
            browser.close()

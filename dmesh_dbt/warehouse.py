"""Why a connection to a dbt target's warehouse failed, in words that name the cause and the fix.

dbt reports a failed connection as the driver's text (google-auth, psycopg2, ...). ``explain_failure`` recognises
the usual causes: a variable profiles.yml needs, missing or refused credentials, an unreachable host, an unknown
project, database or dataset. The fixes name the environment variables the domain template's profiles.yml reads
(``DMESH_BQ_*``, ``DMESH_PG_*``); nothing here opens a connection.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dmesh_dbt.errors import WarehouseError


@dataclass(frozen=True)
class Cause:
    """One recognisable cause: a pattern in dbt's error text, and the message naming the fix."""

    pattern: re.Pattern[str]
    explain: Callable[[re.Match[str], str, str], str]  # (match, target, adapter) -> message


def _missing_env_var(match: re.Match[str], target: str, adapter: str) -> str:
    return f"target {target!r} needs the environment variable {match['var']} (profiles.yml reads it): set it"


def _credentials(match: re.Match[str], target: str, adapter: str) -> str:
    if adapter == "bigquery":
        return (
            f"no usable BigQuery credentials for target {target!r}: run `gcloud auth application-default login` "
            "(method oauth, the default), or set DMESH_BQ_METHOD=service-account and DMESH_BQ_KEYFILE to a key file"
        )
    if adapter == "postgres":
        return (
            f"PostgreSQL refused the credentials of target {target!r}: set DMESH_PG_USER and DMESH_PG_PASSWORD "
            "to a role that may read the domain's schemas"
        )
    return f"the warehouse refused the credentials of target {target!r}: fix them in profiles.yml"


def _unreachable(match: re.Match[str], target: str, adapter: str) -> str:
    where = re.search(r'server at "(?P<host>[^"]+)"(?:.*?port (?P<port>\d+))?', match.string)
    at = f" at {where['host']}:{where['port'] or '5432'}" if where else ""
    settings = {
        "postgres": "start the server, or set DMESH_PG_HOST and DMESH_PG_PORT to where it listens",
        "bigquery": "check the network, or set DMESH_BQ_API_ENDPOINT to the emulator you mean (empty for Google's)",
    }
    fix = settings.get(adapter, "check the host and port in profiles.yml")
    return f"cannot reach the {adapter} warehouse of target {target!r}{at}: {fix}"


def _unset_project(match: re.Match[str], target: str, adapter: str) -> str:
    return f"target {target!r} names no Google Cloud project: set DMESH_BQ_PROJECT to the project holding the data"


def _unknown_dataset(match: re.Match[str], target: str, adapter: str) -> str:
    return (
        f"dataset {match['name']} does not exist for target {target!r}: set DMESH_BQ_DATASET to the domain's dataset, "
        f"or create it with `dbt build --target {target}`"
    )


def _unknown_database(match: re.Match[str], target: str, adapter: str) -> str:
    return f"database {match['name']} does not exist on target {target!r}: set DMESH_PG_DBNAME to an existing one"


def _not_granted(match: re.Match[str], target: str, adapter: str) -> str:
    kind = "table" if match["kind"] == "relation" else match["kind"]
    return (
        f"the user of target {target!r} may not read {kind} {match['name']} (permission denied): grant it USAGE on "
        "the schema and SELECT on its tables, or use a target whose user may"
    )


def _unbuilt(match: re.Match[str], target: str, adapter: str) -> str:
    what = match["what"] or (match["table"] or "").removeprefix("Not found: ").lower()
    return f"{what} does not exist on target {target!r}: build it first with `dbt build --target {target}`"


#: In order: the first that matches explains the failure.
CAUSES: tuple[Cause, ...] = (
    Cause(re.compile(r"Env var required but not provided: '(?P<var>\w+)'"), _missing_env_var),
    Cause(re.compile(r"set-DMESH_BQ_PROJECT|Not found: Project", re.IGNORECASE), _unset_project),
    Cause(
        re.compile(
            r"credentials were not found|could not automatically determine credentials|failed to authenticate|"
            r"invalid_grant|reauthentication is needed|password authentication failed|no password supplied|"
            r"role \"[^\"]+\" does not exist|Access Denied",
            re.IGNORECASE,
        ),
        _credentials,
    ),
    Cause(
        re.compile(
            r"connection refused|could not translate host name|name or service not known|timeout expired|"
            r"temporary failure in name resolution|failed to establish a new connection|max retries exceeded|"
            r"network is unreachable|no route to host",
            re.IGNORECASE,
        ),
        _unreachable,
    ),
    Cause(re.compile(r"Not found: Dataset (?P<name>[\w.:-]+)"), _unknown_dataset),
    Cause(re.compile(r"database \"(?P<name>[^\"]+)\" does not exist"), _unknown_database),
    # PostgreSQL: a schema without USAGE, or a table without SELECT (15+ says table, older versions relation).
    Cause(re.compile(r"permission denied for (?P<kind>schema|table|relation|view) (?P<name>[^\s:]+)"), _not_granted),
    Cause(
        re.compile(r"(?P<what>(?:relation|schema) \"[^\"]+\") does not exist|(?P<table>Not found: Table [\w.:-]+)"),
        _unbuilt,
    ),
)


def explain_failure(message: str, target: str, adapter: str) -> WarehouseError | None:
    """A WarehouseError naming the cause and fix of dbt's connection error ``message``; None if none is known."""
    for cause in CAUSES:
        match = cause.pattern.search(message)
        if match is not None:
            return WarehouseError(cause.explain(match, target, adapter))
    return None

"""Masking keys outside the build: read from the environment as the macros read them, and provisioned where the build
cannot take them without writing them into SQL text.

dbt-bigquery sends no query parameters, so a key the build installed itself would be a literal in a statement that
dbt logs and BigQuery keeps in its job history. ``dmesh-dbt key install`` instead writes the HMAC pads of each key to
the domain's private key table through a load job of the BigQuery client library: the rows travel as the job's data,
never as SQL, and the build only reads the table (``macros/masking/install_masking_keys.sql``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from dmesh_dbt.errors import ConfigError, UsageError, WarehouseError
from dmesh_dbt.masking import (
    DEVELOPMENT_TARGET,
    KEY_SOURCES,
    KEY_TABLE,
    KeyScope,
    hmac_pads,
    weak_key_problem,
)
from dmesh_dbt.project import Target

#: The adapters whose builds read keys provisioned beforehand; the others install them from the environment.
PROVISIONED_ADAPTERS = frozenset({"bigquery"})


def resolve_masking_keys(target: str, environ: Mapping[str, str]) -> dict[KeyScope, str]:
    """The keys of every scope whose environment variable is set (the domain key is required), checked as the macros
    check them: outside ``dev``, a weak key or a mesh key equal to the domain key is a ConfigError naming the fix."""
    keys = {scope: environ.get(source.env, "") for scope, source in KEY_SOURCES.items()}
    if not keys[KeyScope.DOMAIN]:
        env = KEY_SOURCES[KeyScope.DOMAIN].env
        raise ConfigError(f"dmesh: no masking key for target '{target}': set the environment variable {env}")
    keys = {scope: key for scope, key in keys.items() if key}
    if target == DEVELOPMENT_TARGET:
        return keys
    for scope, key in keys.items():
        problem = weak_key_problem(key, KEY_SOURCES[scope].env, target)
        if problem:
            raise ConfigError(problem)
    if keys.get(KeyScope.MESH) == keys[KeyScope.DOMAIN]:
        raise ConfigError(
            f"dmesh: DMESH_MESH_KEY equals DMESH_MASKING_KEY on target '{target}': every domain holds the mesh key, "
            "so give DMESH_MASKING_KEY a secret of the domain's own (e.g. the output of `openssl rand -hex 32`)"
        )
    return keys


def key_table_csv(keys: Mapping[KeyScope, str]) -> bytes:
    """The key table's rows (scope, ipad, opad; the pads in hex) as CSV, the load job's data."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for scope, key in sorted(keys.items()):
        ipad, opad = hmac_pads(key)
        writer.writerow([scope.value, ipad.hex(), opad.hex()])
    return buffer.getvalue().encode()


def install_keys(target: Target, keys: Mapping[KeyScope, str]) -> str:
    """Write the key table of ``target``'s private dataset, replacing what it held; returns the table's id."""
    if target.type not in PROVISIONED_ADAPTERS:
        raise UsageError(
            f"target {target.name!r} is {target.type}: its build installs the keys itself from "
            f"{KEY_SOURCES[KeyScope.DOMAIN].env} (and {KEY_SOURCES[KeyScope.MESH].env}); `key install` is for BigQuery"
        )
    return _install_bigquery_keys(target, keys)


def _install_bigquery_keys(target: Target, keys: Mapping[KeyScope, str]) -> str:
    from google.api_core.exceptions import GoogleAPIError
    from google.cloud import bigquery

    client = bigquery_client(target)
    dataset = f"{client.project}.{target.settings.get('dataset') or target.settings.get('schema')}"
    client.create_dataset(dataset, exists_ok=True)
    table = f"{dataset}.{KEY_TABLE}"
    config = bigquery.LoadJobConfig(
        schema=[bigquery.SchemaField(name, "STRING") for name in ("scope", "ipad", "opad")],
        source_format=bigquery.SourceFormat.CSV,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
    )
    try:
        client.load_table_from_file(io.BytesIO(key_table_csv(keys)), table, job_config=config).result()
    except GoogleAPIError as error:
        raise WarehouseError(f"BigQuery refused to write the key table {table}: {error}") from error
    return table


def bigquery_client(target: Target) -> Any:
    """A client for a dbt-bigquery target, authenticated as its profile says (oauth, oauth-secrets, service-account,
    service-account-json) and pointed at its ``api_endpoint`` when set (an emulator)."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import bigquery

    settings = target.settings
    endpoint = settings.get("api_endpoint") or None
    return bigquery.Client(
        project=str(settings.get("project") or settings.get("database") or ""),
        credentials=_bigquery_credentials(settings),
        location=settings.get("location") or None,
        client_options=ClientOptions(api_endpoint=endpoint) if endpoint else None,
    )


def _bigquery_credentials(settings: Mapping[str, Any]) -> Any:
    method = str(settings.get("method") or "oauth")
    if method == "oauth-secrets":
        from google.oauth2.credentials import Credentials

        return Credentials(token=settings.get("token"))  # type: ignore[no-untyped-call]
    if method == "service-account":
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_file(str(settings.get("keyfile")))  # type: ignore[no-untyped-call]
    if method == "service-account-json":
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_info(settings.get("keyfile_json"))  # type: ignore[no-untyped-call]
    if method == "oauth":
        import google.auth

        credentials, _ = google.auth.default()
        return credentials
    raise ConfigError(
        f"dbt-bigquery method {method!r} is not one dmesh-dbt key install knows: use oauth, oauth-secrets, "
        "service-account or service-account-json"
    )

"""Generates `masking_proof`, a small dbt project that exercises every masking strategy of the dmesh package.

Seeds hold synthetic PII (explicit column_types); public models are published masked by the package's post-hook;
the privacy tests run on them, two of them against a deliberate leak (severity warn, so the build stays green and
the test can read their failures from run_results.json). The same project builds on DuckDB and Postgres.
"""

from __future__ import annotations

import copy
import csv
import random
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

from dmesh_dbt.masking import MaskingKeys, column_masking, dbt_vars, hash_column_value

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_NAME = "masking_proof"
ROWS = 40

#: column -> (seed type, column meta). Each strategy appears at least once; ip_address is an approved exception.
PEOPLE_COLUMNS: dict[str, tuple[str, dict[str, Any]]] = {
    "person_id": ("bigint", {}),
    "email": ("varchar", {"pii": "email"}),
    "contact_email": ("varchar", {"pii": "email", "mask": "email_domain"}),
    "phone": ("varchar", {"pii": "phone", "mask": "partial"}),
    "full_name": ("varchar", {"pii": "person_name"}),
    "ssn": ("varchar", {"pii": "national_id"}),
    "date_of_birth": ("date", {"pii": "date_of_birth"}),
    "first_seen_on": ("date", {"pii": "date_of_birth", "mask": "date_month"}),
    "latitude": ("double precision", {"pii": "geo"}),
    "longitude": ("double precision", {"pii": "geo"}),
    "device_id": ("varchar", {"pii": "device_id", "mask": "null"}),
    "card_number": ("varchar", {"pii": "card_number"}),
    "routing_number": ("varchar", {"pii": "routing_number"}),
    "notes": ("varchar", {"pii": "free_text"}),
    "ip_address": (
        "varchar",
        {
            "pii": "ip_address",
            "mask_exception": {"reason": "fraud team joins on raw IPs", "approver": "dpo@example.com"},
        },
    ),
    "country_code": ("varchar", {}),
}

#: Strategy each PII column of `people` is published with (the class default unless `mask:` overrides it).
PEOPLE_STRATEGIES = {
    "email": "hash",
    "contact_email": "email_domain",
    "phone": "partial",
    "full_name": "redact",
    "ssn": "hash",
    "date_of_birth": "date_year",
    "first_seen_on": "date_month",
    "latitude": "geo_coarse",
    "longitude": "geo_coarse",
    "device_id": "null",
    "card_number": "hash",
    "routing_number": "partial",
    "notes": "redact",
}


@dataclass(frozen=True)
class MaskingProject:
    path: Path
    people: list[dict[str, str]]  # the seed rows as written ('' is NULL)


def luhn_complete(digits: str) -> str:
    """``digits`` plus the check digit that makes the whole number pass the Luhn checksum."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def people_rows(count: int = ROWS) -> list[dict[str, str]]:
    """Synthetic people; every (birth year, country) pair is shared by 5 rows, so k-anonymity with k=5 holds."""
    rng = random.Random(20261125)
    rows = []
    for i in range(count):
        first, last = rng.choice(["Ada", "Grace", "Alan", "Edsger"]), rng.choice(["Lovelace", "Hopper", "Turing"])
        rows.append(
            {
                "person_id": str(i + 1),
                "email": f"{first.lower()}.{last.lower()}{i}@example.com",
                "contact_email": f"{first.lower()}{i}@mail{i % 3}.example.org",
                "phone": f"+1555{rng.randrange(10**7):07d}",
                "full_name": f"{first} {last}",
                "ssn": f"{rng.randrange(100, 900)}-{rng.randrange(10, 100)}-{rng.randrange(1000, 10000)}",
                "date_of_birth": date(1980 + i % 4, rng.randrange(1, 13), rng.randrange(1, 29)).isoformat(),
                "first_seen_on": date(2024, rng.randrange(1, 13), rng.randrange(1, 29)).isoformat(),
                # Two decimals: every engine then rounds the same exact value to one decimal.
                "latitude": f"{rng.uniform(-60, 60):.2f}",
                "longitude": f"{rng.uniform(-170, 170):.2f}",
                "device_id": f"dev-{rng.randrange(16**12):012x}",
                "card_number": luhn_complete("4" + "".join(str(rng.randrange(10)) for _ in range(14))),
                "routing_number": f"{rng.randrange(10**8, 10**9)}",
                "notes": "" if i % 5 == 0 else f"called about order {rng.randrange(10**6)}",
                "ip_address": f"10.{i}.{rng.randrange(256)}.{rng.randrange(256)}",
                "country_code": ["US", "DE"][(i // 4) % 2],
            }
        )
    return rows


def expected_published_person(row: dict[str, str], keys: MaskingKeys) -> dict[str, object]:
    """What the published relation must hold for one seed row of `people`, computed here in Python (a joinable class
    hashed with the mesh key, every other with the domain's)."""
    published: dict[str, object] = {}
    for column, (data_type, meta) in PEOPLE_COLUMNS.items():
        value = row[column] or None
        strategy = PEOPLE_STRATEGIES.get(column)
        if value is None:
            published[column] = None
        elif strategy is None:
            published[column] = _typed(data_type, value)
        elif strategy == "hash":
            published[column] = hash_column_value(column_masking("people", column, meta), keys, value)
        else:
            published[column] = _mask(strategy, value)
    return published


def _typed(data_type: str, value: str) -> object:
    if data_type == "bigint":
        return int(value)
    if data_type == "date":
        return date.fromisoformat(value)
    if data_type == "double precision":
        return float(value)
    return value


def _mask(strategy: str, value: str) -> object:
    if strategy == "redact":
        return "[REDACTED]"
    if strategy == "partial":
        return "*" * len(value) if len(value) <= 4 else "*" * (len(value) - 4) + value[-4:]
    if strategy == "email_domain":
        return value.rsplit("@", 1)[1] if "@" in value else None
    if strategy == "date_year":
        return date.fromisoformat(value).replace(month=1, day=1)
    if strategy == "date_month":
        return date.fromisoformat(value).replace(day=1)
    if strategy == "geo_coarse":
        return float(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return None  # "null"


def _columns(meta_by_column: dict[str, tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Fresh column entries (copies: yaml would otherwise write shared objects as anchors and aliases)."""
    return [
        {"name": name, "config": {"meta": copy.deepcopy(meta)}} if meta else {"name": name}
        for name, (_, meta) in meta_by_column.items()
    ]


def _models_yml() -> dict[str, Any]:
    tested_columns = [
        {**column, "data_tests": ["dmesh.no_valid_card_numbers"]} if column["name"] == "card_number" else column
        for column in _columns(PEOPLE_COLUMNS)
    ]
    leaked_card = {
        "name": "card_number",
        "meta": {"pii": "card_number", "mask_exception": {"reason": "test of the test", "approver": "qa@example.com"}},
        "data_tests": [{"dmesh.no_valid_card_numbers": {"config": {"severity": "warn"}}}],
    }
    k_anonymity = {"dmesh.k_anonymity": {"arguments": {"quasi_identifiers": ["date_of_birth", "country_code"], "k": 5}}}
    return {
        "version": 2,
        "models": [
            {"name": "people", "columns": tested_columns, "data_tests": ["dmesh.no_forbidden_pii", k_anonymity]},
            {
                "name": "people_snapshot",
                "config": {"meta": {"dmesh": {"published_materialization": "table"}}},
                "columns": _columns(PEOPLE_COLUMNS),
            },
            {
                "name": "card_leak",
                "columns": [{"name": "person_id"}, leaked_card],
                "data_tests": [
                    {
                        "dmesh.k_anonymity": {
                            "arguments": {"quasi_identifiers": ["person_id"], "k": 2},
                            "config": {"severity": "warn"},
                        }
                    }
                ],
            },
            {
                "name": "accounts",
                "latest_version": 2,
                "versions": [{"v": 2}],
                "columns": [{"name": "person_id"}, {"name": "ssn", "meta": {"pii": "national_id"}}],
            },
            {"name": "people_internal", "config": {"access": "protected"}, "columns": _columns(PEOPLE_COLUMNS)},
        ],
    }


#: BigQuery's names for the seed types (its CSV loads know no `bigint` or `varchar`).
BIGQUERY_TYPES = {"bigint": "int64", "varchar": "string", "double precision": "float64", "date": "date"}


def _seeds_yml(warehouse: str) -> dict[str, Any]:
    types = {name: data_type for name, (data_type, _) in PEOPLE_COLUMNS.items()}
    if warehouse == "bigquery":
        types = {name: BIGQUERY_TYPES[data_type] for name, data_type in types.items()}
    return {"version": 2, "seeds": [{"name": "people_raw", "config": {"column_types": types}}]}


def _project_yml() -> dict[str, Any]:
    return {
        "name": PROJECT_NAME,
        "version": "1.0.0",
        "config-version": 2,
        "profile": PROJECT_NAME,
        "flags": {"send_anonymous_usage_stats": False},
        "on-run-start": ["{{ dmesh.on_run_start() }}"],
        "models": {
            PROJECT_NAME: {
                "+materialized": "table",
                "+access": "public",
                "+post-hook": ["{{ dmesh.publish_masked() }}"],
            }
        },
        "vars": dbt_vars(),
    }


def _profiles_yml() -> dict[str, Any]:
    duckdb = {"type": "duckdb", "path": "{{ env_var('PROOF_DUCKDB_PATH', 'proof.duckdb') }}", "threads": 4}
    postgres = {
        "type": "postgres",
        "host": "{{ env_var('DMESH_PG_HOST') }}",
        "port": "{{ env_var('DMESH_PG_PORT') | as_number }}",
        "user": "{{ env_var('DMESH_PG_USER') }}",
        "password": "{{ env_var('DMESH_PG_PASSWORD') }}",
        "dbname": "{{ env_var('DMESH_PG_DBNAME') }}",
        "schema": "{{ env_var('DMESH_PG_SCHEMA') }}",
        "threads": 4,
    }
    bigquery = {
        "type": "bigquery",
        "method": "oauth-secrets",
        "token": "{{ env_var('DMESH_BQ_TOKEN') }}",
        "project": "{{ env_var('DMESH_BQ_PROJECT') }}",
        "dataset": "{{ env_var('DMESH_BQ_DATASET') }}",
        "location": "{{ env_var('DMESH_BQ_LOCATION') }}",
        "api_endpoint": "{{ env_var('DMESH_BQ_API_ENDPOINT') }}",
        "threads": 4,
    }
    # `ci` is DuckDB too: any target but `dev` must refuse to run without a masking key.
    outputs = {"dev": duckdb, "ci": duckdb, "postgres": postgres, "prod": bigquery}
    return {PROJECT_NAME: {"target": "dev", "outputs": outputs}}


MODELS_SQL = {
    "people.sql": "select * from {{ ref('people_raw') }}",
    "people_snapshot.sql": "select * from {{ ref('people_raw') }}",
    "people_internal.sql": "select * from {{ ref('people_raw') }}",
    "card_leak.sql": "select person_id, card_number from {{ ref('people_raw') }}",
    "accounts_v2.sql": "select person_id, ssn from {{ ref('people_raw') }}",
}


def write_yaml(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def write_masking_project(path: Path, warehouse: str = "duckdb") -> MaskingProject:
    """Write the project into ``path`` (dbt deps not yet run); seed types are spelled for ``warehouse``."""
    rows = people_rows()
    write_yaml(path / "dbt_project.yml", _project_yml())
    write_yaml(path / "profiles.yml", _profiles_yml())
    write_yaml(path / "packages.yml", {"packages": [{"local": str(REPO_ROOT)}]})
    write_yaml(path / "seeds" / "_seeds.yml", _seeds_yml(warehouse))
    write_yaml(path / "models" / "_models.yml", _models_yml())
    for name, sql in MODELS_SQL.items():
        (path / "models" / name).write_text(sql + "\n")
    with (path / "seeds" / "people_raw.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(PEOPLE_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return MaskingProject(path=path, people=rows)


def write_policy_breaking_project(path: Path) -> None:
    """A project whose PII meta breaks the policy in every way the macros must refuse."""
    write_masking_project(path)
    broken = [
        {"name": "cvv", "meta": {"pii": "cvv"}},
        {"name": "email", "meta": {"pii": "e-mail"}},
        {"name": "phone", "meta": {"pii": "phone", "mask": "scramble"}},
        {"name": "ssn", "meta": {"pii": "national_id", "mask_exception": {"reason": "nobody approved"}}},
    ]
    (path / "models" / "broken.sql").write_text("select '123' as cvv, email, phone, ssn from {{ ref('people_raw') }}\n")
    write_yaml(path / "models" / "_broken.yml", {"version": 2, "models": [{"name": "broken", "columns": broken}]})

"""Sampled values from the warehouse: DuckDB read directly, every other adapter through the project's dbt target.

Values come back as strings (what the validators read) or None, keyed by relation and column. They stay in memory
for the validators and are never written out.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from dmesh_dbt.errors import ConfigError, DbtError

#: relation name -> column name -> sampled values (None for NULL)
Samples = dict[str, dict[str, list[str | None]]]


@dataclass(frozen=True)
class Target:
    """The dbt target a scan samples through: its name, adapter type and (DuckDB) database file."""

    name: str
    adapter: str
    duckdb_path: Path | None = None


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ConfigError(f"profiles.yml uses env_var('{name}') without a default; set {name} and run again")
    return value


def _render(value: object) -> str:
    """A profile value with dbt's ``env_var()`` rendered (the only Jinja a connection setting needs here)."""
    return jinja2.Environment().from_string(str(value)).render(env_var=_env_var)


def resolve_target(project_dir: Path, target: str | None = None) -> Target:
    """The target ``--target`` names (else the profile's default) from the project's own profiles.yml."""
    profile_name = _profile_name(project_dir)
    profiles_path = project_dir / "profiles.yml"
    if not profiles_path.is_file():
        raise ConfigError(f"{profiles_path} not found; --sample-rows reads the project's own profiles.yml")
    profiles = yaml.safe_load(profiles_path.read_text(encoding="utf-8")) or {}
    profile = profiles.get(profile_name)
    if not isinstance(profile, dict):
        raise ConfigError(f"profile {profile_name!r} is not in {profiles_path}; add it or fix dbt_project.yml")
    name = target or _render(profile.get("target", "dev"))
    outputs = profile.get("outputs") or {}
    if name not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise ConfigError(f"target {name!r} is not in profile {profile_name!r} (targets: {known}); use --target")
    output = outputs[name]
    adapter = _render(output.get("type", ""))
    if adapter != "duckdb":
        return Target(name, adapter)
    path = Path(_render(output.get("path", ":memory:")))
    # dbt-duckdb opens a relative path from dbt's working directory; the project directory is where its
    # profiles.yml says to run dbt.
    return Target(name, adapter, path if path.is_absolute() else project_dir / path)


def _profile_name(project_dir: Path) -> str:
    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        raise ConfigError(f"{project_dir} has no dbt_project.yml; pass --project-dir of a dbt project")
    document = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    return str(document.get("profile") or document.get("name"))


# --- DuckDB, read directly --------------------------------------------------------------------------------


def sample_duckdb(database: Path, relations: Sequence[str], rows: int) -> Samples:
    """Up to ``rows`` rows of each relation (a reservoir sample, repeatable) as strings, read-only."""
    import duckdb

    if not database.is_file():
        raise ConfigError(f"DuckDB database {database} not found; run `dbt build` first (or pick --target)")
    samples: Samples = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        existing = _existing_relations(connection)
        for relation in relations:
            if _normalise(relation) not in existing:
                continue  # not built (yet), or an ephemeral model: nothing to sample
            cursor = connection.execute(
                f"select * from {relation} using sample reservoir({int(rows)} rows) repeatable (7)"
            )
            names = [d[0] for d in cursor.description]
            records = cursor.fetchall()
            samples[relation] = {name: [_as_text(r[i]) for r in records] for i, name in enumerate(names)}
    return samples


def duckdb_relations_in_schemas(database: Path, schema_suffix: str) -> list[str]:
    """Quoted names of every table and view in schemas whose name ends with ``schema_suffix``."""
    import duckdb

    if not database.is_file():
        return []
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables where table_schema like ?",
            [f"%{schema_suffix}"],
        ).fetchall()
    return [f'"{c}"."{s}"."{t}"' for c, s, t in rows]


def _existing_relations(connection: Any) -> set[str]:
    rows = connection.execute("select table_catalog, table_schema, table_name from information_schema.tables")
    return {_normalise(f'"{c}"."{s}"."{t}"') for c, s, t in rows.fetchall()}


def _normalise(relation: str) -> str:
    return relation.replace('"', "").lower()


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


# --- any adapter, through dbt ------------------------------------------------------------------------------

_RELATION_NAME = re.compile(r"^[\w\"`.\- ]+$|^\{\{ (ref|source)\([\w', =]+\) \}\}$")


def sample_through_dbt(
    project_dir: Path,
    target: str,
    columns: Mapping[str, Sequence[str]],
    rows: int,
    sql_names: Mapping[str, str] | None = None,
) -> Samples:
    """Sample through ``dbt show`` on ``target``: one query, every relation's columns cast to the adapter's string.

    ``columns`` maps each relation to the columns to read (from the manifest: dbt show cannot describe a
    relation); ``sql_names`` gives the SQL for a relation where it differs from its key, e.g. ``{{ ref('x') }}``
    so dbt resolves it for ``target`` (the manifest's relation names are those of the target it was parsed for).
    One dbt invocation for the whole scan: each costs seconds of start-up.
    """
    sql_names = sql_names or {}
    project_dir = project_dir.resolve()
    parts = []
    for index, (relation, names) in enumerate(columns.items()):
        sql_name = sql_names.get(relation, relation)
        if not names or not _RELATION_NAME.match(sql_name):
            continue
        for name in names:
            parts.append(
                f"select {index} as r, '{_sql_string(name)}' as c, "
                f"cast({{{{ adapter.quote('{_sql_string(name)}') }}}} as {{{{ dbt.type_string() }}}}) as v "
                f"from (select * from {sql_name} limit {int(rows)}) as s{index}"
            )
    if not parts:
        return {}
    inline = "\nunion all\n".join(parts)
    limit = rows * len(parts)
    command = [
        str(Path(sys.executable).parent / "dbt"), "show", "--inline", inline, "--limit", str(limit),
        "--output", "json", "--log-format", "json", "--target", target,
        "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=project_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DbtError(
            f"dbt show failed while sampling on target {target!r}: {_last_error(result.stdout)}"
            f" (sampling reads built relations: run `dbt build --target {target}` first)"
        )
    relations = list(columns)
    samples: Samples = {}
    for row in _show_rows(result.stdout):
        relation = relations[int(row["r"])]
        samples.setdefault(relation, {}).setdefault(str(row["c"]), []).append(_as_text(row["v"]))
    return samples


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _json_events(stdout: str) -> Iterator[dict[str, Any]]:
    """dbt's ``--log-format json`` events, skipping anything that is not one."""
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            yield event


def _show_rows(stdout: str) -> list[dict[str, Any]]:
    for event in _json_events(stdout):
        preview = event.get("data", {}).get("preview")
        if preview is not None:
            rows: list[dict[str, Any]] = json.loads(preview) if isinstance(preview, str) else preview
            return rows
    return []


def _last_error(stdout: str) -> str:
    messages = [
        str(event["info"].get("msg", "")).strip()
        for event in _json_events(stdout)
        if event.get("info", {}).get("level") == "error"
    ]
    # dbt's last error event holds the cause after a generic first line ("Encountered an error:").
    text = " ".join(" ".join(messages[-2:]).split()) if messages else "see `dbt show` output"
    return text[:400]

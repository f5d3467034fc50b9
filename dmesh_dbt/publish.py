"""``dmesh-dbt publish``: put a domain's data products into the registry, once they are built, tested and checked.

A release of a domain is its dbt project ``version`` and holds, per public model version, one ODCS v3 contract of
its *published* (masked) relation, plus one manifest that dbt-loom can read whose public nodes point at those
published relations. The raw relations never leave the domain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from dmesh_dbt import masking
from dmesh_dbt.artifacts import DataTest, Model, Project, RunResults, load_manifest, load_run_results
from dmesh_dbt.contracts import ContractColumn, ProductContract, Relation, Server, render_contract
from dmesh_dbt.errors import ConfigError, PolicyViolation
from dmesh_dbt.pii import Strategy
from dmesh_dbt.registry import REGISTRY_ENV, ProductEntry, PublishOutcome, Registry, Release

DESCRIPTOR = "dmesh.yml"


# ------------------------------------------------------------------------------------------ the domain descriptor


@dataclass(frozen=True)
class DomainDescriptor:
    """What ``dmesh.yml`` says about the domain: who owns it and what it promises."""

    domain: str
    owner: str
    description: str
    tier: str | None = None
    availability: str | None = None
    freshness: Mapping[str, Any] = field(default_factory=dict)
    registry: str | None = None


def read_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}; run this in a project made by `dmesh-dbt init`") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML ({error}); fix the file") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} is not a YAML mapping; fix the file")
    return document


def load_descriptor(project_dir: Path) -> DomainDescriptor:
    """The project's ``dmesh.yml``; ConfigError naming the missing key when it is incomplete."""
    path = project_dir / DESCRIPTOR
    document = read_yaml(path, "domain descriptor (dmesh.yml)")
    missing = [key for key in ("domain", "owner") if not document.get(key)]
    if missing:
        raise ConfigError(f"{path} has no {' or '.join(missing)}; add `{missing[0]}:` to it")
    sla = document.get("sla") or {}
    return DomainDescriptor(
        domain=str(document["domain"]),
        owner=str(document["owner"]),
        description=str(document.get("description") or ""),
        tier=None if document.get("tier") is None else str(document["tier"]),
        availability=None if sla.get("availability") is None else str(sla["availability"]),
        freshness=dict(sla.get("freshness") or {}),
        registry=None if document.get("registry") is None else str(document["registry"]),
    )


def registry_url(project_dir: Path, explicit: str | None = None) -> str:
    """The registry to use: ``--registry``, else ``$DMESH_REGISTRY``, else ``registry:`` in dmesh.yml."""
    if explicit:
        return explicit
    from_env = os.environ.get(REGISTRY_ENV)
    if from_env:
        return from_env
    configured = configured_registry(project_dir)
    if configured is None:
        raise ConfigError(f"no registry: pass --registry URL, set {REGISTRY_ENV}, or add `registry:` to dmesh.yml")
    return configured


def configured_registry(project_dir: Path) -> str | None:
    """The registry named by ``registry:`` in dmesh.yml (a relative path is relative to the project), if any."""
    if not (project_dir / DESCRIPTOR).is_file():
        return None
    configured = load_descriptor(project_dir).registry
    if not configured:
        return None
    if "://" in configured or Path(configured).is_absolute():
        return configured
    return str((project_dir / configured).resolve())  # relative to the project, not to where we run


def profile_name(project_dir: Path) -> str:
    """The dbt profile the project uses (``profile:`` in dbt_project.yml)."""
    document = read_yaml(project_dir / "dbt_project.yml", "dbt project (dbt_project.yml)")
    if not document.get("profile"):
        raise ConfigError(f"{project_dir / 'dbt_project.yml'} has no `profile:`; add the profile's name")
    return str(document["profile"])


def project_version(project_dir: Path) -> str:
    """The dbt project's ``version``: the release a publish creates."""
    document = read_yaml(project_dir / "dbt_project.yml", "dbt project (dbt_project.yml)")
    version = document.get("version")
    if not version:
        raise ConfigError(f'{project_dir / "dbt_project.yml"} has no `version:`; add one (e.g. version: "1.0.0")')
    return str(version)


# -------------------------------------------------------------------------------------------------- the target


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ConfigError(f"profiles.yml needs the environment variable {name}; set it")
    return value


def render_profile(project_dir: Path) -> dict[str, Any]:
    """The project's profiles.yml with dbt's ``env_var`` rendered, as dbt would read it (no secrets kept)."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    environment.globals["env_var"] = _env_var
    for name in ("as_number", "as_text", "as_bool", "as_native"):
        environment.filters[name] = lambda value: value
    text = (
        (project_dir / "profiles.yml").read_text(encoding="utf-8") if (project_dir / "profiles.yml").is_file() else ""
    )
    if not text:
        raise ConfigError(f"no profiles.yml in {project_dir}; publish reads the target's connection from it")
    try:
        document = yaml.safe_load(environment.from_string(text).render())
    except (jinja2.TemplateError, yaml.YAMLError) as error:
        raise ConfigError(f"{project_dir / 'profiles.yml'} cannot be rendered ({error}); fix it") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{project_dir / 'profiles.yml'} is not a YAML mapping; fix it")
    return document


@dataclass(frozen=True)
class Target:
    name: str
    type: str
    settings: Mapping[str, Any]


def resolve_target(project_dir: Path, profile_name: str, explicit: str | None) -> Target:
    """The dbt target to publish (``--target`` or the profile's default) and its settings."""
    profile = render_profile(project_dir).get(profile_name)
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise ConfigError(f"profiles.yml in {project_dir} has no profile {profile_name!r} with outputs; fix it")
    name = explicit or str(profile.get("target") or "")
    outputs = profile["outputs"]
    if name not in outputs:
        raise ConfigError(f"profile {profile_name!r} has no target {name!r}; use one of: {', '.join(outputs)}")
    settings = outputs[name]
    return Target(name=name, type=str(settings.get("type")), settings=settings)


def server_for(target: Target, project_dir: Path, relation: Relation) -> Server:
    """The ODCS server block a consumer connects to for ``relation`` on ``target``."""
    settings = target.settings
    if target.type == "duckdb":
        path = Path(str(settings.get("path") or ":memory:"))
        database = str(path if path.is_absolute() else (project_dir / path).resolve())
        return Server(target.name, "duckdb", {"database": database, "schema": relation.schema})
    if target.type == "bigquery":
        return Server(target.name, "bigquery", {"project": relation.database or "", "dataset": relation.schema})
    if target.type == "postgres":
        details = {
            "host": str(settings.get("host")),
            "port": str(settings.get("port")),
            "database": relation.database or str(settings.get("dbname") or settings.get("database")),
            "schema": relation.schema,
        }
        return Server(target.name, "postgres", details)
    raise ConfigError(f"publishing from a {target.type} target is not supported; use duckdb, bigquery or postgres")


# --------------------------------------------------------------------------------------- the build must be green


_PASSING_TEST_STATUSES = frozenset({"pass", "warn"})


def build_problems(project: Project, results: RunResults) -> list[str]:
    """Why the last dbt run does not show every public model built and every one of its tests passing."""
    problems = []
    for model in project.public_models:
        result = results.result(model.unique_id)
        if result is None:
            problems.append(f"{model.display_name} was not built by the last dbt run")
        elif result.status != "success":
            problems.append(f"{model.display_name} {result.status} in the last dbt run")
        for test in model.tests:
            outcome = results.result(test.unique_id)
            if outcome is None or outcome.status not in _PASSING_TEST_STATUSES:
                status = "did not run" if outcome is None else outcome.status
                problems.append(f"test {test.unique_id.split('.')[2]} of {model.display_name} {status}")
    problems.extend(_failed_unit_tests(project, results))
    return problems


def _failed_unit_tests(project: Project, results: RunResults) -> list[str]:
    """Unit tests of public models that did not pass (their ids are ``unit_test.<project>.<model>.<name>``)."""
    public = {m.name for m in project.public_models}
    return [
        f"unit test {r.unique_id.split('.')[-1]} {r.status}"
        for r in results.results
        if r.unique_id.startswith("unit_test.") and r.unique_id.split(".")[2] in public and r.status != "pass"
    ]


def require_green_build(project: Project, results: RunResults) -> None:
    problems = build_problems(project, results)
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise PolicyViolation(f"not publishing: {shown}; run `dbt build` until it passes, then publish")


def require_current_build(project_dir: Path, results_path: Path) -> None:
    """The last build must be of the project as it is now: publishing an older build would contract stale code."""
    from dmesh_dbt.check import newest_source_mtime

    if newest_source_mtime(project_dir) > results_path.stat().st_mtime:
        raise PolicyViolation(
            "not publishing: the project's files changed after the last dbt build (the version bump too); "
            "run `dbt build` again, then publish"
        )


# ------------------------------------------------------------------------------------------------ the products


@dataclass(frozen=True)
class PublishedModel:
    """A public model as consumers see it: its published relation and post-masking columns."""

    model: Model
    relation: Relation
    columns: tuple[ContractColumn, ...]
    materialization: str


def _project_vars(project_dir: Path) -> Mapping[str, Any]:
    project_vars = read_yaml(project_dir / "dbt_project.yml", "dbt project (dbt_project.yml)").get("vars")
    return project_vars if isinstance(project_vars, dict) else {}


def _target_schema(target: Target) -> str:
    schema = target.settings.get("dataset") or target.settings.get("schema")
    return str(schema or ("main" if target.type == "duckdb" else "public"))


def _published_materialization(model: Model, project_vars: Mapping[str, Any]) -> str:
    """``view`` or ``table``, as ``dmesh.published_materialization`` decides it."""
    model_meta = model.meta.get("dmesh") or {}
    return str(
        model_meta.get("published_materialization") or project_vars.get("dmesh_published_materialization") or "view"
    )


def consumer_database(model: Model, target: Target, domain: str) -> str | None:
    """The database consumers name the relation in: a DuckDB file is attached under its domain's name
    (``dmesh-dbt consume`` does so), since every domain's file may well be called ``warehouse``."""
    return domain if target.type == "duckdb" else model.database


def published_model(model: Model, target: Target, project_vars: Mapping[str, Any], domain: str) -> PublishedModel:
    """``model`` as consumers see its published relation: masked columns typed as masking leaves them, and only
    the guarantees that survive masking (a keyed hash keeps keys unique; redaction and truncation do not)."""
    configured = project_vars.get("dmesh_published_schema")
    relation = Relation(
        database=consumer_database(model, target, domain),
        schema=masking.published_schema(_target_schema(target), str(configured) if configured else None),
        identifier=masking.published_identifier(model.name, model.version, model.alias),
    )
    columns = []
    for column in model.columns:
        how = masking.column_masking(model.display_name, column.name, column.meta)
        keeps_identity = not how.masked or how.strategy is Strategy.HASH
        columns.append(
            ContractColumn(
                name=column.name,
                physical_type=masking.published_data_type(how, column.data_type or "", target.type),
                description=column.description,
                required=column.is_not_null and how.strategy is not Strategy.NULL,
                unique=column.is_unique and keeps_identity,
                primary_key=column.constraints.primary_key and keeps_identity,
                pii=None if how.pii_class is None else how.pii_class.value,
                masking=None if not how.masked or how.strategy is None else how.strategy.value,
            )
        )
    return PublishedModel(model, relation, tuple(columns), _published_materialization(model, project_vars))


def published_models(project: Project, target: Target, project_dir: Path, domain: str) -> list[PublishedModel]:
    project_vars = _project_vars(project_dir)
    return [published_model(m, target, project_vars, domain) for m in project.public_models]


def product_contract(
    published: PublishedModel, descriptor: DomainDescriptor, release: str, server: Server
) -> ProductContract:
    model = published.model
    return ProductContract(
        domain=descriptor.domain,
        product=model.name,
        model_version=model.version,
        latest_version=model.latest_version,
        release=release,
        description=model.description,
        owner=descriptor.owner,
        team_description=descriptor.description,
        tier=descriptor.tier,
        relation=published.relation,
        materialization=published.materialization,
        server=server,
        columns=published.columns,
        freshness=descriptor.freshness,
        availability=descriptor.availability,
        deprecation_date=None if model.deprecation_date is None else model.deprecation_date.isoformat(),
    )


# ------------------------------------------------------------------------------------- the dbt-loom manifest

#: Keys of a model node worth publishing; the rest (compiled SQL, paths on the build machine, timestamps)
#: is either internal or changes on every parse, which would defeat idempotent publishing.
_MODEL_KEYS = (
    "name",
    "resource_type",
    "package_name",
    "path",
    "original_file_path",
    "patch_path",
    "unique_id",
    "fqn",
    "description",
    "meta",
    "tags",
    "docs",
    "version",
    "latest_version",
    "deprecation_date",
    "access",
    "group",
    "contract",
    "constraints",
    "checksum",
)
_CONFIG_KEYS = ("enabled", "materialized", "access", "group", "contract", "meta", "tags", "docs")
_TEST_KEYS = (
    "name",
    "resource_type",
    "package_name",
    "path",
    "original_file_path",
    "unique_id",
    "fqn",
    "attached_node",
    "column_name",
    "test_metadata",
    "file_key_name",
)


def _published_model_node(node: Mapping[str, Any], published: PublishedModel, adapter: str) -> dict[str, Any]:
    published_node = {key: node[key] for key in _MODEL_KEYS if key in node}
    relation = published.relation
    published_node.update(
        database=relation.database,
        schema=relation.schema,
        alias=relation.identifier,
        relation_name=_relation_name(node, relation),
        config={key: node["config"][key] for key in _CONFIG_KEYS if key in (node.get("config") or {})},
        depends_on={"nodes": [], "macros": []},  # the domain's internals are not the consumer's business
        columns={c.name: _published_column_node(node, c, adapter) for c in published.columns},
    )
    return published_node


def _published_column_node(node: Mapping[str, Any], column: ContractColumn, adapter: str) -> dict[str, Any]:
    key = masking.column_key(column.name, adapter)
    raw: Mapping[str, Any] = next(
        (c for name, c in (node.get("columns") or {}).items() if masking.yaml_column_key(name, adapter, c) == key), {}
    )
    return {
        "name": column.name,
        "description": column.description,
        "data_type": column.physical_type,
        "meta": raw.get("meta") or {},
        "constraints": raw.get("constraints") or [],
        "tags": raw.get("tags") or [],
    }


def _relation_name(node: Mapping[str, Any], relation: Relation) -> str:
    """The published relation quoted the way dbt quoted the raw one (backticks on BigQuery, quotes elsewhere)."""
    quote = "`" if "`" in str(node.get("relation_name") or "") else '"'
    return ".".join(
        f"{quote}{part}{quote}" for part in (relation.database, relation.schema, relation.identifier) if part
    )


def _test_survives_masking(test: DataTest, published: PublishedModel) -> bool:
    if test.column_name is None:
        return True
    column = next((c for c in published.columns if c.name.lower() == test.column_name.lower()), None)
    if column is None:
        return False
    if test.name == "unique":
        return column.unique
    if test.name == "not_null":
        return column.required
    return column.pii is None  # value tests on a masked column no longer describe the published values


def published_manifest(document: Mapping[str, Any], published: list[PublishedModel]) -> dict[str, Any]:
    """A manifest v12 that dbt-loom (and ``dmesh-dbt check``) can read: the public nodes at their published
    relations, the tests that still hold after masking, and the domain's groups; nothing private."""
    by_id = {p.model.unique_id: p for p in published}
    adapter = str(document["metadata"].get("adapter_type"))
    nodes: dict[str, Any] = {}
    for unique_id, node in document["nodes"].items():
        if unique_id in by_id:
            nodes[unique_id] = _published_model_node(node, by_id[unique_id], adapter)
    for test in (t for p in published for t in p.model.tests):
        node = document["nodes"].get(test.unique_id)
        attached = by_id.get(test.attached_node or "")
        if node is not None and attached is not None and _test_survives_masking(test, attached):
            kept = {key: node[key] for key in _TEST_KEYS if key in node}
            config = node.get("config") or {}
            kept["config"] = {"enabled": True, "severity": config.get("severity", "ERROR")}
            kept["depends_on"] = {"nodes": [attached.model.unique_id], "macros": []}
            nodes[test.unique_id] = kept
    metadata = document["metadata"]
    return {
        "metadata": {
            key: metadata[key]
            for key in ("dbt_schema_version", "dbt_version", "project_name", "adapter_type")
            if key in metadata
        },
        "nodes": nodes,
        "sources": {},
        "macros": {},
        "docs": {},
        "exposures": {},
        "metrics": {},
        "groups": document.get("groups") or {},
        "selectors": {},
        "disabled": {},
        "parent_map": {uid: [] for uid in nodes},
        "child_map": {uid: [] for uid in nodes},
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
    }


# ---------------------------------------------------------------------------------------------------- publish


@dataclass(frozen=True)
class PublishResult:
    outcome: PublishOutcome
    release: Release
    registry: str
    contracts: tuple[ProductContract, ...]


def release_files(contracts: list[ProductContract], manifest: Mapping[str, Any]) -> dict[str, bytes]:
    files = {c.file_name: render_contract(c).encode() for c in contracts}
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def product_entries(contracts: list[ProductContract]) -> tuple[ProductEntry, ...]:
    return tuple(ProductEntry(c.product, c.model_version, c.latest_version, c.file_name) for c in contracts)


def require_passing_check(project_dir: Path, url: str) -> None:
    """``dmesh-dbt check`` against the domain's last published release (and its consumers) must pass."""
    from dmesh_dbt.check import baseline_from_registry, run_check

    # parse=False: the build just proven current wrote the manifest check reads.
    report = run_check(project_dir, baseline_from_registry(url, project_dir), parse=False)
    failures = report.failures
    if failures:
        first = failures[0]
        impacts = "".join(f" (hits {impact})" for impact in first.impacts)
        raise PolicyViolation(
            f"not publishing: dmesh-dbt check finds {len(failures)} violation(s), first {first.rule_id} "
            f"{first.message}{impacts}; see `dmesh-dbt check --registry {url}`"
        )


def publish(project_dir: Path, registry: str | None = None, target: str | None = None) -> PublishResult:
    """Publish the project's public models as release ``version`` of its domain.

    Refuses (PolicyViolation) unless the last ``dbt build`` built every public model and passed its tests and
    ``dmesh-dbt check`` passes; then writes the contracts, the dbt-loom manifest and the index entry at once.
    """
    project_dir = project_dir.resolve()
    descriptor = load_descriptor(project_dir)
    manifest_path = project_dir / "target" / "manifest.json"
    project = load_manifest(manifest_path)
    if not project.public_models:
        raise ConfigError(f"{descriptor.domain} has no public models to publish; mark a model `access: public`")
    results_path = project_dir / "target" / "run_results.json"
    require_green_build(project, load_run_results(results_path))
    require_current_build(project_dir, results_path)
    url = registry_url(project_dir, registry)
    require_passing_check(project_dir, url)
    store = Registry.open(url)
    resolved = resolve_target(project_dir, profile_name(project_dir), target)
    published = published_models(project, resolved, project_dir, descriptor.domain)
    version = project_version(project_dir)
    contracts = [
        product_contract(p, descriptor, version, server_for(resolved, project_dir, p.relation)) for p in published
    ]
    manifest = published_manifest(json.loads(manifest_path.read_bytes()), published)
    outcome, release = store.publish(
        descriptor.domain, version, descriptor.owner, product_entries(contracts), release_files(contracts, manifest)
    )
    return PublishResult(outcome, release, store.url, tuple(contracts))

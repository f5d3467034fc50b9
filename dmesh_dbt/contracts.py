"""ODCS v3 data contracts: a public model as the product consumers see (``published_model``,
``product_contract``), exported to an Open Data Contract Standard document, and back (``parse_contract``,
``project_from_contract``).

A contract describes what a consumer may rely on: the *published* relation (masked) and its post-masking
physical types, never the raw model. Documents are validated twice: against the JSON schema that the
``open-data-contract-standard`` package ships, and by its pydantic model (which also parses them back).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

import yaml
from open_data_contract_standard.model import OpenDataContractStandard
from pydantic import ValidationError

from dmesh_dbt import masking
from dmesh_dbt.artifacts import Access, Column, ColumnConstraints, Model, Project
from dmesh_dbt.errors import ConfigError, RegistryError, UsageError
from dmesh_dbt.files import load_yaml_text
from dmesh_dbt.identifiers import NameKind, valid_name
from dmesh_dbt.pii import Strategy
from dmesh_dbt.project import DomainDescriptor, Target
from dmesh_dbt.registry import ProductEntry, Registry, Release

#: The ODCS version our contracts declare.
ODCS_API_VERSION = "v3.1.0"

#: dbt materializations as ODCS physical types of a schema object.
_OBJECT_TYPES = {"view": "view", "table": "table", "incremental": "table", "materialized_view": "view"}

#: Physical type prefixes to ODCS logical types; the first match wins, so longer names come first.
_LOGICAL_TYPES: tuple[tuple[str, str], ...] = (
    ("timestamp", "timestamp"),
    ("datetime", "timestamp"),
    ("date", "date"),
    ("time", "time"),
    ("interval", "string"),
    ("bool", "boolean"),
    ("tinyint", "integer"),
    ("smallint", "integer"),
    ("bigint", "integer"),
    ("hugeint", "integer"),
    ("int", "integer"),
    ("decimal", "number"),
    ("numeric", "number"),
    ("bignumeric", "number"),
    ("double", "number"),
    ("float", "number"),
    ("real", "number"),
    ("varchar", "string"),
    ("char", "string"),
    ("text", "string"),
    ("string", "string"),
    ("uuid", "string"),
    ("json", "object"),
    ("struct", "object"),
    ("record", "object"),
    ("map", "map"),
    ("array", "array"),
    ("list", "array"),
)


def logical_type(physical_type: str) -> str | None:
    """The ODCS logical type of a warehouse type (``BIGINT`` -> integer, ``varchar(20)`` -> string)."""
    lowered = physical_type.strip().lower()
    if lowered.endswith("[]"):
        return "array"
    return next((logical for prefix, logical in _LOGICAL_TYPES if lowered.startswith(prefix)), None)


@dataclass(frozen=True)
class Relation:
    """Where a published product lives in its warehouse."""

    database: str | None
    schema: str
    identifier: str

    def __str__(self) -> str:
        return ".".join(p for p in (self.database, self.schema, self.identifier) if p)


@dataclass(frozen=True)
class Server:
    """The warehouse a product is read from: ``type`` is the dbt adapter, ``details`` ODCS server fields."""

    name: str  # the dbt target, e.g. dev or prod
    type: str  # duckdb, bigquery, postgres
    details: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ContractColumn:
    """A column as published: its post-masking type and the guarantees that survive masking."""

    name: str
    physical_type: str
    description: str
    required: bool = False
    unique: bool = False
    primary_key: bool = False
    pii: str | None = None  # the PII class of the raw column; the published value is masked by ``masking``
    masking: str | None = None


@dataclass(frozen=True)
class ProductContract:
    """One published product (a public model version) of a domain release: what its ODCS contract says."""

    domain: str
    product: str
    model_version: str | None
    latest_version: str | None
    release: str
    description: str
    owner: str
    team_description: str
    tier: str | None
    relation: Relation
    materialization: str
    server: Server
    columns: tuple[ContractColumn, ...]
    freshness: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    availability: str | None = None
    deprecation_date: str | None = None

    @property
    def product_id(self) -> str:
        """``domain.product`` or ``domain.product.vN``: the contract id."""
        suffix = f".v{self.model_version}" if self.model_version is not None else ""
        return f"{self.domain}.{self.product}{suffix}"

    @property
    def ref(self) -> str:
        """``domain.product[@version]``, as ``dmesh-dbt consume`` takes it."""
        suffix = f"@{self.model_version}" if self.model_version is not None else ""
        return f"{self.domain}.{self.product}{suffix}"

    @property
    def file_name(self) -> str:
        """The contract's file name within a release."""
        return f"{self.product_id.split('.', 1)[1]}.odcs.yaml"

    def column(self, name: str) -> ContractColumn | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


# ----------------------------------------------------------------------------------------------------- export


def _custom(properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"property": key, "value": value} for key, value in properties.items() if value not in (None, {}, "")]


def _property_document(column: ContractColumn, key_position: int | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": column.name,
        "physicalName": column.name,
        "physicalType": column.physical_type,
        "description": column.description,
        "required": column.required,
        "unique": column.unique,
        "primaryKey": column.primary_key,
        "classification": "restricted" if column.pii else "internal",
    }
    logical = logical_type(column.physical_type)
    if logical is not None:
        document["logicalType"] = logical
    if key_position is not None:
        document["primaryKeyPosition"] = key_position
    if column.pii:
        document["tags"] = [f"pii:{column.pii}"]
    custom = _custom({"pii": column.pii, "masking": column.masking})
    if custom:
        document["customProperties"] = custom
    return document


def _server_document(server: Server) -> dict[str, Any]:
    return {"server": server.name, "type": server.type, "environment": server.name, **server.details}


def _sla_documents(contract: ProductContract) -> list[dict[str, Any]]:
    slas: list[dict[str, Any]] = []
    if contract.availability:
        slas.append({"property": "availability", "value": contract.availability})
    error_after = contract.freshness.get("error_after") or contract.freshness.get("warn_after")
    if isinstance(error_after, Mapping) and "count" in error_after:
        unit = {"minute": "m", "hour": "h", "day": "d"}.get(str(error_after.get("period")), "h")
        slas.append({"property": "latency", "value": error_after["count"], "unit": unit})
    return slas


def contract_document(contract: ProductContract) -> dict[str, Any]:
    """The ODCS v3 document for ``contract`` (deterministic: no timestamps, so republishing is idempotent)."""
    key_columns = [c for c in contract.columns if c.primary_key]
    schema_object: dict[str, Any] = {
        "name": contract.product,
        "physicalName": contract.relation.identifier,
        "physicalType": _OBJECT_TYPES.get(contract.materialization, "table"),
        "logicalType": "object",
        "description": contract.description,
        "properties": [
            _property_document(c, key_columns.index(c) + 1 if c in key_columns else None) for c in contract.columns
        ],
    }
    document: dict[str, Any] = {
        "apiVersion": ODCS_API_VERSION,
        "kind": "DataContract",
        "id": contract.product_id,
        "name": contract.product_id,
        "version": contract.release,
        "status": "deprecated" if contract.deprecation_date else "active",
        "domain": contract.domain,
        "dataProduct": contract.product,
        "description": {
            "purpose": contract.description,
            "usage": f"Read {contract.relation} (masked); consume with `dmesh-dbt consume {contract.ref}`.",
        },
        "team": {
            "name": contract.domain,
            "description": contract.team_description,
            "members": [{"username": contract.owner, "role": "owner"}],
        },
        "servers": [_server_document(contract.server)],
        "schema": [schema_object],
        "slaProperties": _sla_documents(contract),
        "customProperties": _custom(
            {
                "modelVersion": contract.model_version,
                "latestVersion": contract.latest_version,
                "tier": contract.tier,
                "relation": {
                    "database": contract.relation.database,
                    "schema": contract.relation.schema,
                    "identifier": contract.relation.identifier,
                },
                "dbtFreshness": dict(contract.freshness),
                "deprecationDate": contract.deprecation_date,
            }
        ),
    }
    if not document["slaProperties"]:
        del document["slaProperties"]
    return document


def render_contract(contract: ProductContract) -> str:
    """The contract as validated ODCS YAML."""
    document = contract_document(contract)
    validate_document(document)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


# ------------------------------------------------------------------------------------------------- validation


@cache
def _odcs_validator() -> Any:
    """The ODCS JSON schema, compiled by jsonschema-rs: a hundred times faster than ``jsonschema`` on our
    contracts, which matters when the catalog validates every contract of the mesh."""
    import jsonschema_rs

    schema = json.loads(files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema)


def validation_errors(document: Mapping[str, Any]) -> list[str]:
    """Every way ``document`` breaks the ODCS JSON schema or its pydantic model, as readable lines."""
    problems = [
        f"{'/'.join(str(p) for p in error.instance_path) or '(root)'}: {error.message}"
        for error in sorted(_odcs_validator().iter_errors(document), key=lambda e: [str(p) for p in e.instance_path])
    ]
    try:
        OpenDataContractStandard.model_validate(document)
    except ValidationError as error:
        problems.extend(f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
    return problems


def validate_document(document: Mapping[str, Any]) -> None:
    """Raise RegistryError naming the first problems if ``document`` is not a valid ODCS contract."""
    problems = validation_errors(document)
    if problems:
        name = document.get("id", "contract")
        raise RegistryError(f"{name} is not a valid ODCS v3 contract: {'; '.join(problems[:3])}")


# ----------------------------------------------------------------------------------------------------- import


def _custom_values(items: list[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {str(item["property"]): item.get("value") for item in items or () if "property" in item}


def _column_from(prop: Mapping[str, Any]) -> ContractColumn:
    custom = _custom_values(prop.get("customProperties"))
    return ContractColumn(
        name=str(prop["name"]),
        physical_type=str(prop.get("physicalType") or ""),
        description=str(prop.get("description") or ""),
        required=bool(prop.get("required")),
        unique=bool(prop.get("unique")),
        primary_key=bool(prop.get("primaryKey")),
        pii=custom.get("pii"),
        masking=custom.get("masking"),
    )


_SERVER_KEYS = ("server", "type", "environment")


def parse_contract(text: str | bytes) -> ProductContract:
    """A published ODCS contract read back into a ProductContract; RegistryError if it is not one of ours."""
    document = load_yaml_text(text, "a contract in the registry", RegistryError)
    if not isinstance(document, dict):
        raise RegistryError("a contract in the registry is not an ODCS document; republish it")
    validate_document(document)
    try:
        return _contract_from(document)
    except (KeyError, IndexError, TypeError) as error:
        raise RegistryError(
            f"contract {document.get('id')} lacks what dmesh-dbt needs ({error}); publish it with dmesh-dbt"
        ) from None


def read_contract(store: Registry, release: Release, entry: ProductEntry) -> ProductContract:
    """``entry``'s contract from ``store``: verified by digest, valid ODCS, describing that product of that
    release, and with names (relation, columns) that follow the rules user input does; RegistryError naming the
    corrupt entry otherwise."""

    def parse(data: bytes) -> ProductContract:
        contract = parse_contract(data)
        expected = (release.domain, entry.name, release.version, entry.version)
        found = (contract.domain, contract.product, contract.release, contract.model_version)
        if found != expected:
            raise RegistryError(f"the contract describes {found}, but is stored as {expected}")
        relation = contract.relation
        for part in (relation.database, relation.schema, relation.identifier):
            if part is not None:
                valid_name(NameKind.RELATION_PART, part)
        for column in contract.columns:
            valid_name(NameKind.COLUMN, column.name)
        return contract

    return store.read_parsed(release, entry.contract, parse)


def _contract_from(document: Mapping[str, Any]) -> ProductContract:
    custom = _custom_values(document.get("customProperties"))
    schema_object = document["schema"][0]
    server = document["servers"][0]
    relation = custom["relation"]
    slas = {s["property"]: s.get("value") for s in document.get("slaProperties") or ()}
    team = document.get("team") or {}
    owners = [m.get("username", "") for m in team.get("members") or () if m.get("role") == "owner"]
    return ProductContract(
        domain=str(document["domain"]),
        product=str(document["dataProduct"]),
        model_version=custom.get("modelVersion"),
        latest_version=custom.get("latestVersion"),
        release=str(document["version"]),
        description=str(schema_object.get("description") or ""),
        owner=owners[0] if owners else "",
        team_description=str(team.get("description") or ""),
        tier=custom.get("tier"),
        relation=Relation(relation.get("database"), str(relation["schema"]), str(relation["identifier"])),
        materialization=str(schema_object.get("physicalType") or "table"),
        server=Server(
            name=str(server.get("server") or ""),
            type=str(server["type"]),
            details=MappingProxyType({k: str(v) for k, v in server.items() if k not in _SERVER_KEYS}),
        ),
        columns=tuple(_column_from(p) for p in schema_object.get("properties") or ()),
        freshness=MappingProxyType(dict(custom.get("dbtFreshness") or {})),
        availability=None if slas.get("availability") is None else str(slas["availability"]),
        deprecation_date=custom.get("deprecationDate"),
    )


_PRODUCT_REF = re.compile(r"(?P<domain>[a-z][a-z0-9_]*)\.(?P<product>[A-Za-z0-9_]+)(@v?(?P<version>[A-Za-z0-9_.]+))?")


@dataclass(frozen=True)
class ProductRef:
    """``DOMAIN.PRODUCT[@VERSION]`` as users type it."""

    domain: str
    product: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.domain}.{self.product}" + (f"@{self.version}" if self.version else "")


def parse_product_ref(text: str) -> ProductRef:
    """``payments.customers@2`` -> ProductRef; UsageError otherwise."""
    match = _PRODUCT_REF.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"{text!r} is not DOMAIN.PRODUCT[@VERSION] (e.g. payments.customers or payments.customers@1)")
    return ProductRef(match["domain"], match["product"], match["version"])


# ------------------------------------------------------------------------------- a public model as published


@dataclass(frozen=True)
class PublishedModel:
    """A public model as consumers see it: its published relation and post-masking columns."""

    model: Model
    relation: Relation
    columns: tuple[ContractColumn, ...]
    materialization: str


def _target_schema(target: Target) -> str:
    schema = target.settings.get("dataset") or target.settings.get("schema")
    return str(schema or ("main" if target.type == "duckdb" else "public"))


def _published_materialization(model: Model, target: Target, project_vars: Mapping[str, Any]) -> str:
    """``view`` or ``table``, as ``dmesh.published_materialization`` decides it (always a table on DuckDB)."""
    model_meta = model.meta.get("dmesh") or {}
    requested = model_meta.get("published_materialization") or project_vars.get("dmesh_published_materialization")
    return masking.published_materialization(target.type, str(requested) if requested else None)


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
    return PublishedModel(model, relation, tuple(columns), _published_materialization(model, target, project_vars))


def published_models(
    project: Project, target: Target, project_vars: Mapping[str, Any], domain: str
) -> list[PublishedModel]:
    return [published_model(m, target, project_vars, domain) for m in project.public_models]


def server_for(target: Target, relation: Relation) -> Server:
    """The ODCS server block a consumer connects to for ``relation`` on ``target``."""
    settings = target.settings
    if target.type == "duckdb":
        # Not the producer's file, which no consumer may open: the release's snapshot catalog, which consume
        # attaches under the producer's domain (the relation's database).
        return Server(target.name, "duckdb", {"database": relation.database or "", "schema": relation.schema})
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


def product_contract(
    published: PublishedModel, descriptor: DomainDescriptor, release: str, server: Server
) -> ProductContract:
    """The contract of ``published`` in release ``release`` of the domain ``descriptor`` describes."""
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


# ------------------------------------------------------------------------------- a contract as a project


def project_from_contract(contract: ProductContract) -> Project:
    """A published contract as a one-model project, so contracts diff like manifests.

    Published columns carry what survives masking: the PII class, the strategy (none when a mask exception
    publishes the column unmasked), and the keys and nullability the contract promises.
    """
    columns = tuple(
        Column(
            name=c.name,
            data_type=c.physical_type or None,
            description=c.description,
            meta=_contract_column_meta(c),
            pii=c.pii,
            mask=c.masking,
            constraints=ColumnConstraints(not_null=c.required, unique=c.unique, primary_key=c.primary_key),
        )
        for c in contract.columns
    )
    version = f".v{contract.model_version}" if contract.model_version is not None else ""
    model = Model(
        unique_id=f"model.{contract.domain}.{contract.product}{version}",
        name=contract.product,
        package_name=contract.domain,
        version=contract.model_version,
        latest_version=contract.latest_version,
        access=Access.PUBLIC,
        group=None,
        contract_enforced=True,
        database=contract.relation.database,
        schema=contract.relation.schema,
        alias=contract.relation.identifier,
        relation_name=str(contract.relation),
        description=contract.description,
        deprecation_date=_contract_date(contract.deprecation_date),
        columns=columns,
        depends_on=(),
        original_file_path=contract.file_name,
        patch_path=None,
        meta=MappingProxyType({}),
        materialized=contract.materialization,
    )
    return Project(contract.domain, contract.server.type, "", None, (model,), (), (), (), ())


def _contract_column_meta(column: ContractColumn) -> Mapping[str, object]:
    meta: dict[str, object] = {}
    if column.pii:
        meta["pii"] = column.pii
        if column.masking:
            meta["mask"] = column.masking
        else:
            meta["mask_exception"] = {"reason": "published unmasked", "approver": "the published contract"}
    return MappingProxyType(meta)


def _contract_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

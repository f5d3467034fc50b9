"""``dmesh-dbt consume``: read another domain's data product from the registry into this dbt project.

It writes what dbt needs to read the product's *published* relation and nothing more: a sources YAML (columns,
types, descriptions, freshness from the ODCS contract); between DuckDB domains, the release's verified data
snapshot, a catalog of views over it and the ``attach`` entry for that catalog (never the producer's warehouse
file: see ``snapshots``); and optionally a dbt-loom config (``loom.write_loom_config``). It records the consumer
and the columns it reads in the registry, so the producer's ``dmesh-dbt check`` can name who a breaking change
would hit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from sqlglot import Tokenizer, TokenType
from sqlglot.errors import TokenError

from dmesh_dbt.contracts import ProductContract, ProductRef, read_contract
from dmesh_dbt.errors import UsageError
from dmesh_dbt.files import (
    dump_round_trip,
    inside_project,
    load_round_trip,
    loads_json,
    max_json_bytes,
    read_bounded,
    upsert,
)
from dmesh_dbt.inert import dbt_literal, dbt_literals
from dmesh_dbt.loom import write_loom_config
from dmesh_dbt.project import (
    CONSUMED_SOURCES,
    PROFILES_FILE,
    Target,
    find_profiles_dir,
    load_descriptor,
    manifest_path,
    registry_url,
    resolve_target,
)
from dmesh_dbt.registry import ConsumerRecord, CorruptEntry, ProductEntry, Registry, Release, now_utc, version_sort_key
from dmesh_dbt.snapshots import catalog_path, install_view, release_dir
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags

#: Where consumed sources are written, one file per producing domain.
SOURCES_DIR = CONSUMED_SOURCES

_GENERATED = "Written by `dmesh-dbt consume`; re-run it to refresh. Edits to entries it manages are replaced."


@dataclass(frozen=True)
class ConsumeResult:
    contract: ProductContract
    release: Release
    source_name: str
    table_name: str
    sources_file: Path
    attached: Path | None  # the snapshot catalog attached in profiles.yml (DuckDB to DuckDB), if any
    loom_config: Path | None
    record: ConsumerRecord

    @property
    def source_call(self) -> str:
        return f"{{{{ source('{self.source_name}', '{self.table_name}') }}}}"


# ------------------------------------------------------------------------------------------------ sources YAML


# Names in these entries were validated when the contract was read (contracts.read_contract); every text from
# the registry goes through dbt_literal, since dbt renders YAML strings as Jinja in the consumer's process.


def _table_entry(contract: ProductContract, name: str, registry: str) -> CommentedMap:
    columns = CommentedSeq()
    for column in contract.columns:
        entry = CommentedMap(
            name=column.name,
            data_type=dbt_literal(column.physical_type),
            description=dbt_literal(column.description),
        )
        if column.pii:
            entry["meta"] = CommentedMap(pii=dbt_literal(column.pii), masking=dbt_literal(column.masking or ""))
        columns.append(entry)
    table = CommentedMap(
        name=name, identifier=contract.relation.identifier, description=dbt_literal(contract.description)
    )
    table["meta"] = CommentedMap(
        dmesh=CommentedMap(
            product=contract.ref,
            contract=dbt_literal(contract.product_id),
            release=contract.release,
            registry=dbt_literal(registry),
        )
    )
    table["columns"] = columns
    return table


def _source_entry(contract: ProductContract) -> CommentedMap:
    source = CommentedMap(name=contract.domain)
    owner = dbt_literal(contract.owner)
    source["description"] = f"Data products published by the {contract.domain} domain (owner {owner})."
    if contract.relation.database:  # for a DuckDB file: the name consume attaches it under
        source["database"] = contract.relation.database
    source["schema"] = contract.relation.schema
    if contract.freshness:
        source["config"] = CommentedMap(freshness=dbt_literals(json.loads(json.dumps(dict(contract.freshness)))))
    source["meta"] = CommentedMap(dmesh=CommentedMap(domain=contract.domain, owner=owner))
    source["tables"] = CommentedSeq()
    return source


def write_source(project_dir: Path, contract: ProductContract, name: str, registry: str) -> Path:
    """Add or refresh the product's table in ``models/consumed/<domain>.yml``; other tables are kept."""
    path = inside_project(project_dir, SOURCES_DIR / f"{contract.domain}.yml")
    document = load_round_trip(path)
    if not isinstance(document, dict):
        document = CommentedMap(version=2)
        document.yaml_set_start_comment(_GENERATED)
    sources = document.setdefault("sources", CommentedSeq())
    fresh = _source_entry(contract)
    existing = next((s for s in sources if isinstance(s, dict) and s.get("name") == contract.domain), None)
    if existing is not None:
        fresh["tables"] = existing.get("tables") or CommentedSeq()
    upsert(sources, "name", contract.domain, fresh)
    upsert(fresh["tables"], "name", name, _table_entry(contract, name, registry))
    dump_round_trip(path, document)
    return path


# ---------------------------------------------------------------------------------------- DuckDB: the snapshot


def fetch_snapshot(
    project_dir: Path, target: Target, store: Registry, release: Release, entry: ProductEntry, contract: ProductContract
) -> Path | None:
    """Between DuckDB domains: the release's snapshot of the product, fetched into ``.dmesh/snapshots/`` and
    verified (a release already fetched is kept, so a consume that fails later has written nothing new)."""
    if contract.server.type != "duckdb" or target.type != "duckdb":
        return None
    return store.fetch_snapshot(release, entry, inside_project(project_dir, release_dir(Path(), release)))


def attach_snapshot(project_dir: Path, target: Target, contract: ProductContract, snapshot: Path) -> Path:
    """Point the product's view in the producer's catalog at ``snapshot`` (switching atomically from an older
    release), and attach the catalog, read only, under the producer's domain to the consumer's DuckDB target.
    Returns the catalog file."""
    relation = contract.relation
    catalog = inside_project(project_dir, catalog_path(Path(), contract.domain))
    install_view(catalog, relation.schema, relation.identifier, snapshot)
    profiles_path = _profiles_file(project_dir, target)
    document = load_round_trip(profiles_path)
    settings = document[target.profile]["outputs"][target.name]
    attach = settings.get("attach")
    if not isinstance(attach, list):
        attach = CommentedSeq()
        settings["attach"] = attach
    # dbt renders profiles.yml with Jinja too: the path holds the project's directory, whatever it is named.
    attached = CommentedMap(path=dbt_literal(str(catalog)), alias=contract.domain, read_only=True)
    # Replaces, by alias, what an older consume attached under the domain (the producer's file, before snapshots).
    upsert(attach, "alias", contract.domain, attached)
    dump_round_trip(profiles_path, document)
    return catalog


def _profiles_file(project_dir: Path, target: Target) -> Path:
    """The profiles.yml dbt reads for ``target``: the project's (never through a link out of it), or the one
    --profiles-dir, $DBT_PROFILES_DIR or ~/.dbt names, which the user chose as theirs."""
    directory = find_profiles_dir(project_dir, target.flags.profiles_dir)
    if directory == project_dir.resolve():
        return inside_project(project_dir, Path(PROFILES_FILE))
    return directory / PROFILES_FILE


# ------------------------------------------------------------------------------------------------ columns used


_STAR_SELECTORS = frozenset({TokenType.SELECT, TokenType.COMMA, TokenType.DOT, TokenType.DISTINCT})


@lru_cache(maxsize=4096)  # a model that reads several consumed tables is tokenized once
def _sql_identifiers(sql: str) -> tuple[frozenset[str], bool]:
    """Lowercased identifiers in ``sql``, and whether it has a ``*`` (then it may read every column)."""
    try:
        tokens = Tokenizer().tokenize(sql)
    except TokenError:
        return frozenset(), True
    names = frozenset(t.text.lower() for t in tokens if t.token_type in (TokenType.VAR, TokenType.IDENTIFIER))
    # A star that follows SELECT, a comma or a dot selects columns; in count(*) or a * b it does not.
    selects_star = any(
        token.token_type is TokenType.STAR and previous.token_type in _STAR_SELECTORS
        for previous, token in zip(tokens, tokens[1:], strict=False)
    )
    return names, selects_star


def columns_read(project_dir: Path, source_name: str, table: str, candidates: Iterable[str]) -> tuple[str, ...] | None:
    """Which of ``candidates`` the consumer's models read from the source table, from its last compiled manifest.

    None when that cannot be known: before a model on the source has been compiled, or when one selects ``*``.
    """
    return _columns_read_by(_manifest_nodes(project_dir), source_name, table, candidates)


def _columns_read_by(
    nodes: list[dict[str, Any]] | None, source_name: str, table: str, candidates: Iterable[str]
) -> tuple[str, ...] | None:
    if nodes is None:
        return None
    suffix = f".{source_name}.{table}"
    readers = [
        n
        for n in nodes
        if any(d.startswith("source.") and d.endswith(suffix) for d in (n.get("depends_on") or {}).get("nodes", []))
    ]
    if not readers:
        return None
    used: set[str] = set()
    for node in readers:
        names, star = _sql_identifiers(node.get("compiled_code") or node.get("raw_code") or "")
        if star:
            return None
        used |= names
    return tuple(dict.fromkeys(c for c in candidates if c.lower() in used))


def _manifest_nodes(project_dir: Path) -> list[dict[str, Any]] | None:
    """The nodes of the last compiled manifest, or None when there is none or it cannot be read (then no column is
    known unread, so every column counts)."""
    manifest = manifest_path(project_dir)
    if not manifest.is_file():
        return None
    try:
        document = loads_json(read_bounded(manifest, max_json_bytes()))
    except (OSError, ValueError):  # InputTooLarge and orjson's JSONDecodeError are ValueErrors
        return None
    nodes = document.get("nodes") if isinstance(document, dict) else None
    return [n for n in nodes.values() if isinstance(n, dict)] if isinstance(nodes, dict) else []


def _previous_columns(project_dir: Path, domain: str, table: str) -> list[str]:
    """The columns the sources YAML gave ``table`` before this consume, if it had it."""
    consumed = consumed_tables(project_dir)
    return next((list(t.columns) for t in consumed if (t.domain, t.product) == (domain, table)), [])


def _version_with(store: Registry, release: Release, product: str, columns: Sequence[str]) -> str | None:
    """The newest model version of ``product`` in ``release`` whose contract has every one of ``columns``."""
    for entry in sorted(release.products, key=lambda p: version_sort_key(p.version or ""), reverse=True):
        if entry.name == product and entry.version is not None:
            contract = read_contract(store, release, entry)
            if all(contract.column(c) is not None for c in columns):
                return entry.version
    return None


def refuse_dropping_read_columns(
    store: Registry, release: Release, contract: ProductContract, read: tuple[str, ...] | None
) -> None:
    """A consume must not point a source at a version that lacks columns the consumer's models read."""
    missing = [c for c in read or () if contract.column(c) is None]
    if not missing:
        return
    keep = _version_with(store, release, contract.product, missing)
    fix = (
        f"pin the version you read: dmesh-dbt consume {contract.domain}.{contract.product}@{keep}"
        if keep
        else ("change those models first")
    )
    raise UsageError(
        f"{contract.ref} (release {release.version}) has no {', '.join(missing)}, which this project's models "
        f"read from source('{contract.domain}', '{contract.product}'); {fix}"
    )


# ---------------------------------------------------------------------------------------------------- consume


def consume(
    project_dir: Path,
    ref: ProductRef,
    registry: str | None = None,
    target: str | None = None,
    dbt_loom: bool = False,
    flags: DbtFlags = DBT_DEFAULTS,
) -> ConsumeResult:
    """Make ``ref`` readable in the consumer project at ``project_dir`` and record the consumer; ``flags`` say
    where dbt reads profiles.yml (the attached snapshot goes into that file) and its ``--vars``."""
    consumer = load_descriptor(project_dir)
    if ref.domain == consumer.domain:
        raise UsageError(f"{ref} belongs to this domain ({consumer.domain}); ref() your own models instead")
    resolved = resolve_target(project_dir, target, flags)  # every input is read before anything is written
    store = Registry.open(registry_url(project_dir, registry))
    release, entry = store.find_product(ref.domain, ref.product, ref.version)
    contract = read_contract(store, release, entry)
    name = contract.product  # one table per product: @VERSION changes what it reads, not its name
    candidates = [*_previous_columns(project_dir, contract.domain, name), *(c.name for c in contract.columns)]
    read = columns_read(project_dir, contract.domain, name, candidates)
    refuse_dropping_read_columns(store, release, contract, read)
    # The data first: a snapshot that fails verification leaves the consumer's files as they were.
    snapshot = fetch_snapshot(project_dir, resolved, store, release, entry, contract)
    sources_file = write_source(project_dir, contract, name, store.url)
    attached = None if snapshot is None else attach_snapshot(project_dir, resolved, contract, snapshot)
    loom = write_loom_config(project_dir, store, release) if dbt_loom else None
    record = ConsumerRecord(
        consumer=consumer.domain,
        domain=contract.domain,
        product=contract.product,
        version=contract.model_version,  # what the source reads now, even when the consumer asked for "latest"
        # Unknown (nothing compiled yet, or select *): every column counts, so producers err towards naming us.
        columns=tuple(c.name for c in contract.columns) if read is None else read,
        recorded_at=now_utc(),
    )
    store.record_consumer(record)
    return ConsumeResult(contract, release, contract.domain, name, sources_file, attached, loom, record)


@dataclass(frozen=True)
class ProductDescription:
    """What ``dmesh-dbt registry show`` tells about a product: its latest contract, release and consumers."""

    contract: ProductContract
    release: Release
    versions: tuple[str, ...]  # the model versions the latest release publishes
    consumers: tuple[ConsumerRecord, ...]
    corrupt_consumers: tuple[CorruptEntry, ...] = ()  # records that failed verification, left out

    def to_json(self) -> dict[str, Any]:
        contract = self.contract
        return {
            "product": contract.ref,
            "contract_id": contract.product_id,
            "release": self.release.version,
            "published_at": self.release.published_at,
            "owner": contract.owner,
            "description": contract.description,
            "relation": str(contract.relation),
            "server": {"name": contract.server.name, "type": contract.server.type, **contract.server.details},
            "versions": list(self.versions),
            "freshness": dict(contract.freshness),
            "columns": [
                {
                    "name": c.name,
                    "type": c.physical_type,
                    "required": c.required,
                    "unique": c.unique,
                    "primary_key": c.primary_key,
                    "pii": c.pii,
                    "masking": c.masking,
                    "description": c.description,
                }
                for c in contract.columns
            ],
            "consumers": [r.to_json() for r in self.consumers],
        }


def describe_product(store: Registry, ref: ProductRef) -> ProductDescription:
    """The latest published contract of ``ref`` with the release it is in and who consumes the product."""
    release, entry = store.find_product(ref.domain, ref.product, ref.version)
    contract = read_contract(store, release, entry)
    versions = tuple(p.version for p in release.products if p.name == ref.product and p.version is not None)
    consumers, corrupt = store.consumer_scan(ref.domain, ref.product)
    return ProductDescription(contract, release, versions, tuple(consumers), tuple(corrupt))


# ------------------------------------------------------------------------------------------- reads, on each build


@dataclass(frozen=True)
class ConsumedTable:
    """A product this project reads: a table ``consume`` wrote into ``models/consumed/<domain>.yml``."""

    domain: str
    product: str
    registry: str
    columns: tuple[str, ...]  # the columns its contract gives it


def consumed_tables(project_dir: Path) -> list[ConsumedTable]:
    """Every table ``consume`` wrote into this project's ``models/consumed/`` (others there are not ours)."""
    tables = []
    for path in sorted((project_dir / SOURCES_DIR).glob("*.yml")):
        document = load_round_trip(path) or {}
        for source in document.get("sources") or ():
            for entry in source.get("tables") or ():
                meta = (entry.get("meta") or {}).get("dmesh") or {}
                if not meta.get("registry"):
                    continue
                columns = tuple(str(c.get("name")) for c in entry.get("columns") or () if c.get("name"))
                tables.append(ConsumedTable(str(source.get("name")), str(entry.get("name")), meta["registry"], columns))
    return tables


def record_reads(project_dir: Path) -> list[ConsumerRecord]:
    """Record again the columns this project's models read from each product it consumes, from its last compiled
    manifest, where they differ from what the registry has: so a build followed by ``check`` keeps the producer's
    view of its consumers true without running ``consume`` again. Returns the records it changed."""
    tables = consumed_tables(project_dir)
    if not tables:  # nothing consumed (a project without dmesh.yml among them): nothing to record
        return []
    consumer = load_descriptor(project_dir).domain
    stores: dict[str, Registry] = {}
    changed = []
    nodes = _manifest_nodes(project_dir)  # once: a manifest of thousands of models outweighs all the rest
    for table in tables:
        read = _columns_read_by(nodes, table.domain, table.product, table.columns)
        if read is None:  # nothing compiled reads it, or a model selects *: the recorded columns stand
            continue
        if table.registry not in stores:
            stores[table.registry] = Registry.open(table.registry)
        store = stores[table.registry]
        mine = [r for r in store.consumers(table.domain, table.product) if r.consumer == consumer]
        for record in mine:
            if record.columns != read:
                refreshed = replace(record, columns=read, recorded_at=now_utc())
                store.record_consumer(refreshed)
                changed.append(refreshed)
    return changed

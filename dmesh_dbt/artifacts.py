"""Reading dbt's artifacts (manifest.json v12, run_results.json v6) into a small, typed, immutable model.

Only the JSON is read, never dbt's Python internals, so the model keeps working on artifacts written by dbt
Fusion (which shares manifest v12). Everything downstream (policy, changes, scan, publish) works on these
records, not on the raw dict.

The records are frozen ``msgspec.Struct`` classes, as are those of the report, the policy engine and the rest of
what every ``check`` loads: Python 3.11 defines a frozen dataclass by compiling six generated methods (about
1 ms a class here: 46 ms of a check's start-up for its 46 classes) where a Struct class is made in C (0.05 ms),
and a Struct's ``__init__`` is C too (0.3 µs against 1.6 µs). ``msgspec.structs.replace`` copies fields only, so a
``cached_property`` (kept in the instance's ``__dict__``: ``dict=True``) is worked out afresh on the copy.
"""

from __future__ import annotations

import gc
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import orjson
from msgspec import UNSET, UnsetType

from dmesh_dbt.errors import ArtifactError
from dmesh_dbt.files import MAX_JSON_MB_ENV, InputTooLarge, max_json_bytes, read_bounded
from dmesh_dbt.masking import column_key, warehouse_column_name, yaml_column_key

#: Manifest schema versions this module reads. v12 is written by dbt-core 1.8 to 1.11 and by dbt Fusion.
SUPPORTED_MANIFEST_VERSIONS = ("v12",)
#: run_results.json schema versions this module reads (dbt-core 1.8+).
SUPPORTED_RUN_RESULTS_VERSIONS = ("v6",)
#: catalog.json (``dbt docs generate``) schema versions this module reads.
SUPPORTED_CATALOG_VERSIONS = ("v1",)

_SCHEMA_VERSION = re.compile(r"/(v\d+)\.json$")


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


class Access(StrEnum):
    """dbt model access, ordered from widest to narrowest by ``ACCESS_WIDTH``."""

    PUBLIC = "public"
    PROTECTED = "protected"
    PRIVATE = "private"


#: A larger number is wider access; narrowing is a breaking change for consumers.
ACCESS_WIDTH: dict[Access, int] = {Access.PRIVATE: 0, Access.PROTECTED: 1, Access.PUBLIC: 2}


class DataTest(msgspec.Struct, frozen=True):
    """A dbt data test node, as attached to a model (and maybe one column) by dbt."""

    unique_id: str
    name: str  # the generic test's name: unique, not_null, accepted_values, ... ("" for singular tests)
    namespace: str | None  # e.g. "dbt_utils" for dbt_utils.unique_combination_of_columns
    attached_node: str | None
    column_name: str | None
    kwargs: Mapping[str, Any] = msgspec.field(default_factory=_empty_mapping)
    severity: str = "ERROR"

    @property
    def qualified_name(self) -> str:
        """``namespace.name`` for package tests, ``name`` for dbt's own."""
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


class ColumnConstraints(msgspec.Struct, frozen=True):
    """The key constraints on one column, from column-level and model-level ``constraints``."""

    not_null: bool = False
    unique: bool = False
    primary_key: bool = False


class Column(msgspec.Struct, frozen=True):
    """One column of a model, seed or source, as the project's YAML declares it (``meta.pii`` read out)."""

    name: str
    data_type: str | None
    description: str
    meta: Mapping[str, Any]
    pii: str | None  # raw ``meta.pii``: a PII class, "none" (reviewed, not PII) or an unknown string
    mask: str | None  # the raw ``meta.mask`` override of the class's default strategy
    constraints: ColumnConstraints
    tests: tuple[DataTest, ...] = ()

    @property
    def pii_reason(self) -> str | None:
        """Why a column marked ``pii: none`` is not PII (``meta.pii_reason``), if given."""
        reason = self.meta.get("pii_reason")
        return str(reason) if reason else None

    def has_test(self, name: str) -> bool:
        return any(test.name == name for test in self.tests)

    @property
    def accepted_values(self) -> tuple[str, ...] | None:
        """The values an ``accepted_values`` test allows, as strings, or None without such a test."""
        for test in self.tests:
            if test.name == "accepted_values":
                values = test.kwargs.get("values") or ()
                return tuple(str(v) for v in values)
        return None

    @property
    def is_not_null(self) -> bool:
        """Whether the column is declared not null (constraint, primary key or not_null test)."""
        return self.constraints.not_null or self.constraints.primary_key or self.has_test("not_null")

    @property
    def is_unique(self) -> bool:
        """Whether the column is declared unique (constraint, primary key or unique test)."""
        return self.constraints.unique or self.constraints.primary_key or self.has_test("unique")


class ModelConstraint(msgspec.Struct, frozen=True):
    """A model-level constraint (it may span several columns)."""

    type: str
    columns: tuple[str, ...]
    expression: str | None = None


class Model(msgspec.Struct, frozen=True, dict=True):
    """A dbt model (or snapshot): what policy, lineage and change detection read of its manifest node."""

    unique_id: str
    name: str
    package_name: str
    version: str | None
    latest_version: str | None
    access: Access
    group: str | None
    contract_enforced: bool
    database: str | None
    schema: str
    alias: str
    relation_name: str | None
    description: str
    deprecation_date: datetime | None
    columns: tuple[Column, ...]
    depends_on: tuple[str, ...]
    original_file_path: str
    patch_path: str | None
    meta: Mapping[str, Any]
    materialized: str = "view"
    post_hooks: tuple[str, ...] = ()
    constraints: tuple[ModelConstraint, ...] = ()
    tests: tuple[DataTest, ...] = ()  # every test attached to the model, column tests included
    tags: tuple[str, ...] = ()
    #: The SQL dbt compiled (``dbt compile``, ``run`` or ``build``); None in a manifest written by ``dbt parse``.
    compiled_code: str | None = None

    @property
    def is_public(self) -> bool:
        return self.access is Access.PUBLIC

    @property
    def display_name(self) -> str:
        """``name`` or ``name.v2``: how a user reads the model in a message."""
        return f"{self.name}.v{self.version}" if self.version is not None else self.name

    def column(self, name: str) -> Column | None:
        """The column called ``name`` (case-insensitive, as warehouses fold identifiers), or None."""
        return self._columns_by_lower_name.get(name.lower())

    @cached_property  # rules look columns up by name thousands of times; a frozen Model's columns never change
    def _columns_by_lower_name(self) -> dict[str, Column]:
        """Each lower-cased column name and the first column that has it (as a scan in order finds it)."""
        found: dict[str, Column] = {}
        for column in self.columns:
            found.setdefault(column.name.lower(), column)
        return found

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def declared_in(self) -> str:
        """The file that declares the model, relative to its project: its YAML (``patch_path`` without dbt's
        ``project://`` prefix), else its SQL."""
        if self.patch_path:
            return self.patch_path.split("://", 1)[-1]
        return self.original_file_path


class Seed(msgspec.Struct, frozen=True):
    """A dbt seed: its columns and the types its CSV loads with."""

    unique_id: str
    name: str
    package_name: str
    relation_name: str | None
    columns: tuple[Column, ...]
    original_file_path: str
    column_types: Mapping[str, str] = msgspec.field(default_factory=_empty_mapping)
    patch_path: str | None = None  # the properties YAML dbt read for it (``project://path``), if any


class Source(msgspec.Struct, frozen=True):
    """One table of a dbt source."""

    unique_id: str
    source_name: str
    name: str
    package_name: str
    relation_name: str | None
    columns: tuple[Column, ...]
    meta: Mapping[str, Any] = msgspec.field(default_factory=_empty_mapping)  # the table's meta
    source_meta: Mapping[str, Any] = msgspec.field(default_factory=_empty_mapping)  # the source's (all its tables')
    original_file_path: str = ""  # the YAML that declares it


class Group(msgspec.Struct, frozen=True):
    """A dbt group and its owner."""

    unique_id: str
    name: str
    package_name: str
    owner_name: str | None
    owner_email: str | None

    @property
    def has_owner(self) -> bool:
        return bool(self.owner_name or self.owner_email)


class Project(msgspec.Struct, frozen=True, dict=True):
    """One dbt project as its manifest describes it (the project and the packages it installed)."""

    name: str
    adapter_type: str
    dbt_version: str
    generated_at: datetime | None
    models: tuple[Model, ...]
    seeds: tuple[Seed, ...]
    sources: tuple[Source, ...]
    groups: tuple[Group, ...]
    tests: tuple[DataTest, ...]
    manifest_path: Path | None = None
    #: Snapshots, modelled like models (SQL, columns, dependencies); their access is never public.
    snapshots: tuple[Model, ...] = ()
    #: Installed packages whose models and sources count as the project's own (``--include-packages``).
    included_packages: frozenset[str] = frozenset()

    @cached_property  # rules ask for it again and again; a frozen Project's answer never changes
    def own_models(self) -> tuple[Model, ...]:
        """The models defined by this project (and by the packages it includes), not by other packages."""
        return tuple(m for m in self.models if self.owns(m))

    @cached_property
    def own_sql_nodes(self) -> tuple[Model, ...]:
        """The project's own models and its own snapshots: the nodes whose compiled SQL it answers for."""
        return (*self.own_models, *(s for s in self.snapshots if s.package_name == self.name))

    def owns(self, model: Model) -> bool:
        """Whether ``model`` is the project's own: defined by it, or by a package it includes."""
        return self.owns_package(model.package_name)

    def owns_package(self, package_name: str) -> bool:
        """Whether nodes of ``package_name`` count as the project's own: it is the project, or an included package."""
        return package_name == self.name or package_name in self.included_packages

    @cached_property
    def public_models(self) -> tuple[Model, ...]:
        """The project's own models with public access: its data products."""
        return tuple(m for m in self.own_models if m.is_public)

    def model(self, unique_id: str) -> Model | None:
        return next((m for m in self.models if m.unique_id == unique_id), None)

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name and g.package_name == self.name), None)


class RunResult(msgspec.Struct, frozen=True):
    """The outcome of one node in a dbt run."""

    unique_id: str
    status: str  # success, error, skipped, pass, fail, warn, ...
    message: str | None
    execution_time: float
    failures: int | None


class RunResults(msgspec.Struct, frozen=True):
    """``run_results.json``: what the last dbt command did to each node."""

    dbt_version: str
    generated_at: datetime | None
    results: tuple[RunResult, ...]
    #: The dbt command that wrote them (``args.which``: build, run, test, generate, compile, ...); None if unsaid.
    command: str | None = None

    def result(self, unique_id: str) -> RunResult | None:
        return next((r for r in self.results if r.unique_id == unique_id), None)


# ------------------------------------------------------------------------------------------ the manifest as read
# Only what the Project holds is declared: msgspec skips the rest of the document (raw SQL, macros, docs,
# unrendered configs, ...) without building it, and builds what is declared straight into these structs, where
# a dict per JSON object made the reading of a 5,000-model manifest twice as long (issue 16). ``Any`` keeps a
# field as lenient as the dict reader was where dbt versions (1.8 to 1.11, Fusion) write different things, or
# null: each record builder below reads it the way the dict reader did. ``gc=False``: decoded structs hold no
# cycles and live only while the Project is built.


class _Metadata(msgspec.Struct, gc=False):
    dbt_schema_version: Any = None
    project_name: Any = None
    adapter_type: Any = None
    dbt_version: Any = None
    generated_at: Any = None


class _ColumnConfig(msgspec.Struct, gc=False):
    meta: Any = None


class _Column(msgspec.Struct, gc=False):
    name: Any
    quote: Any = None
    data_type: Any = None
    description: Any = None
    meta: Any = None
    config: _ColumnConfig | None = None
    constraints: Any = None


class _NodeConfig(msgspec.Struct, gc=False):
    meta: Any = None
    access: Any = None
    group: Any = None
    contract: Any = None
    materialized: Any = None
    post_hook: Any = msgspec.field(default=None, name="post-hook")
    severity: Any = None
    column_types: Any = None


class _DependsOn(msgspec.Struct, gc=False):
    nodes: Any = None


class _TestMetadata(msgspec.Struct, gc=False):
    name: Any = None
    namespace: Any = None
    kwargs: Any = None


class _Named(msgspec.Struct, gc=False):
    """What every node, source and group of a manifest has (dbt's schema requires them of each)."""

    unique_id: str
    name: str
    package_name: str


class _Node(_Named, gc=False):
    """Any node of the manifest (model, snapshot, seed, test, analysis, hook, ...): what each kind needs."""

    resource_type: str
    schema: Any = UNSET  # read of models and snapshots only, where it was required
    config: _NodeConfig | None = None
    columns: dict[str, _Column] | None = None
    constraints: Any = None
    version: Any = None
    latest_version: Any = None
    access: Any = None
    group: Any = None
    contract: Any = None
    database: Any = None
    alias: Any = None
    relation_name: Any = None
    description: Any = None
    deprecation_date: Any = None
    depends_on: _DependsOn | None = None
    original_file_path: Any = None
    patch_path: Any = None
    meta: Any = None
    tags: Any = None
    compiled_code: Any = None
    test_metadata: _TestMetadata | None = None
    attached_node: Any = None
    column_name: Any = None


class _Source(_Named, gc=False):
    source_name: str
    relation_name: Any = None
    columns: dict[str, _Column] | None = None
    meta: Any = None
    source_meta: Any = None
    original_file_path: Any = None


class _Group(_Named, gc=False):
    owner: Any = None


class _Manifest(msgspec.Struct, gc=False):
    metadata: _Metadata | None = None
    nodes: dict[str, _Node] | UnsetType = UNSET
    sources: dict[str, _Source] | None = None
    groups: dict[str, _Group] | None = None


_MANIFEST_DECODER = msgspec.json.Decoder(_Manifest)
_NO_NODE_CONFIG = _NodeConfig()
_NO_TEST_METADATA = _TestMetadata()
_NO_DEPENDENCIES = _DependsOn()


# --------------------------------------------------------------------------------------------------- loading


#: The fix an unreadable manifest's error names.
_REGENERATE_MANIFEST = "regenerate it with `dbt parse`"


def load_manifest(path: Path | str) -> Project:
    """Read ``manifest.json`` into a Project; ArtifactError if it is missing, truncated or not schema v12."""
    manifest = Path(path)
    return _modelled(manifest, _read_manifest(manifest))


def load_manifest_keeping_bytes(path: Path) -> tuple[Project, bytes]:
    """``load_manifest``, with the bytes it read: ``manifest_document`` reads them again as a document, so what a
    release says of its models and the manifest it republishes come from one read, even if a build rewrites the
    file meanwhile."""
    data = _read_manifest(path)
    return _modelled(path, data), data


def manifest_document(data: bytes, origin: str) -> dict[str, Any]:
    """A manifest's bytes as a JSON document (the schema version checked), unmodelled."""
    return _parse_artifact(data, origin, "manifest", SUPPORTED_MANIFEST_VERSIONS, _REGENERATE_MANIFEST)


def _read_manifest(path: Path) -> bytes:
    if not path.is_file():
        raise ArtifactError(f"no dbt manifest at {path}; run `dbt parse` in the project first")
    return _read_artifact(path, _REGENERATE_MANIFEST)


def _modelled(path: Path, data: bytes) -> Project:
    return msgspec.structs.replace(parse_manifest(data, str(path)), manifest_path=path)


def parse_manifest(data: bytes, origin: str, regenerate: str = _REGENERATE_MANIFEST) -> Project:
    """A manifest's bytes into a Project; ``origin`` names it in errors (a path, a registry release)."""
    try:
        with collector_paused():
            return _project(_decode_manifest(data, origin, regenerate))
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as error:
        # ValueError includes msgspec's ValidationError (a field of the wrong type, a required one missing);
        # RecursionError is how msgspec refuses JSON nested deeper than the interpreter's recursion limit.
        raise ArtifactError(
            f"{origin} is not a complete dbt manifest ({type(error).__name__}: {error}); {regenerate}"
        ) from None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a manifest is parsed and modelled.

    Why: parsing allocates millions of containers and none of them is garbage yet, but each allocation burst
    triggers collections that walk the whole growing heap; on a 5,000-model manifest they cost more than the
    parse itself (bench/check.py). The collector resumes, as it was, right after, with what the parse made
    already in the oldest generation (freeze then unfreeze moves it there without a collection): otherwise the
    next young collection would walk every object of the manifest once more, and the next one again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _command(args: object) -> str | None:
    """The dbt command recorded in run results' ``args`` (``which``); None when the file does not say."""
    which = args.get("which") if isinstance(args, dict) else None
    return which if isinstance(which, str) and which else None


def load_run_results(path: Path | str) -> RunResults:
    """Read ``run_results.json``; ArtifactError if it is missing, truncated or not schema v6."""
    results_path = Path(path)
    if not results_path.is_file():
        raise ArtifactError(f"no dbt run results at {results_path}; run `dbt build` in the project first")
    regenerate = "regenerate it with `dbt build`"
    document = _parse_artifact(
        _read_artifact(results_path, regenerate),
        str(results_path),
        "run results",
        SUPPORTED_RUN_RESULTS_VERSIONS,
        regenerate,
    )
    try:
        results = tuple(_run_result(r) for r in document["results"])
        metadata = document["metadata"]
        return RunResults(
            dbt_version=str(metadata.get("dbt_version", "")),
            generated_at=_parse_datetime(metadata.get("generated_at")),
            results=results,
            command=_command(document.get("args")),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ArtifactError(
            f"{results_path} is not complete dbt run results ({type(error).__name__}: {error}); "
            "regenerate it with `dbt build`"
        ) from None


class Catalog(msgspec.Struct, frozen=True):
    """What the warehouse holds, as ``dbt docs generate`` read it into ``catalog.json``: each relation's columns."""

    path: Path
    generated_at: datetime | None
    #: node unique_id -> the columns its relation has, as the warehouse names them, in their order.
    columns: Mapping[str, tuple[str, ...]]
    #: node unique_id (models, seeds, snapshots and sources) -> column -> its type as the warehouse states it, in
    #: the relation's order: what scan adds for undocumented columns and adopt writes as ``data_type``.
    types: Mapping[str, Mapping[str, str]] = msgspec.field(default_factory=_empty_mapping)


def load_catalog(path: Path | str) -> Catalog:
    """Read ``catalog.json``; ArtifactError if it is missing, truncated or not schema v1."""
    catalog_path = Path(path)
    regenerate = "regenerate it with `dbt docs generate`"
    if not catalog_path.is_file():
        raise ArtifactError(f"no dbt catalog at {catalog_path}; run `dbt docs generate` in the project first")
    document = _parse_artifact(
        _read_artifact(catalog_path, regenerate), str(catalog_path), "catalog", SUPPORTED_CATALOG_VERSIONS, regenerate
    )
    try:
        nodes = document["nodes"]
        columns = {
            str(unique_id): tuple(str(c["name"]) for c in sorted(node["columns"].values(), key=lambda c: c["index"]))
            for unique_id, node in nodes.items()
        }
        types = {
            str(unique_id): MappingProxyType(
                {str(c["name"]): str(c["type"]) for c in sorted(node["columns"].values(), key=lambda c: c["index"])}
            )
            for unique_id, node in (*nodes.items(), *(document.get("sources") or {}).items())
        }
        generated_at = _parse_datetime(document["metadata"].get("generated_at"))
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ArtifactError(
            f"{catalog_path} is not a complete dbt catalog ({type(error).__name__}: {error}); {regenerate}"
        ) from None
    return Catalog(catalog_path, generated_at, MappingProxyType(columns), MappingProxyType(types))


def schema_version(document: Mapping[str, Any]) -> str | None:
    """The ``vN`` of an artifact's ``metadata.dbt_schema_version`` URL, or None when it has none."""
    metadata = document.get("metadata")
    return _schema_version(metadata.get("dbt_schema_version") if isinstance(metadata, Mapping) else None)


def _schema_version(url: object) -> str | None:
    match = _SCHEMA_VERSION.search(url) if isinstance(url, str) else None
    return match.group(1) if match else None


def project_from_manifest(document: Mapping[str, Any]) -> Project:
    """Build the Project from an already parsed manifest document (no version check), through the same typed
    model as ``parse_manifest``."""
    return _project(msgspec.convert(document, _Manifest))


def _decode_manifest(data: bytes, origin: str, regenerate: str) -> _Manifest:
    """The manifest's typed model, its schema version checked; ArtifactError if it is not JSON, not an object or
    of another schema version, as the other artifacts say it; msgspec's ValidationError if a field is amiss."""
    try:
        manifest = _MANIFEST_DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):
        # Why the document again: to say what is wrong with it as of every other artifact (truncated, not an
        # object, another schema version, whose fields may differ); only a manifest that passes is reported as is.
        _parse_artifact(data, origin, "manifest", SUPPORTED_MANIFEST_VERSIONS, regenerate)
        raise
    metadata = manifest.metadata
    version = _schema_version(metadata.dbt_schema_version) if metadata is not None else None
    _check_schema_version(version, origin, "manifest", SUPPORTED_MANIFEST_VERSIONS, regenerate)
    return manifest


def _project(manifest: _Manifest) -> Project:
    """The Project of a decoded manifest; KeyError without ``nodes`` (as the dict reader said it: the schema
    version is checked first, so a manifest of another version is reported as that)."""
    if isinstance(manifest.nodes, UnsetType):
        raise KeyError("nodes")
    metadata = manifest.metadata or _Metadata()
    by_type: dict[str, list[_Node]] = defaultdict(list)
    for node in manifest.nodes.values():  # one pass sorts the nodes; each kind is then built once
        by_type[node.resource_type].append(node)
    tests = tuple(_data_test(node) for node in by_type["test"])
    tests_by_node = _tests_by_attached_node(tests)
    adapter = str(metadata.adapter_type or "")
    names = _ColumnNames(adapter)
    return Project(
        name=str(metadata.project_name or ""),
        adapter_type=adapter,
        dbt_version=str(metadata.dbt_version or ""),
        generated_at=_parse_datetime(metadata.generated_at),
        models=tuple(_model(n, tests_by_node.get(n.unique_id, ()), names) for n in by_type["model"]),
        snapshots=tuple(_model(n, (), names) for n in by_type["snapshot"]),
        seeds=tuple(_seed(n, names) for n in by_type["seed"]),
        sources=tuple(_source(s, names) for s in (manifest.sources or {}).values()),
        groups=tuple(_group(g) for g in (manifest.groups or {}).values()),
        tests=tests,
    )


def _read_artifact(path: Path, regenerate: str) -> bytes:
    """An artifact's bytes, refused above the JSON size limit (``$DMESH_MAX_JSON_MB``) before it is read."""
    try:
        return read_bounded(path, max_json_bytes())
    except InputTooLarge as error:
        raise ArtifactError(
            f"{path} is too large ({error}); set {MAX_JSON_MB_ENV} to a larger number of MB if it is real"
        ) from None
    except OSError as error:
        raise ArtifactError(f"cannot read {path} ({error.strerror}); {regenerate}") from None


def _parse_artifact(data: bytes, origin: str, kind: str, supported: tuple[str, ...], regenerate: str) -> dict[str, Any]:
    try:
        # orjson parses artifacts ~1.5x faster than json (bench/check.py).
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ArtifactError(f"{origin} is truncated or not JSON ({error}); {regenerate}") from None
    if not isinstance(document, dict):
        raise ArtifactError(f"{origin} is not a dbt {kind} (a JSON object was expected); {regenerate}")
    _check_schema_version(schema_version(document), origin, kind, supported, regenerate)
    return document


def _check_schema_version(
    version: str | None, origin: str, kind: str, supported: tuple[str, ...], regenerate: str
) -> None:
    if version not in supported:
        found = f"schema {version}" if version else "no dbt_schema_version"
        raise ArtifactError(
            f"{origin} has {found}; dmesh-dbt reads dbt {kind} {', '.join(supported)} only "
            f"(dbt-core 1.8 to 1.11, dbt Fusion); {regenerate} using a supported dbt"
        )


def _tests_by_attached_node(tests: Iterable[DataTest]) -> dict[str, tuple[DataTest, ...]]:
    grouped: dict[str, list[DataTest]] = defaultdict(list)
    for test in tests:
        if test.attached_node:
            grouped[test.attached_node].append(test)
    return {node: tuple(found) for node, found in grouped.items()}


def _data_test(node: _Node) -> DataTest:
    metadata = node.test_metadata or _NO_TEST_METADATA
    config = node.config or _NO_NODE_CONFIG
    attached = node.attached_node
    if attached is None:  # dbt < 1.5 style or singular test: fall back to the single model it depends on
        parents = [p for p in (node.depends_on or _NO_DEPENDENCIES).nodes or () if p.startswith("model.")]
        attached = parents[0] if len(parents) == 1 else None
    return DataTest(
        unique_id=node.unique_id,
        name=str(metadata.name or ""),
        namespace=metadata.namespace,
        attached_node=attached,
        column_name=node.column_name,
        kwargs=MappingProxyType(dict(metadata.kwargs or {})),
        severity=str(config.severity or "ERROR").upper(),
    )


def _model(node: _Node, tests: tuple[DataTest, ...], names: _ColumnNames) -> Model:
    config = node.config or _NO_NODE_CONFIG
    if node.schema is UNSET:
        raise KeyError("schema")
    constraints = tuple(_model_constraint(c) for c in node.constraints or ())
    implied = _implied_constraints(constraints, names.adapter)
    column_tests: dict[str, list[DataTest]] = defaultdict(list)
    for test in tests:
        if test.column_name:
            column_tests[test.column_name.lower()].append(test)
    columns = tuple(
        _column(c, names, implied, tuple(column_tests.get(str(c.name).lower(), ())) if column_tests else ())
        for c in (node.columns or {}).values()
    )
    access = node.access or config.access or "protected"
    return Model(
        unique_id=node.unique_id,
        name=node.name,
        package_name=node.package_name,
        version=_version(node.version),
        latest_version=_version(node.latest_version),
        access=_ACCESS[access] if isinstance(access, str) and access in _ACCESS else Access(access),
        group=node.group or config.group,
        contract_enforced=bool((node.contract or config.contract or {}).get("enforced")),
        database=node.database,
        schema=node.schema,
        alias=node.alias or node.name,
        relation_name=node.relation_name,
        description=node.description or "",
        deprecation_date=_parse_datetime(node.deprecation_date),
        columns=columns,
        depends_on=tuple((node.depends_on or _NO_DEPENDENCIES).nodes or ()),
        original_file_path=node.original_file_path or "",
        patch_path=node.patch_path,
        meta=MappingProxyType(dict(config.meta or node.meta or {})),
        materialized=str(config.materialized or "view"),
        post_hooks=_hooks(config.post_hook),
        constraints=constraints,
        tests=tests,
        tags=tuple(node.tags or ()),
        compiled_code=node.compiled_code or None,
    )


#: Access values by their manifest spelling: a dict lookup, where calling the enum costs each model a microsecond.
_ACCESS = {access.value: access for access in Access}


class _ColumnNames:
    """The warehouse's name and key of each YAML column name of one manifest, worked out once per distinct name.

    Why: thousands of models repeat a few dozen column names (id, created_at, ...); ``warehouse_column_name``
    and ``column_key`` give the same answer for the same name on one adapter.
    """

    def __init__(self, adapter: str) -> None:
        self.adapter = adapter
        self._names: dict[str, str] = {}
        self._keys: dict[str, str] = {}

    def name(self, raw: str, quote: bool) -> str:
        """``warehouse_column_name(raw, adapter, quote)``."""
        if quote:  # rare: not remembered
            return warehouse_column_name(raw, self.adapter, quote)
        found = self._names.get(raw)
        if found is None:
            found = self._names[raw] = warehouse_column_name(raw, self.adapter)
        return found

    def key(self, name: str) -> str:
        """``column_key(name, adapter)``."""
        found = self._keys.get(name)
        if found is None:
            found = self._keys[name] = column_key(name, self.adapter)
        return found


def _column(raw: _Column, names: _ColumnNames, implied: Mapping[str, set[str]], tests: tuple[DataTest, ...]) -> Column:
    # The name the warehouse gives the column, as dbt's contract check and the masking macros find it: a YAML
    # `"ssn "` is the column ssn, and every tool must say so, or the published contract names a column that is not.
    name = names.name(str(raw.name), bool(raw.quote))
    # Fail closed on PII markings: meta wins over config.meta key by key, and a meta that is not a mapping (but
    # not empty either) is refused (TypeError), never read as "no markings".
    config_meta = raw.config.meta if raw.config is not None else None
    meta = {**config_meta, **(raw.meta or {})} if config_meta else {**(raw.meta or {})}
    column_level = raw.constraints
    constraints = _column_constraints(name, names, column_level, implied) if column_level or implied else _UNCONSTRAINED
    return column_record(name, raw.data_type, raw.description, meta, constraints, tests)


def column_record(
    name: str,
    data_type: str | None,
    description: str | None,
    meta: dict[str, Any],
    constraints: ColumnConstraints,
    tests: tuple[DataTest, ...],
) -> Column:
    """The Column of a manifest column's merged ``meta`` (its ``pii`` and ``mask`` read out as text)."""
    pii = meta.get("pii")
    mask = meta.get("mask")
    return Column(
        name=name,
        data_type=data_type or None,
        description=description or "",
        meta=MappingProxyType(meta),
        pii=None if pii is None else str(pii),
        mask=None if mask is None else str(mask),
        constraints=constraints,
        tests=tests,
    )


def _implied_constraints(model_level: tuple[ModelConstraint, ...], adapter: str) -> dict[str, set[str]]:
    """Column key -> the constraint types the model-level constraints give that column, worked out once per model.

    A multi-column unique key does not make each member unique; a multi-column primary key makes each not null.
    """
    implied: dict[str, set[str]] = {}
    for constraint in model_level:
        members = [yaml_column_key(c, adapter) for c in constraint.columns]
        if constraint.type == "unique" and len(members) > 1:
            continue
        given = "not_null" if constraint.type == "primary_key" and len(members) > 1 else constraint.type
        for key in members:
            implied.setdefault(key, set()).add(given)
    return implied


def _column_constraints(
    name: str, names: _ColumnNames, column_level: Iterable[Mapping[str, Any]] | None, implied: Mapping[str, set[str]]
) -> ColumnConstraints:
    types = {str(c.get("type")) for c in column_level or ()}
    if implied:
        types |= implied.get(names.key(name), set())
    return _CONSTRAINTS[("not_null" in types or "primary_key" in types, "unique" in types, "primary_key" in types)]


#: The eight possible ColumnConstraints, shared (they are immutable): building one per column cost the
#: manifest's reading about a tenth of its time.
_CONSTRAINTS = {
    (not_null, unique, primary_key): ColumnConstraints(not_null, unique, primary_key)
    for not_null in (False, True)
    for unique in (False, True)
    for primary_key in (False, True)
}
_UNCONSTRAINED = _CONSTRAINTS[(False, False, False)]


def _model_constraint(raw: Mapping[str, Any]) -> ModelConstraint:
    return ModelConstraint(
        type=str(raw.get("type")),
        columns=tuple(str(c) for c in raw.get("columns") or ()),
        expression=raw.get("expression"),
    )


def _seed(node: _Node, names: _ColumnNames) -> Seed:
    config = node.config or _NO_NODE_CONFIG
    return Seed(
        unique_id=node.unique_id,
        name=node.name,
        package_name=node.package_name,
        relation_name=node.relation_name,
        columns=tuple(_column(c, names, {}, ()) for c in (node.columns or {}).values()),
        original_file_path=node.original_file_path or "",
        column_types=_string_mapping(config.column_types),
        patch_path=node.patch_path,
    )


def _source(node: _Source, names: _ColumnNames) -> Source:
    return Source(
        unique_id=node.unique_id,
        source_name=node.source_name,
        name=node.name,
        package_name=node.package_name,
        relation_name=node.relation_name,
        columns=tuple(_column(c, names, {}, ()) for c in (node.columns or {}).values()),
        meta=MappingProxyType(dict(node.meta or {})),
        source_meta=MappingProxyType(dict(node.source_meta or {})),
        original_file_path=node.original_file_path or "",
    )


def _group(node: _Group) -> Group:
    owner = node.owner or {}
    return Group(
        unique_id=node.unique_id,
        name=node.name,
        package_name=node.package_name,
        owner_name=owner.get("name"),
        owner_email=owner.get("email"),
    )


def _string_mapping(value: object) -> Mapping[str, str]:
    items = value.items() if isinstance(value, Mapping) else ()
    return MappingProxyType({str(k): str(v) for k, v in items})


def _run_result(raw: Mapping[str, Any]) -> RunResult:
    failures = raw.get("failures")
    return RunResult(
        unique_id=raw["unique_id"],
        status=str(raw["status"]),
        message=raw.get("message"),
        execution_time=float(raw.get("execution_time") or 0.0),
        failures=None if failures is None else int(failures),
    )


def _version(value: object) -> str | None:
    """dbt model versions may be ints, floats or strings in YAML; compare them as strings ("2", "2.1")."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _hooks(value: object) -> tuple[str, ...]:
    """Hook SQL strings; the manifest stores hooks as ``{"sql": ..., "transaction": ...}`` objects."""
    if not isinstance(value, list):
        return ()
    hooks = []
    for hook in value:
        sql = hook.get("sql") if isinstance(hook, Mapping) else hook
        if sql:
            hooks.append(str(sql))
    return tuple(hooks)


def _parse_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None

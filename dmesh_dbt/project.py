"""The domain project on disk: ``dmesh.yml``, ``dbt_project.yml``, the dbt target, the manifest and the registry.

Each file is read here, once, by one set of rules, so every command sees the same project:

- ``dmesh.yml``: ``load_descriptor`` (what publish and consume need: domain and owner required),
  ``policy_sections`` (the raw ``policy:`` and ``waivers:`` the policy reads), ``domain_name``;
- ``dbt_project.yml``: ``read_dbt_project`` (name, profile, version, vars, resource paths);
- ``profiles.yml``: found by ``find_profiles_dir`` and read by ``resolve_target``, as dbt finds and resolves it:
  the target name is rendered first, then only the chosen output, so an ``env_var`` of another target need not
  be set; ``dbt_flags`` carries the same profiles directory and ``--vars`` to every dbt run;
- the target path (where dbt writes its artifacts): ``target_dir``, as dbt resolves it: ``$DBT_TARGET_PATH``,
  else ``target-path:`` in dbt_project.yml, else ``target/``; ``manifest_path``, ``run_results_path`` and
  ``catalog_path`` name the artifacts there, and ``private_target`` our own dbt runs' directories inside it;
- the manifest: ``newest_source``, ``manifest_staleness``, ``vanished_source``, ``ensure_manifest``
  (``dbt parse`` when stale, saying why and how; partial unless a file it was built from is gone) and
  ``compile_manifest`` (``dbt compile`` of models and snapshots, for column lineage; partial likewise);
- the registry URL: ``registry_url``: ``--registry``, else ``$DMESH_REGISTRY``, else ``registry:`` in dmesh.yml.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from dmesh_dbt.errors import ConfigError, DbtError, DmeshError, UsageError
from dmesh_dbt.files import (
    dump_round_trip,
    load_round_trip,
    load_yaml_text,
    loads_json,
    max_json_bytes,
    read_bounded,
    read_text_bounded,
    round_trip_yaml_for,
    write_atomically,
)
from dmesh_dbt.identifiers import InvalidName, NameKind, valid_name
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags, run_dbt

if TYPE_CHECKING:  # jinja2 loads only to render profiles.yml (resolve_target), which check does not read
    import jinja2

#: Environment variable naming the registry when neither ``--registry`` nor ``dmesh.yml`` does. Here, not in
#: ``registry``: resolving the URL is the project's business, and a check without a baseline loads no registry.
REGISTRY_ENV = "DMESH_REGISTRY"
#: The domain descriptor beside dbt_project.yml.
DMESH_FILE = "dmesh.yml"
#: The key of dmesh.yml holding the project's id.
PROJECT_ID_KEY = "project_id"
DBT_PROJECT_FILE = "dbt_project.yml"
PROFILES_FILE = "profiles.yml"
#: dbt's environment variable for the profiles directory.
PROFILES_DIR_ENV = "DBT_PROFILES_DIR"
#: dbt's environment variable for the target path; it wins over ``target-path:`` in dbt_project.yml, as in dbt.
TARGET_PATH_ENV = "DBT_TARGET_PATH"
#: dbt's target path when neither the environment nor dbt_project.yml names one.
DEFAULT_TARGET_PATH = "target"
#: Where ``dmesh-dbt consume`` writes the sources of the products a domain consumes (one YAML file per domain).
CONSUMED_SOURCES = Path("models") / "consumed"

#: Files at a project's root that dbt reads; with the resource paths, what makes a manifest stale.
_PROJECT_FILES = (DBT_PROJECT_FILE, PROFILES_FILE, "packages.yml", "dependencies.yml", "selectors.yml")
_RESOURCE_PATH_DEFAULTS: Mapping[str, tuple[str, ...]] = {
    "model-paths": ("models",),
    "seed-paths": ("seeds",),
    "test-paths": ("tests",),
    "macro-paths": ("macros",),
    "snapshot-paths": ("snapshots",),
    "analysis-paths": ("analyses",),
    "docs-paths": (),
}


#: Parsed YAML documents by file and text. Why: one check reads dbt_project.yml seven times (the target path of
#: each artifact, the project's name, profile and resource paths) and dmesh.yml twice. The text is read every
#: time, so a file edited in between is parsed anew; each caller gets its own copy to change.
_PARSED: dict[tuple[Path, str], Any] = {}
#: Past this many documents the memo starts over: a command reads a handful of such files.
_PARSED_LIMIT = 64


def _load_mapping(path: Path) -> dict[str, Any] | None:
    """The YAML mapping in ``path``; None when the file does not exist; ConfigError when it is not a mapping."""
    if not path.exists() and not path.is_symlink():
        return None
    text = read_text_bounded(path, ConfigError)
    key = (path, text)
    if key not in _PARSED:
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[key] = load_yaml_text(text, str(path), ConfigError)
    document = copy.deepcopy(_PARSED[key])
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path} is not a YAML mapping; fix the file")
    return document


# ----------------------------------------------------------------------------------------------- dmesh.yml


class DomainDescriptor(msgspec.Struct, frozen=True):
    """What ``dmesh.yml`` says about the domain: who owns it and what it promises."""

    domain: str
    owner: str
    description: str
    tier: str | None = None
    availability: str | None = None
    freshness: Mapping[str, Any] = msgspec.field(default_factory=dict)
    registry: str | None = None
    project_id: str | None = None  # which project owns ``domain`` in a registry; written by init


#: Mail domains reserved for documentation (RFC 2606): no team reads mail there, so an owner there is a placeholder.
PLACEHOLDER_MAIL_DOMAINS = ("example.com", "example.net", "example.org")


def placeholder_owner(domain: str) -> str:
    """The owner ``init`` writes when it is given none: to be replaced before the domain publishes."""
    return f"{domain}-team@example.com"


def is_placeholder_owner(owner: str) -> bool:
    """Whether ``owner`` is at a documentation mail domain (``init``'s placeholder among them)."""
    host = owner.rpartition("@")[2].strip().lower()
    return any(host == name or host.endswith(f".{name}") for name in PLACEHOLDER_MAIL_DOMAINS)


def require_real_owner(project_dir: Path, descriptor: DomainDescriptor) -> None:
    """ConfigError when dmesh.yml still names a placeholder owner: a product's contract must name who answers."""
    if is_placeholder_owner(descriptor.owner):
        raise ConfigError(
            f"{project_dir / DMESH_FILE}: owner {descriptor.owner} is a placeholder (example.com, .net and .org "
            "addresses reach no one); set `owner:` there and the group's `owner: {email: ...}` in models/groups.yml "
            "to the owning team's email address"
        )


def read_dmesh_file(project_dir: Path) -> dict[str, Any] | None:
    """The raw ``dmesh.yml`` mapping; None when the project has none."""
    return _load_mapping(project_dir / DMESH_FILE)


def load_descriptor(project_dir: Path) -> DomainDescriptor:
    """The project's ``dmesh.yml``; ConfigError naming the missing key when it is incomplete."""
    path = project_dir / DMESH_FILE
    document = read_dmesh_file(project_dir)
    if document is None:
        raise ConfigError(f"no domain descriptor (dmesh.yml) at {path}; run this in a project made by `dmesh-dbt init`")
    missing = [key for key in ("domain", "owner") if not document.get(key)]
    if missing:
        raise ConfigError(f"{path} has no {' or '.join(missing)}; add `{missing[0]}:` to it")
    sla = document.get("sla") or {}
    if not isinstance(sla, dict) or not isinstance(sla.get("freshness") or {}, dict):
        raise ConfigError(f"{path}: `sla:` is not a mapping with an optional `freshness:` mapping; fix it")
    return DomainDescriptor(
        domain=_valid(NameKind.DOMAIN, document["domain"], path, "domain"),
        owner=_one_line(document["owner"], path, "owner"),
        description=str(document.get("description") or ""),
        tier=None if document.get("tier") is None else str(document["tier"]),
        availability=None if sla.get("availability") is None else str(sla["availability"]),
        freshness=dict(sla.get("freshness") or {}),
        registry=None if document.get("registry") is None else str(document["registry"]),
        project_id=None if document.get(PROJECT_ID_KEY) is None else _project_id(document, path),
    )


def _valid(kind: NameKind, value: object, path: Path, key: str) -> str:
    try:
        return valid_name(kind, value)
    except InvalidName as error:
        raise ConfigError(f"{path}: {error}; fix `{key}:`") from None


def _project_id(document: Mapping[str, Any], path: Path) -> str:
    return _valid(NameKind.PROJECT_ID, document[PROJECT_ID_KEY], path, PROJECT_ID_KEY)


def _one_line(value: object, path: Path, key: str) -> str:
    text = str(value)
    if len(text) > 320 or any(ord(c) < 32 for c in text):
        raise ConfigError(f"{path}: `{key}:` must be one line of at most 320 characters; fix it")
    return text


def project_id(project_dir: Path) -> str | None:
    """``project_id`` in dmesh.yml; None when the project has none yet (publish adds it)."""
    document = read_dmesh_file(project_dir) or {}
    if document.get(PROJECT_ID_KEY) is None:
        return None
    return _project_id(document, project_dir / DMESH_FILE)


def ensure_project_id(project_dir: Path) -> str:
    """The project's id from dmesh.yml, first written there (a new UUID, round trip, atomically) if missing.

    The id, not the domain name, is what owns a domain in a registry: two projects that happen to share a name
    (two copies of one example) must not publish over, or be checked against, each other's releases.
    """
    from ruamel.yaml.comments import CommentedMap  # here: only writing the id edits YAML

    path = project_dir / DMESH_FILE
    document = load_round_trip(path)
    if not isinstance(document, CommentedMap):
        raise ConfigError(f"no domain descriptor (dmesh.yml) at {path}; run this in a project made by `dmesh-dbt init`")
    if document.get(PROJECT_ID_KEY) is not None:
        return _project_id(document, path)
    project_id = new_project_id()
    position = list(document).index("owner") + 1 if "owner" in document else len(document)
    document.insert(position, PROJECT_ID_KEY, project_id, comment="owns this domain's name in registries; keep it")
    dump_round_trip(path, document, round_trip_yaml_for(path.read_text(encoding="utf-8")))
    return project_id


def new_project_id() -> str:
    return str(uuid.uuid4())


class PolicySections(msgspec.Struct, frozen=True):
    """The raw ``policy:`` and ``waivers:`` sections of dmesh.yml (validated by the policy, not here)."""

    path: Path | None  # None when the project has no dmesh.yml
    domain: str | None = None
    owner: str | None = None
    policy: object = None
    waivers: object = None


def policy_sections(project_dir: Path) -> PolicySections:
    """What the policy reads from dmesh.yml, unvalidated; empty sections when the project has no dmesh.yml."""
    document = read_dmesh_file(project_dir)
    if document is None:
        return PolicySections(path=None)
    return PolicySections(
        path=project_dir / DMESH_FILE,
        domain=str(document["domain"]) if document.get("domain") else None,
        owner=str(document["owner"]) if document.get("owner") else None,
        policy=document.get("policy"),
        waivers=document.get("waivers"),
    )


def domain_name(project_dir: Path) -> str:
    """The domain's name: ``domain:`` in dmesh.yml, else the dbt project's ``name``."""
    dbt_project = read_dbt_project(project_dir)
    configured = (read_dmesh_file(project_dir) or {}).get("domain")
    return str(configured or dbt_project.name or project_dir.name)


# ----------------------------------------------------------------------------------------------- the registry


def configured_registry(project_dir: Path) -> str | None:
    """The registry named by ``registry:`` in dmesh.yml (a relative path is relative to the project), if any."""
    configured = (read_dmesh_file(project_dir) or {}).get("registry")
    if not configured:
        return None
    configured = str(configured)
    if "://" in configured or Path(configured).is_absolute():
        return configured
    return str((project_dir / configured).resolve())  # relative to the project, not to where we run


def find_registry_url(project_dir: Path, explicit: str | None = None) -> str | None:
    """The registry to use: ``explicit`` (--registry), else ``$DMESH_REGISTRY``, else dmesh.yml; None if none."""
    return explicit or os.environ.get(REGISTRY_ENV) or configured_registry(project_dir)


def registry_url(project_dir: Path, explicit: str | None = None) -> str:
    """``find_registry_url``, or a ConfigError saying the three ways to name one."""
    url = find_registry_url(project_dir, explicit)
    if url is None:
        raise ConfigError(f"no registry: pass --registry URL, set {REGISTRY_ENV}, or add `registry:` to dmesh.yml")
    return url


# ------------------------------------------------------------------------------------------ dbt_project.yml


class DbtProject(msgspec.Struct, frozen=True):
    """What dmesh-dbt reads from ``dbt_project.yml``."""

    path: Path
    name: str | None
    profile: str | None
    version: str | None
    vars: Mapping[str, Any]
    resource_paths: tuple[Path, ...]

    def require_version(self) -> str:
        """The project's ``version``: the release a publish creates."""
        if not self.version:
            raise ConfigError(f'{self.path} has no `version:`; add one (e.g. version: "1.0.0")')
        return _valid(NameKind.RELEASE_VERSION, self.version, self.path, "version")

    def profile_name(self) -> str:
        """The dbt profile the project uses: ``profile:``, else (as dbt Cloud projects do) its ``name``."""
        name = self.profile or self.name
        if not name:
            raise ConfigError(f"{self.path} has no `profile:`; add the profile's name")
        return name


def read_dbt_project(project_dir: Path) -> DbtProject:
    """``dbt_project.yml``; UsageError when the directory is not a dbt project."""
    path = project_dir / DBT_PROJECT_FILE
    document = _load_mapping(path)
    if document is None:
        raise UsageError(f"{project_dir} is not a dbt project (no dbt_project.yml); pass --project-dir")
    project_vars = document.get("vars")
    paths: list[Path] = []
    for key, default in _RESOURCE_PATH_DEFAULTS.items():
        configured = document.get(key)
        names = configured if isinstance(configured, list) else default
        paths.extend(project_dir / str(name) for name in names)
    return DbtProject(
        path=path,
        name=str(document["name"]) if document.get("name") else None,
        profile=str(document["profile"]) if document.get("profile") else None,
        version=str(document["version"]) if document.get("version") else None,
        vars=project_vars if isinstance(project_vars, dict) else {},
        resource_paths=tuple(paths),
    )


# ----------------------------------------------------------------------------------------------- the target


class Target(msgspec.Struct, frozen=True):
    """A dbt target resolved from the project's own profiles.yml: its settings with ``env_var`` rendered."""

    name: str
    type: str  # the adapter: duckdb, postgres, bigquery, ...
    settings: Mapping[str, Any]
    profile: str = ""
    duckdb_path: Path | None = None  # a DuckDB target's database file, resolved against the project
    flags: DbtFlags = DBT_DEFAULTS  # what a dbt run on this target carries (profiles directory, --vars)


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ConfigError(f"profiles.yml uses env_var('{name}') without a default; set {name} and run again")
    return value


def _renderer(cli_vars: Mapping[str, Any] | None = None) -> Callable[[], jinja2.Environment]:
    """Jinja as dbt renders profiles.yml: ``env_var``, and ``var`` over the ``--vars`` given on the command line
    (the only vars dbt has when it reads profiles). Built on first call: a profiles.yml without a template (most)
    never imports jinja2, a twentieth of a second of `scan`'s start-up (issue 16)."""
    given = dict(cli_vars or {})

    def var(name: str, default: Any = None) -> Any:
        if name in given:
            return given[name]
        if default is None:
            raise ConfigError(f"profiles.yml uses var('{name}') without a default; pass --vars '{{{name}: ...}}'")
        return default

    @cache
    def environment() -> jinja2.Environment:
        import jinja2

        built = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
        built.globals["env_var"] = _env_var
        built.globals["var"] = var
        for name in ("as_number", "as_text", "as_bool", "as_native"):
            built.filters[name] = lambda value: value
        return built

    return environment


def _render(value: Any, environment: Callable[[], jinja2.Environment], where: Path) -> Any:
    """``value`` with every string rendered as dbt renders profiles.yml (only ``env_var`` is needed); a string
    without ``{`` is no template and is returned as it is, without building the environment."""
    if isinstance(value, Mapping):
        return {key: _render(item, environment, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, environment, where) for item in value]
    if not isinstance(value, str) or "{" not in value:
        return value
    from jinja2 import TemplateError

    try:
        return environment().from_string(value).render()
    except TemplateError as error:
        raise ConfigError(f"{where} cannot be rendered ({error}); fix it") from None


class _RenderedSettings(Mapping[str, Any]):
    """A target's settings, each rendered when read: a setting nobody reads (the host of a warehouse that
    ``dbt show`` connects to itself) needs no environment variable set."""

    def __init__(self, raw: Mapping[str, Any], environment: Callable[[], jinja2.Environment], where: Path) -> None:
        self._raw = dict(raw)
        self._environment = environment
        self._where = where

    def __getitem__(self, key: str) -> Any:
        return _render(self._raw[key], self._environment, self._where)

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def find_profiles_dir(project_dir: Path, explicit: Path | None = None) -> Path:
    """The directory dbt reads profiles.yml from, by dbt's precedence: ``explicit`` (--profiles-dir), else
    ``$DBT_PROFILES_DIR``, else the project directory when it holds profiles.yml, else ``~/.dbt``."""
    configured = explicit or os.environ.get(PROFILES_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    if (project_dir / PROFILES_FILE).is_file():
        return project_dir.resolve()
    return Path.home() / ".dbt"


def dbt_flags(project_dir: Path, profiles_dir: Path | None = None, dbt_vars: str | None = None) -> DbtFlags:
    """What every dbt run for ``project_dir`` carries: the profiles directory ``find_profiles_dir`` finds and the
    ``--vars`` (a YAML mapping; UsageError when it is not one)."""
    if dbt_vars is not None:
        parsed = load_yaml_text(dbt_vars, "--vars", UsageError)
        if not isinstance(parsed, dict):
            raise UsageError(f"--vars {dbt_vars!r} is not a YAML mapping; pass e.g. --vars '{{name: value}}'")
    found = find_profiles_dir(project_dir, profiles_dir)
    from_env = f"${PROFILES_DIR_ENV}" if os.environ.get(PROFILES_DIR_ENV) else None
    named_by = "--profiles-dir" if profiles_dir else from_env
    if named_by and not found.is_dir():
        raise ConfigError(f"{named_by} names {found}, which is not a directory; dbt reads profiles.yml from there")
    return DbtFlags(found, dbt_vars)


def resolve_target(project_dir: Path, explicit: str | None = None, flags: DbtFlags = DBT_DEFAULTS) -> Target:
    """The target ``explicit`` (--target) names, else the profile's ``target:``, from the profiles.yml dbt reads
    (``find_profiles_dir``, with ``flags.profiles_dir`` as --profiles-dir).

    As dbt does, the target name is rendered first and then only that target's settings (each when read), so an
    unset ``env_var`` of another target, or of a setting dmesh-dbt does not read, is no error.
    """
    profile_name = read_dbt_project(project_dir).profile_name()
    path = find_profiles_dir(project_dir, flags.profiles_dir) / PROFILES_FILE
    profiles = _load_mapping(path)
    if profiles is None:
        raise ConfigError(
            f"no profiles.yml at {path}; pass --profiles-dir, set {PROFILES_DIR_ENV}, or put it in the project "
            "or in ~/.dbt (as dbt looks for it)"
        )
    profile = profiles.get(profile_name)
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise ConfigError(f"profile {profile_name!r} is not in {path} (with outputs); add it or fix dbt_project.yml")
    environment = _renderer(_cli_vars(flags))
    name = explicit or str(_render(profile.get("target", "default"), environment, path))
    outputs = profile["outputs"]
    if name not in outputs or not isinstance(outputs[name], dict):
        known = ", ".join(sorted(outputs)) or "none"
        raise ConfigError(f"target {name!r} is not in profile {profile_name!r} (targets: {known}); use --target")
    settings = _RenderedSettings(outputs[name], environment, path)
    adapter = str(settings.get("type", ""))
    return Target(name, adapter, settings, profile_name, _duckdb_path(project_dir, adapter, settings), flags)


def _cli_vars(flags: DbtFlags) -> Mapping[str, Any]:
    parsed = load_yaml_text(flags.vars, "--vars", UsageError) if flags.vars else None
    return parsed if isinstance(parsed, dict) else {}


def _duckdb_path(project_dir: Path, adapter: str, settings: Mapping[str, Any]) -> Path | None:
    if adapter != "duckdb":
        return None
    path = Path(str(settings.get("path") or ":memory:"))
    # dbt-duckdb opens a relative path from dbt's working directory, which dmesh-dbt sets to the project.
    return path if path.is_absolute() else (project_dir / path).resolve()


# ------------------------------------------------------------------------------------------- the target path


def target_dir(project_dir: Path) -> Path:
    """Where dbt writes the project's artifacts, as dbt resolves it: ``$DBT_TARGET_PATH``, else ``target-path:``
    in dbt_project.yml (rendered, so an ``env_var`` there works), else ``target``; a relative path is relative to
    the project (dbt joins it to the project root, not to where it runs)."""
    configured = os.environ.get(TARGET_PATH_ENV) or _configured_target_path(project_dir) or DEFAULT_TARGET_PATH
    return project_dir / Path(configured).expanduser()  # an absolute path stays itself


def _configured_target_path(project_dir: Path) -> str | None:
    path = project_dir / DBT_PROJECT_FILE
    try:
        document = _load_mapping(path)
    except ConfigError:
        return None  # an unreadable dbt_project.yml: dbt says why when it runs; its default until then
    configured = (document or {}).get("target-path")
    if not isinstance(configured, str) or not configured.strip():
        return None
    return str(_render(configured, _renderer(), path)).strip() or None


def manifest_path(project_dir: Path) -> Path:
    """``manifest.json`` in the project's target path (``target_dir``)."""
    return target_dir(project_dir) / "manifest.json"


def run_results_path(project_dir: Path) -> Path:
    """``run_results.json`` (the last dbt run's results) in the project's target path."""
    return target_dir(project_dir) / "run_results.json"


def catalog_path(project_dir: Path) -> Path:
    """``catalog.json`` (what ``dbt docs generate`` read from the warehouse) in the project's target path."""
    return target_dir(project_dir) / "catalog.json"


def private_target(project_dir: Path, name: str) -> Path:
    """A directory inside the target path where one of our dbt runs writes its artifacts (given to dbt as
    ``--target-path``), so that run never replaces the manifest or run results of the user's last build.
    Absolute: dbt would read a relative one from the project, its working directory, not from ours."""
    return target_dir(project_dir.resolve()) / name


def shown(project_dir: Path, path: Path) -> str:
    """``path`` as a message shows it: relative to the project when it is inside it."""
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------------------------- the manifest


def ensure_manifest(
    project_dir: Path,
    announce: Callable[[str], None] | None = None,
    compiled: bool = False,
    flags: DbtFlags = DBT_DEFAULTS,
    target: str | None = None,
) -> Path:
    """The manifest (``manifest_path``), after running ``dbt parse`` (with ``compiled``: ``compile_manifest``), with the
    user's ``flags`` and ``target``, if it is missing, older than a project file, or was parsed by us with other
    ``--vars`` or ``--target`` than these (vars and targets can enable, disable and rename models).

    ``announce`` hears, before dbt runs, why it must: one line naming the missing manifest or the newer file.
    """
    if not (project_dir / DBT_PROJECT_FILE).is_file():
        raise UsageError(f"{project_dir} is not a dbt project (no dbt_project.yml); pass --project-dir")
    wanted = _parse_stamp(flags, target)
    reason = manifest_staleness(project_dir)
    if reason is None:
        recorded = _recorded_stamp(project_dir)
        # A manifest dbt wrote (a build) is trusted as today when no --vars or --target asks for another one.
        if recorded == wanted or (recorded is None and wanted == _parse_stamp(DBT_DEFAULTS, None)):
            return manifest_path(project_dir)
        reason = f"the last parse had other --vars or --target than {json.dumps(wanted, sort_keys=True)}"
    saved = _usable_parse_state(project_dir, compiled)
    if announce is not None:
        command = "dbt compile" if compiled else "dbt parse"
        announce(f"running `{command}` first: {reason} ({saved})")
    if compiled:
        _compile(project_dir, flags, target)
    else:
        # dbt parses partially by default (0.74x the time of a full parse after a one-line edit, bench/parse.py,
        # 204 models; the same nodes after a deletion), unless the project's `flags: {partial_parse: false}` or
        # $DBT_PARTIAL_PARSE turn it off: no flag here overrides theirs. --write-json does override a
        # `write_json: false`, since the manifest is what we read.
        chosen = ("--target", target) if target else ()
        run_dbt(project_dir.resolve(), "parse", WRITE_JSON, "--quiet", *chosen, flags=flags)
    record_parse(project_dir, flags, target)
    return manifest_path(project_dir)


def record_parse(project_dir: Path, flags: DbtFlags = DBT_DEFAULTS, target: str | None = None) -> None:
    """Note the ``--vars`` and ``--target`` of the dbt run that just wrote the manifest (``ensure_manifest``
    parses again when a later command asks for others)."""
    write_atomically(parse_stamp_path(project_dir), json.dumps(_parse_stamp(flags, target), sort_keys=True) + "\n")


#: dmesh-dbt reads the manifest dbt writes, so it asks for it even when the project's flags say `write_json: false`.
WRITE_JSON = "--write-json"

#: dbt's saved parse state, beside the manifest; partial parsing starts from it.
PARTIAL_PARSE_STATE = "partial_parse.msgpack"


def _usable_parse_state(project_dir: Path, compiled: bool) -> str:
    """Drop dbt's saved parse states when a file they describe is gone, and say how dbt will parse.

    Partial parsing is safe otherwise: dbt itself re-parses in full when the dbt version, --vars, the target,
    the profile or the environment variables the project reads differ from the saved state's (docs.getdbt.com,
    reference/parsing). It once served a stale manifest after a file deletion (shared/facts.md), hence the check.
    """
    states = [target_dir(project_dir) / PARTIAL_PARSE_STATE, compile_parse_state(project_dir)]
    if not any(state.is_file() for state in states):
        return "no saved parse state: parsing in full"
    gone = vanished_source(project_dir)
    if gone is not None:
        for state in states:
            state.unlink(missing_ok=True)  # without the state, dbt parses in full (and saves anew)
        return f"{gone} is gone: parsing in full"
    if not (_seed_compile_state(project_dir) if compiled else states[0].is_file()):
        return "no saved parse state: parsing in full"
    return "partial parsing from dbt's saved state"


def vanished_source(project_dir: Path) -> str | None:
    """A project file the last manifest was built from that no longer exists (deleted or renamed), if any."""
    try:
        document = loads_json(read_bounded(manifest_path(project_dir), max_json_bytes()))
        project_name = document["metadata"]["project_name"]
        nodes = [*document["nodes"].values(), *document["sources"].values(), *document["macros"].values()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, DmeshError):
        return None  # no manifest to compare with: dbt parses in full anyway when its state does not match
    for node in nodes:
        if node.get("package_name") != project_name:
            continue
        for recorded in (node.get("original_file_path"), node.get("patch_path")):
            relative = str(recorded).split("://", 1)[-1] if recorded else None
            if relative and not (project_dir / relative).is_file():
                return relative
    return None


def manifest_staleness(project_dir: Path) -> str | None:
    """Why the manifest (``manifest_path``) does not describe the project as it is (missing, or older than the
    file it names), or None when it does."""
    manifest = manifest_path(project_dir)
    if not manifest.is_file():
        return f"{shown(project_dir, manifest)} does not exist"
    changed_at, changed = newest_source(project_dir)
    if changed is None or changed_at <= manifest.stat().st_mtime:
        return None
    return f"{shown(project_dir, changed)} is newer than {shown(project_dir, manifest)}"


#: What ``compile_manifest`` compiles: models and snapshots. Not the hooks: compiling on-run-start runs the dmesh
#: package's masking-policy assertion, which would stop check before it reports the same problems as findings.
COMPILE_SELECTION = "resource_type:model resource_type:snapshot"
#: Where ``compile_manifest`` lets dbt write, inside the target path (``private_target``): compile writes
#: run_results.json too, and the last build's results must stay what publish reads.
COMPILE_TARGET = "dmesh-compile"


def compile_parse_state(project_dir: Path) -> Path:
    """The saved parse state of ``compile_manifest``'s runs, in their own target path."""
    return private_target(project_dir, COMPILE_TARGET) / PARTIAL_PARSE_STATE


def _seed_compile_state(project_dir: Path) -> bool:
    """Start the compile's partial parse from the newest saved state: its own, or the last dbt run's in target/
    (a build's), copied over when newer. False when there is neither."""
    import shutil  # here: only a compile copies parse state; a check of a current manifest never does

    build, own = target_dir(project_dir) / PARTIAL_PARSE_STATE, compile_parse_state(project_dir)
    if build.is_file() and (not own.is_file() or build.stat().st_mtime > own.stat().st_mtime):
        own.parent.mkdir(parents=True, exist_ok=True)
        partial = own.with_name(f".{own.name}.tmp")
        shutil.copy2(build, partial)
        os.replace(partial, own)  # one rename: dbt reads the old state or the new, never half of one
    return own.is_file()


def compile_manifest(project_dir: Path, flags: DbtFlags = DBT_DEFAULTS, target: str | None = None) -> Path:
    """``dbt compile`` the models and snapshots, so the manifest carries the compiled SQL column lineage reads,
    and move its manifest to ``manifest_path``. On DuckDB it needs no server; elsewhere the target's.
    Parses partially from dbt's saved state, unless a file the state describes is gone (``_usable_parse_state``)."""
    _usable_parse_state(project_dir, compiled=True)
    return _compile(project_dir, flags, target)


def _compile(project_dir: Path, flags: DbtFlags, target: str | None) -> Path:
    project_dir = project_dir.resolve()
    chosen = ("--target", target) if target else ()
    try:
        run_dbt(
            project_dir,
            "compile",
            WRITE_JSON,  # partial parsing is dbt's default; the project's own flags may turn it off
            "--quiet",
            "--no-populate-cache",
            "--select",
            COMPILE_SELECTION,
            "--target-path",
            str(private_target(project_dir, COMPILE_TARGET)),
            *chosen,
            flags=flags,
        )
    except DbtError as error:
        # Compiling opens the target's connection: name a connection problem's cause and fix, as sampling does.
        from dmesh_dbt.warehouse import explain_failure  # its patterns compile at import: only a failure needs them

        resolved = resolve_target(project_dir, target, flags)
        raise explain_failure(str(error), resolved.name, resolved.type) or error from None
    manifest = manifest_path(project_dir)
    # One rename: readers see the old manifest or the new one.
    os.replace(private_target(project_dir, COMPILE_TARGET) / "manifest.json", manifest)
    return manifest


def parse_stamp_path(project_dir: Path) -> Path:
    """What dmesh-dbt's last ``dbt parse`` was given, beside the manifest it wrote."""
    return target_dir(project_dir) / "dmesh_parse.json"


def _parse_stamp(flags: DbtFlags, target: str | None) -> dict[str, str | None]:
    return {"vars": flags.vars, "target": target}


def _recorded_stamp(project_dir: Path) -> dict[str, str | None] | None:
    """The stamp of dmesh-dbt's last parse; None when dbt (a build, say) wrote the manifest since, or never we."""
    stamp, manifest = parse_stamp_path(project_dir), manifest_path(project_dir)
    if not stamp.is_file() or stamp.stat().st_mtime < manifest.stat().st_mtime:
        return None
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def newest_source_mtime(project_dir: Path) -> float:
    """The modification time of the newest file dbt parses: its project files and its resource paths."""
    return newest_source(project_dir)[0]


def newest_source(project_dir: Path) -> tuple[float, Path | None]:
    """The newest file dbt parses (its project files and its resource paths) and its modification time."""
    newest: tuple[float, Path | None] = (0.0, None)
    for name in _PROJECT_FILES:
        path = project_dir / name
        if path.is_file():
            newest = max(newest, (path.stat().st_mtime, path), key=_mtime)
    for directory in _resource_paths(project_dir):
        newest = max(newest, _newest_in(directory), key=_mtime)
    return newest


def _mtime(entry: tuple[float, Path | None]) -> float:
    return entry[0]


def _resource_paths(project_dir: Path) -> tuple[Path, ...]:
    """The directories dbt_project.yml points dbt at; dbt's defaults when it cannot be read (dbt will say why)."""
    try:
        return read_dbt_project(project_dir).resource_paths
    except (ConfigError, UsageError, OSError):
        return tuple(project_dir / name for names in _RESOURCE_PATH_DEFAULTS.values() for name in names)


def _newest_in(directory: Path) -> tuple[float, Path | None]:
    newest: tuple[float, Path | None] = (0.0, None)
    stack = [directory]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
                continue
            modified = entry.stat().st_mtime
            if modified > newest[0]:
                newest = (modified, Path(entry.path))
    return newest


def consumes_products(project_dir: Path) -> bool:
    """Whether ``dmesh-dbt consume`` wrote any source into the project (a check only then records what it reads)."""
    return any((project_dir / CONSUMED_SOURCES).glob("*.yml"))

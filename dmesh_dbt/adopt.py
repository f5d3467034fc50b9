"""``dmesh-dbt adopt``: turn an existing dbt project into a mesh domain, in place and by minimal edits.

Part of scaffolding (it shares init's validation of names and owners): writes dmesh.yml, adds the `dmesh` package
and the on-run-start hook (and with ``--group`` a dbt group in ``_groups.yml``), and on each model the ``--public``
selector picks adds ``access: public`` (and ``group:``), an enforced contract, the publish post-hook, every
column's ``data_type`` from the warehouse catalog (``dbt docs generate``) and, fail-closed, ``meta: {pii: <class>}``
for each column whose name looks like PII, with the evidence in a comment. Every edit of a user's file is found
with ruamel.yaml's line marks and applied as inserted lines (``files.insert_lines``), so nothing the user wrote
moves; a second run changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dmesh_dbt.artifacts import Model, Project, load_manifest
from dmesh_dbt.errors import ArtifactError, ConfigError, UsageError
from dmesh_dbt.files import (
    guess_indentation,
    insert_lines,
    loads_json,
    max_json_bytes,
    read_bounded,
    read_text_bounded,
    round_trip_yaml,
    sequence_end,
    unified_diff,
    write_atomically,
)
from dmesh_dbt.identifiers import NameKind, is_valid
from dmesh_dbt.pii import PiiClass
from dmesh_dbt.project import (
    DBT_PROJECT_FILE,
    DMESH_FILE,
    WRITE_JSON,
    catalog_path,
    manifest_path,
    placeholder_owner,
    policy_sections,
    read_dbt_project,
    record_parse,
)
from dmesh_dbt.properties import ColumnEdit, NodeEntry, yaml_scalar
from dmesh_dbt.scaffold import validate_domain_name, validate_owner
from dmesh_dbt.scan.detect import Suspect
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags, dbt_package_dir, run_dbt

ON_RUN_START = '"{{ dmesh.on_run_start() }}"'
PUBLISH_HOOK = '"{{ dmesh.publish_masked() }}"'
_PACKAGE_ENTRY = "- local: \"{{{{ env_var('DMESH_PACKAGE_DIR', '{}') }}}}\""


@dataclass(frozen=True)
class AdoptOptions:
    project_dir: Path
    public: str | None = None  # a dbt selector of the models to make public; None: those already public
    owner: str | None = None
    target: str | None = None
    flags: DbtFlags = DBT_DEFAULTS
    group: str | None = None  # a dbt group to define and put the public models in; None: no group


@dataclass(frozen=True)
class FileChange:
    """One file adopt writes: its text before ("" for a new file) and after."""

    path: Path
    before: str
    after: str

    def diff(self, project_dir: Path) -> str:
        return unified_diff(self.path.relative_to(project_dir).as_posix(), self.before, self.after)


@dataclass(frozen=True)
class AdoptPlan:
    """What adopt would write, on which models, and what it could not settle (for the readiness report)."""

    domain: str
    changes: tuple[FileChange, ...]
    public_models: tuple[str, ...]
    blockers: tuple[str, ...]
    classified: tuple[Classified, ...] = ()  # the PII classes the changes write, with their evidence
    typed: tuple[Typed, ...] = ()  # the data types the changes write, from the warehouse


@dataclass(frozen=True)
class Classified:
    """A column of a public model that adopt classifies, fail-closed, and why (counts and patterns, no values)."""

    model: str
    column: str
    pii_class: str
    evidence: str
    confidence: float


@dataclass(frozen=True)
class Typed:
    """A column of a public model whose ``data_type`` adopt fills from the warehouse catalog."""

    model: str
    column: str
    data_type: str


@dataclass
class _Edits:
    """Edits collected for one file: insertions at line indexes of its current text, and what blocks."""

    text: str
    insertions: list[tuple[int, list[str]]] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def result(self) -> str:
        return insert_lines(self.text, self.insertions) if self.insertions else self.text


# ----------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Adoptable:
    """What adopt reads from dbt: the compiled project, the models to make public and the warehouse's types."""

    project: Project
    public_ids: frozenset[str]
    types: Mapping[str, Mapping[str, str]]  # unique id -> column -> type (catalog.json in the target path)


def read_adoptable(options: AdoptOptions) -> Adoptable:
    """Run ``dbt ls`` (with ``--public``) and ``dbt docs generate`` (which compiles the project and reads the
    warehouse's catalog) with the user's flags, and read what they wrote."""
    project_dir = options.project_dir.resolve()
    if not (project_dir / DBT_PROJECT_FILE).is_file():
        raise UsageError(f"{project_dir} is not a dbt project (no dbt_project.yml); pass --project-dir")
    chosen = _selected(project_dir, options) if options.public else None
    types = _catalog_types(project_dir, options)
    record_parse(project_dir, options.flags, options.target)
    project = load_manifest(manifest_path(project_dir))
    own = {m.unique_id for m in project.own_models}
    public = chosen if chosen is not None else {m.unique_id for m in project.public_models}
    return Adoptable(project, frozenset(public & own), types)


def plan_adoption(options: AdoptOptions, adoptable: Adoptable, suspects: Sequence[Suspect]) -> AdoptPlan:
    """Everything adopt would change, from what dbt read (``adoptable``) and scan suspects; nothing written."""
    project_dir = options.project_dir.resolve()
    dbt_project = read_dbt_project(project_dir)
    domain = dbt_project.name or project_dir.name
    validate_domain_name(domain)
    if options.owner is not None:
        validate_owner(options.owner)
    if options.group is not None and not is_valid(NameKind.PRODUCT, options.group):
        raise UsageError(f"invalid --group {options.group!r}: use letters, digits and underscores, not starting "
                         "with a digit (a dbt group name)")  # fmt: skip
    blockers: list[str] = []
    changes: list[FileChange] = []
    changes.extend(_dmesh_file(project_dir, domain, options.owner, blockers))
    changes.extend(_package_entry(project_dir, blockers))
    changes.extend(_run_start_hook(project_dir, blockers))
    models = [m for m in adoptable.project.own_models if m.unique_id in adoptable.public_ids]
    if not models:
        blockers.append("no public model: pass --public SELECTOR (e.g. --public customers) to choose the products")
    if options.group is not None and models:
        owner = options.owner or policy_sections(project_dir).owner or placeholder_owner(domain)
        changes.extend(_group_entry(project_dir, adoptable.project, (options.group, owner), models[0], blockers))
    classes = _classes(s for s in suspects if isinstance(s.pii_class, PiiClass))
    for suspect in suspects:
        if not isinstance(suspect.pii_class, PiiClass) and suspect.node_id in adoptable.public_ids:
            blockers.append(f"{suspect.column} of {suspect.node_id.split('.')[-1]} looks like {suspect.pii_class}, "
                            "which may not be stored at all (PCI DSS): drop it from the model")  # fmt: skip
    config = _public_config(options.group)
    changes.extend(_model_properties(project_dir, models, (adoptable.types, classes, config), blockers))
    written = tuple(c for c in changes if c.before != c.after)
    classified, typed = _filled(project_dir, models, written, classes)
    return AdoptPlan(domain, written, tuple(m.name for m in models), tuple(blockers), classified, typed)


def _classes(suspects: Iterable[Suspect]) -> dict[str, dict[str, Suspect]]:
    """unique id -> lower-cased column -> the suspect to write as its class."""
    found: dict[str, dict[str, Suspect]] = {}
    for suspect in suspects:
        found.setdefault(suspect.node_id, {})[suspect.column.lower()] = suspect
    return found


def _filled(
    project_dir: Path,
    models: Sequence[Model],
    changes: Sequence[FileChange],
    classes: Mapping[str, Mapping[str, Suspect]],
) -> tuple[tuple[Classified, ...], tuple[Typed, ...]]:
    """The classes and types the changes add to each public model's columns, read back from the edited YAML
    (before against after), so the list is what the files say, not what adopt meant to write."""
    by_path = {c.path: c for c in changes}
    classified: list[Classified] = []
    typed: list[Typed] = []
    for model in models:
        change = by_path.get(_properties_path(project_dir, model))
        if change is None:
            continue
        before = _columns_of(change.before, change.path, model.name)
        for name, column in _columns_of(change.after, change.path, model.name).items():
            old = before.get(name, {})
            if column.get("data_type") is not None and old.get("data_type") is None:
                typed.append(Typed(model.name, str(column["name"]), str(column["data_type"])))
            suspect = classes.get(model.unique_id, {}).get(name)
            if suspect is not None and _pii_of(column) is not None and _pii_of(old) is None:
                classified.append(Classified(model.name, str(column["name"]), str(_pii_of(column)),
                                             suspect.evidence, round(suspect.confidence, 2)))  # fmt: skip
    return tuple(classified), tuple(typed)


def _columns_of(text: str, path: Path, model: str) -> dict[str, Mapping[str, Any]]:
    """Lower-cased column name -> its mapping, of ``model``'s entry in a properties file's text."""
    document = _load(text, path) if text else None
    entries = document.get("models") if isinstance(document, Mapping) else None
    entry = next((e for e in entries or () if isinstance(e, Mapping) and e.get("name") == model), {})
    columns = entry.get("columns") or ()
    return {str(c["name"]).lower(): c for c in columns if isinstance(c, Mapping) and c.get("name") is not None}


def _properties_path(project_dir: Path, model: Model) -> Path:
    """The YAML adopt edits for ``model``: the file dbt recorded for it, else a new ``_<model>.yml`` beside it."""
    if model.patch_path:
        return project_dir / model.declared_in
    return (project_dir / model.original_file_path).with_name(f"_{model.name}.yml")


def adoption_json(plan: AdoptPlan, project_dir: Path, blockers: Sequence[str], dry_run: bool) -> str:
    """``adopt --format json``: one document (its shape is documented in docs/adopt.md)."""
    root = project_dir.resolve()
    files: list[dict[str, Any]] = []
    for change in plan.changes:
        status = "created" if not change.before else "updated"
        entry = {"path": change.path.relative_to(root).as_posix(), "status": status}
        if dry_run:
            entry["diff"] = change.diff(root)
        files.append(entry)
    document = {
        "domain": plan.domain,
        "dry_run": dry_run,
        "public_models": list(plan.public_models),
        "files": files,
        "classified": [
            {
                "model": c.model,
                "column": c.column,
                "class": c.pii_class,
                "evidence": c.evidence,
                "confidence": c.confidence,
            }
            for c in plan.classified
        ],
        "types": [{"model": t.model, "column": t.column, "data_type": t.data_type} for t in plan.typed],
        "blockers": list(blockers),
        "ready": not blockers,
    }
    return json.dumps(document, indent=2)


def apply_adoption(plan: AdoptPlan, options: AdoptOptions) -> None:
    """Write the plan's files atomically; install the `dmesh` package when the plan added it."""
    for change in plan.changes:
        write_atomically(change.path, change.after)
    if any(c.path.name in ("packages.yml", "dependencies.yml") for c in plan.changes):
        run_dbt(options.project_dir.resolve(), "deps", "--quiet", flags=options.flags)


# --------------------------------------------------------------------------------------- project-level files


def _dmesh_file(project_dir: Path, domain: str, owner: str | None, blockers: list[str]) -> list[FileChange]:
    path = project_dir / DMESH_FILE
    if path.exists():
        return []
    if owner is None:
        owner = placeholder_owner(domain)
        blockers.append(f"owner is the placeholder {owner}: set `owner:` in dmesh.yml (or pass --owner) to publish")
    text = (
        "# The domain descriptor read by dmesh-dbt (check, publish, consume); written by `dmesh-dbt adopt`.\n"
        f"domain: {domain}\nowner: {owner}\n"
        f"description: {json.dumps(f'Data products of the {domain} domain.')}\n"
        "# Policy overrides (rule id -> error | warning | off) and audited waivers; see `dmesh-dbt check --help`.\n"
        "policy: {}\nwaivers: []\n"
    )
    return [FileChange(path, "", text)]


def _package_entry(project_dir: Path, blockers: list[str]) -> list[FileChange]:
    """The `dmesh` package in packages.yml (or dependencies.yml when only that exists)."""
    path = project_dir / "packages.yml"
    if not path.exists() and (project_dir / "dependencies.yml").exists():
        path = project_dir / "dependencies.yml"
    entry = _PACKAGE_ENTRY.format(dbt_package_dir())
    if not path.exists():
        return [FileChange(path, "", f"packages:\n  {entry}\n")]
    edits = _Edits(read_text_bounded(path, ConfigError))
    document = _load(edits.text, path)
    packages = document.get("packages") if isinstance(document, CommentedMap) else None
    if isinstance(packages, CommentedSeq) and any("dmesh" in json.dumps(p, default=str) for p in packages):
        return []
    if isinstance(packages, CommentedSeq) and packages and not packages.fa.flow_style():
        line = packages.lc.item(0)[0]
        dash = edits.lines[line].index("-")
        edits.insertions.append((line, [" " * dash + entry]))
    elif packages is None and isinstance(document, CommentedMap) and "packages" not in document:
        edits.insertions.append((len(edits.lines), ["packages:", f"  {entry}"]))
    else:
        blockers.append(f"{path.name}: add the dmesh package by hand: `{entry}` under `packages:`")
    return [FileChange(path, edits.text, edits.result())]


def _run_start_hook(project_dir: Path, blockers: list[str]) -> list[FileChange]:
    path = project_dir / DBT_PROJECT_FILE
    edits = _Edits(read_text_bounded(path, ConfigError))
    document = _load(edits.text, path)
    hooks = document.get("on-run-start")
    if "dmesh.on_run_start" in json.dumps(hooks, default=str):
        return []
    if hooks is None and "on-run-start" not in document:
        edits.insertions.append((len(edits.lines), [
            "", "# dmesh: check PII meta, install the masking key and create the published schema before each run.",
            "on-run-start:", f"  - {ON_RUN_START}",
        ]))  # fmt: skip
    elif isinstance(hooks, CommentedSeq) and hooks and not hooks.fa.flow_style():
        line = hooks.lc.item(0)[0]
        edits.insertions.append((line, [" " * edits.lines[line].index("-") + f"- {ON_RUN_START}"]))
    else:
        blockers.append(f"{DBT_PROJECT_FILE}: add {ON_RUN_START} to `on-run-start:` by hand")
    return [FileChange(path, edits.text, edits.result())]


def _group_entry(
    project_dir: Path, project: Project, group: tuple[str, str], first: Model, blockers: list[str]
) -> list[FileChange]:
    """The dbt ``group:`` the public models join, in ``_groups.yml`` of the model folder of the first of them
    (created, or appended to), unless the project defines it already."""
    name, owner = group
    if project.group(name) is not None:
        return []
    path = project_dir / Path(first.original_file_path).parts[0] / "_groups.yml"
    entry = [f"- name: {name}", "  owner:", f"    email: {yaml_scalar(owner)}"]
    if not path.exists():
        lines = ["version: 2", "", "groups:", *("  " + line for line in entry)]
        return [FileChange(path, "", "\n".join(lines) + "\n")]
    edits = _Edits(read_text_bounded(path, ConfigError))
    document = _load(edits.text, path)
    groups = document.get("groups") if isinstance(document, CommentedMap) else None
    if isinstance(groups, CommentedSeq) and any(isinstance(g, Mapping) and g.get("name") == name for g in groups):
        return []
    if isinstance(groups, CommentedSeq) and groups and not groups.fa.flow_style():
        first_line = groups.lc.item(0)[0]
        dash = edits.lines[first_line].index("-")
        edits.insertions.append((sequence_end(edits.lines, first_line, dash), [" " * dash + line for line in entry]))
    elif isinstance(document, CommentedMap) and "groups" not in document:
        edits.insertions.append((len(edits.lines), ["groups:", *("  " + line for line in entry)]))
    else:
        blockers.append(f"{path.name}: add the group {name} (owner {owner}) under `groups:` by hand")
    return [FileChange(path, edits.text, edits.result())]


# ------------------------------------------------------------------------------------------- public models


def _selected(project_dir: Path, options: AdoptOptions) -> set[str]:
    """Unique ids of the models ``dbt ls --select`` picks with the ``--public`` selector."""
    chosen = ("--target", options.target) if options.target else ()
    listed = run_dbt(
        project_dir, "ls", "--select", str(options.public), "--resource-type", "model", "--output", "json",
        "--output-keys", "unique_id", "--quiet", *chosen, flags=options.flags,
    )  # fmt: skip
    ids = set()
    for line in listed.stdout.splitlines():
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict) and "unique_id" in document:
            ids.add(str(document["unique_id"]))
    if not ids:
        raise UsageError(f"--public {options.public!r} selects no model of this project; check the selector")
    return ids


def _catalog_types(project_dir: Path, options: AdoptOptions) -> dict[str, dict[str, str]]:
    """unique id -> column -> type, as the warehouse has them (``dbt docs generate``'s catalog.json)."""
    chosen = ("--target", options.target) if options.target else ()
    run_dbt(project_dir, "docs", "generate", WRITE_JSON, "--quiet", *chosen, flags=options.flags)
    path = catalog_path(project_dir)
    try:
        document = loads_json(read_bounded(path, max_json_bytes()))
        nodes = document.get("nodes") or {}
        return {
            str(uid): {str(c["name"]): str(c["type"]).lower() for c in (node.get("columns") or {}).values()}
            for uid, node in nodes.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ArtifactError(f"{path} is not a readable dbt catalog ({error}); run `dbt docs generate` again") from None


def _model_properties(
    project_dir: Path,
    models: Sequence[Model],
    found: tuple[Mapping[str, Mapping[str, str]], Mapping[str, Mapping[str, Suspect]], Mapping[str, str]],
    blockers: list[str],
) -> list[FileChange]:
    """The properties YAML of each public model with its config, types and PII classes added; one change a file.
    ``found``: the warehouse's types and the suspects by unique id, and the config lines a public model needs."""
    catalog, classes, config = found
    edits_by_file: dict[Path, _Edits] = {}
    new_files: dict[Path, list[str]] = {}
    for model in models:
        types = catalog.get(model.unique_id)
        if types is None:
            blockers.append(f"{model.name} is not in the warehouse: run `dbt build`, then adopt again for its types")
            types = {}
        path = _properties_path(project_dir, model)
        if model.patch_path:
            if path not in edits_by_file:
                edits_by_file[path] = _Edits(read_text_bounded(path, ConfigError))
            suspected = classes.get(model.unique_id, {})
            _edit_model_entry(edits_by_file[path], path, (model.name, config), (types, suspected), blockers)
        else:
            entry = _new_entry(model.name, config, types, classes.get(model.unique_id, {}))
            new_files.setdefault(path, ["version: 2", "", "models:"]).extend(entry)
    changes = [FileChange(p, e.text, e.result()) for p, e in edits_by_file.items()]
    changes.extend(FileChange(p, "", "\n".join(lines) + "\n") for p, lines in new_files.items() if not p.exists())
    return changes


def _new_entry(
    name: str, config: Mapping[str, str], types: Mapping[str, str], suspected: Mapping[str, Suspect]
) -> list[str]:
    lines = [f"  - name: {name}", *_config_lines(4, 2, config, {})]
    if types:
        lines.append("    columns:")
        for column, data_type in types.items():
            lines.extend(_new_column(4, 2, column, data_type, suspected))
    return lines


def _public_config(group: str | None) -> dict[str, str]:
    """Config key -> the line a public model needs (``group:`` only with ``--group``)."""
    wanted = {
        "access": "access: public",
        "contract": "contract: {enforced: true}",
        "post_hook": f"post_hook: [{PUBLISH_HOOK}]",
    }
    if group is not None:
        wanted["group"] = f"group: {group}"
    return wanted


def _config_lines(indent: int, step: int, wanted: Mapping[str, str], existing: Mapping[str, Any]) -> list[str]:
    """The config lines of ``wanted`` whose keys ``existing`` lacks, at ``indent`` (under `config:` when
    ``existing`` is empty, so the block starts with `config:`)."""
    if not existing:
        return [" " * indent + "config:", *(" " * (indent + step) + line for line in wanted.values())]
    return [
        " " * indent + line
        for key, line in wanted.items()
        if key not in existing and key.replace("_", "-") not in existing
    ]


def _new_column(
    indent: int, step: int, name: str, data_type: str | None, suspected: Mapping[str, Suspect]
) -> list[str]:
    lines = [" " * indent + f"- name: {yaml_scalar(name)}"]
    if data_type:
        lines.append(" " * (indent + step) + f"data_type: {data_type}")
    lines.extend(_pii_lines(indent + step, suspected.get(name.lower()), {}))
    return lines


def _pii_lines(indent: int, suspect: Suspect | None, column: Mapping[str, Any]) -> list[str]:
    """``meta: {pii: <class>}`` for a suspect (by name, sampled values or lineage) that has no class yet:
    fail-closed, a suspect is classified (so masked) until a reviewer says otherwise; the evidence in a comment."""
    if suspect is None or _pii_of(column) is not None:
        return []
    edit = ColumnEdit(NodeEntry("models", ""), suspect.column, str(suspect.pii_class), _evidence(suspect))
    return [edit.meta_line(indent)]


def _evidence(suspect: Suspect) -> str:
    confidence = f" ({suspect.confidence:.2f})" if suspect.name_source != "lineage" else ""
    return f"dmesh adopt: {suspect.evidence}{confidence}; masked until a reviewer sets {{pii: none, pii_reason: ...}}"


def _pii_of(column: Mapping[str, Any]) -> object:
    meta = column.get("meta")
    config = column.get("config")
    config_meta = config.get("meta") if isinstance(config, Mapping) else None
    for source in (meta, config_meta):
        if isinstance(source, Mapping) and source.get("pii") is not None:
            return source.get("pii")
    return None


def _edit_model_entry(
    edits: _Edits,
    path: Path,
    model: tuple[str, Mapping[str, str]],
    found: tuple[Mapping[str, str], Mapping[str, Suspect]],
    blockers: list[str],
) -> None:
    (name, wanted), (types, suspected) = model, found
    document = _load(edits.text, path)
    entries = document.get("models") if isinstance(document, CommentedMap) else None
    entry = next((e for e in entries or () if isinstance(e, CommentedMap) and e.get("name") == name), None)
    if entry is None:
        blockers.append(f"{path.name}: no entry for model {name}; add its config by hand")
        return
    step = guess_indentation(edits.text)[0]
    indent = entry.lc.col
    after_name = entry.lc.key("name")[0] + 1
    config = entry.get("config")
    if config is None:
        edits.insertions.append((after_name, _config_lines(indent, step, wanted, {})))
    elif isinstance(config, CommentedMap) and not config.fa.flow_style() and config:
        edits.insertions.append((entry.lc.key("config")[0] + 1, _config_lines(config.lc.col, step, wanted, config)))
        if "group" in wanted and config.get("group") not in (None, wanted["group"].removeprefix("group: ")):
            blockers.append(f"{path.name}: model {name} is in group {config['group']}, not the --group given; "
                            "change its `group:` or leave out --group")  # fmt: skip
    else:
        blockers.append(f"{path.name}: model {name} has a flow-style `config:`; add access, contract, post_hook")
    _edit_columns(edits, path, entry, (types, suspected), blockers, (indent, step, after_name))


def _edit_columns(
    edits: _Edits,
    path: Path,
    entry: CommentedMap,
    found: tuple[Mapping[str, str], Mapping[str, Suspect]],
    blockers: list[str],
    where: tuple[int, int, int],
) -> None:
    indent, step, after_name = where
    types, suspected = found
    columns = entry.get("columns")
    if columns is None:
        if types:
            lines = [" " * indent + "columns:"]
            for column, data_type in types.items():
                lines.extend(_new_column(indent + step, step, column, data_type, suspected))
            edits.insertions.append((after_name, lines))
        return
    if not isinstance(columns, CommentedSeq) or columns.fa.flow_style() or not columns:
        blockers.append(f"{path.name}: `columns:` of {entry.get('name')} is not a block list; add types by hand")
        return
    documented = {str(c.get("name")).lower() for c in columns if isinstance(c, CommentedMap)}
    for column in columns:
        if isinstance(column, CommentedMap) and column.get("name") is not None:
            _edit_column(edits, column, found, blockers, path)
    first = columns.lc.item(0)[0]
    dash = edits.lines[first].index("-")
    missing = [(c, t) for c, t in types.items() if c.lower() not in documented]
    if missing:
        lines = [line for c, t in missing for line in _new_column(dash, 2, c, t, suspected)]
        edits.insertions.append((sequence_end(edits.lines, first, dash), lines))


def _edit_column(
    edits: _Edits,
    column: CommentedMap,
    found: tuple[Mapping[str, str], Mapping[str, Suspect]],
    blockers: list[str],
    path: Path,
) -> None:
    types, suspected = found
    name = str(column["name"])
    indent = column.lc.col
    added: list[str] = []
    data_type = next((t for c, t in types.items() if c.lower() == name.lower()), None)
    if column.get("data_type") is None and data_type is not None:
        added.append(" " * indent + f"data_type: {data_type}")
    pii = _pii_lines(indent, suspected.get(name.lower()), column)
    meta = column.get("meta")
    if pii and meta is None:
        added.extend(pii)
    elif pii and isinstance(meta, CommentedMap) and meta and not meta.fa.flow_style():
        line = pii[0].strip().removeprefix("meta: {pii: ")
        pii_class, comment = line.split("}", 1)
        edits.insertions.append((column.lc.key("meta")[0] + 1, [" " * meta.lc.col + f"pii: {pii_class}{comment}"]))
    elif pii:
        blockers.append(f"{path.name}: column {name} looks like PII; add `pii: <class>` to its meta by hand")
    if added:
        edits.insertions.append((column.lc.key("name")[0] + 1, added))


def _load(text: str, path: Path) -> Any:
    try:
        return round_trip_yaml().load(text)
    except Exception as error:  # ruamel raises many unrelated types for a broken file
        raise ConfigError(f"{path} is not valid YAML ({error.__class__.__name__}: {error}); fix it") from None

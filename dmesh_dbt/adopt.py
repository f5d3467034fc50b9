"""``dmesh-dbt adopt``: turn an existing dbt project into a mesh domain, in place and by minimal edits.

Part of scaffolding (it shares init's validation of names and owners): writes dmesh.yml, adds the `dmesh` package
and the on-run-start hook (and with ``--group`` a dbt group in ``_groups.yml``), and on each model the ``--public``
selector picks adds ``access: public`` (and ``group:``), an enforced contract, the publish post-hook, every
column's ``data_type`` from the warehouse catalog (``dbt docs generate``) and, fail-closed, ``meta: {pii: <class>}``
for each column whose name looks like PII, with the evidence in a comment. Every edit of a user's file goes
through ``properties.PropertiesEdit``, the one YAML editing path ``scan --write`` uses too: found with ruamel.yaml's
line marks, applied as inserted lines (or items inside a one-line flow mapping's braces), parsed again and checked
before it is written, so nothing the user wrote moves; a second run changes nothing. What still blocks ``check``
afterwards is readiness.py's to say, not adopt's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dmesh_dbt.artifacts import Model, Project, load_catalog, load_manifest
from dmesh_dbt.errors import ConfigError, UsageError
from dmesh_dbt.files import read_text_bounded, unified_diff, write_atomically
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
    private_target,
    read_dbt_project,
    record_parse,
)
from dmesh_dbt.properties import (
    ColumnEdit,
    ColumnFill,
    NodeEntry,
    PropertiesEdit,
    add_list_item,
    configure_node,
    fill_columns,
    pii_of,
    yaml_scalar,
)
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
    blockers: tuple[str, ...]  # what adopt could not edit itself; readiness.py says what else blocks `check`
    owner: str | None = None  # the owner dmesh.yml names once the plan is written
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
    changes.extend(_dmesh_file(project_dir, domain, options.owner))
    changes.extend(_package_entry(project_dir, blockers))
    changes.extend(_run_start_hook(project_dir, blockers))
    models = [m for m in adoptable.project.own_models if m.unique_id in adoptable.public_ids]
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
    written_owner = policy_sections(project_dir).owner if (project_dir / DMESH_FILE).exists() else None
    owner = written_owner or options.owner or placeholder_owner(domain)
    models_named = tuple(m.name for m in models)
    return AdoptPlan(domain, written, models_named, tuple(blockers), owner, classified, typed)


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
            if suspect is not None and pii_of(column) is not None and pii_of(old) is None:
                classified.append(Classified(model.name, str(column["name"]), str(pii_of(column)),
                                             suspect.evidence, round(suspect.confidence, 2)))  # fmt: skip
    return tuple(classified), tuple(typed)


def _columns_of(text: str, path: Path, model: str) -> dict[str, Mapping[str, Any]]:
    """Lower-cased column name -> its mapping, of ``model``'s entry in a properties file's text."""
    document = PropertiesEdit(path, text).document
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


def _dmesh_file(project_dir: Path, domain: str, owner: str | None) -> list[FileChange]:
    path = project_dir / DMESH_FILE
    if path.exists():
        return []
    owner = owner or placeholder_owner(domain)  # readiness.py names it as what blocks publishing
    text = (
        "# The domain descriptor read by dmesh-dbt (check, publish, consume); written by `dmesh-dbt adopt`.\n"
        f"domain: {domain}\nowner: {owner}\n"
        f"description: {json.dumps(f'Data products of the {domain} domain.')}\n"
        "# Policy overrides (rule id -> error | warning | off) and audited waivers; see `dmesh-dbt check --help`.\n"
        "policy: {}\nwaivers: []\n"
    )
    return [FileChange(path, "", text)]


def _package_entry(project_dir: Path, blockers: list[str]) -> list[FileChange]:
    """The `dmesh` package in packages.yml (or dependencies.yml when only that exists), listed first."""
    path = project_dir / "packages.yml"
    if not path.exists() and (project_dir / "dependencies.yml").exists():
        path = project_dir / "dependencies.yml"
    entry = _PACKAGE_ENTRY.format(dbt_package_dir())
    edit = _editing(path)
    packages = edit.document.get("packages") if isinstance(edit.document, Mapping) else None
    if "dmesh" in json.dumps(packages, default=str):
        return []
    reason = add_list_item(edit, "packages", [entry], first=True)
    if reason:
        blockers.append(f"{reason}: add the dmesh package by hand: `{entry}` under `packages:`")
    return _change(edit, blockers)


def _run_start_hook(project_dir: Path, blockers: list[str]) -> list[FileChange]:
    edit = _editing(project_dir / DBT_PROJECT_FILE)
    hooks = edit.document.get("on-run-start") if isinstance(edit.document, Mapping) else None
    if "dmesh.on_run_start" in json.dumps(hooks, default=str):
        return []
    why = "# dmesh: check PII meta, install the masking key and create the published schema before each run."
    if add_list_item(edit, "on-run-start", [f"- {ON_RUN_START}"], first=True, lead=["", why]):
        blockers.append(f"{DBT_PROJECT_FILE}: add {ON_RUN_START} to `on-run-start:` by hand")
    return _change(edit, blockers)


def _group_entry(
    project_dir: Path, project: Project, group: tuple[str, str], first: Model, blockers: list[str]
) -> list[FileChange]:
    """The dbt ``group:`` the public models join, in ``_groups.yml`` of the model folder of the first of them
    (created, or appended to), unless the project defines it already."""
    name, owner = group
    if project.group(name) is not None:
        return []
    edit = _editing(project_dir / Path(first.original_file_path).parts[0] / "_groups.yml", "version: 2\n")
    groups = edit.document.get("groups") if isinstance(edit.document, Mapping) else None
    if isinstance(groups, Sequence) and any(isinstance(g, Mapping) and g.get("name") == name for g in groups):
        return []
    entry = [f"- name: {name}", "  owner:", f"    email: {yaml_scalar(owner)}"]
    if add_list_item(edit, "groups", entry, lead=() if edit.path.exists() else [""]):
        blockers.append(f"{edit.path.name}: add the group {name} (owner {owner}) under `groups:` by hand")
    return _change(edit, blockers)


def _editing(path: Path, skeleton: str = "") -> PropertiesEdit:
    """An edit of the file at ``path``, or of ``skeleton`` when it does not exist yet (then created)."""
    return PropertiesEdit(path, read_text_bounded(path, ConfigError) if path.exists() else skeleton)


def _change(edit: PropertiesEdit, blockers: list[str]) -> list[FileChange]:
    """The file change of ``edit``, once its result parses again with every planned class in place; else none,
    and the reasons go to ``blockers`` (fail closed: a file is written whole or not at all)."""
    if not edit.insertions and not edit.inline:
        return []
    problems = edit.verify()
    if problems:
        blockers.extend(problems)
        return []
    before = edit.text if edit.path.exists() else ""
    return [FileChange(edit.path, before, edit.result())]


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


#: Where adopt's ``dbt docs generate`` writes, inside the target path (``private_target``): it writes
#: run_results.json too, and the last build's results must stay what publish reads.
DOCS_TARGET = "dmesh-docs"


def _catalog_types(project_dir: Path, options: AdoptOptions) -> dict[str, dict[str, str]]:
    """unique id -> column -> type, as the warehouse has them (``dbt docs generate``'s catalog.json).

    dbt writes in its own target path; the manifest and the catalog then move to the project's, where adopt's
    scan (columns no YAML lists) and its closing check (DM015 drift) read them, as after the user's own
    ``dbt docs generate``, while run_results.json stays the last build's."""
    chosen = ("--target", options.target) if options.target else ()
    private = private_target(project_dir, DOCS_TARGET)
    run_dbt(
        project_dir, "docs", "generate", WRITE_JSON, "--quiet", "--target-path", str(private), *chosen,
        flags=options.flags,
    )  # fmt: skip
    catalog, manifest = catalog_path(project_dir), manifest_path(project_dir)
    types = load_catalog(private / catalog.name).types
    for artifact in (manifest, catalog):
        os.replace(private / artifact.name, artifact)  # one rename: readers see the old file or the new one
    return {node: {name: data_type.lower() for name, data_type in columns.items()} for node, columns in types.items()}


def _model_properties(
    project_dir: Path,
    models: Sequence[Model],
    found: tuple[Mapping[str, Mapping[str, str]], Mapping[str, Mapping[str, Suspect]], Mapping[str, str]],
    blockers: list[str],
) -> list[FileChange]:
    """The properties YAML of each public model with its config, types and PII classes added; one change a file.
    ``found``: the warehouse's types and the suspects by unique id, and the config a public model needs."""
    catalog, classes, config = found
    by_path: dict[Path, list[Model]] = {}
    for model in models:
        by_path.setdefault(_properties_path(project_dir, model), []).append(model)
    changes: list[FileChange] = []
    for path, documented in by_path.items():
        # A model dbt has no properties for gets a new file beside its SQL, listing it; then the same edits.
        skeleton = "version: 2\n\nmodels:\n" + "".join(f"  - name: {yaml_scalar(m.name)}\n" for m in documented)
        edit = _editing(path, skeleton)
        for model in documented:
            types = catalog.get(model.unique_id)
            if types is None:
                blockers.append(
                    f"{model.name} is not in the warehouse: run `dbt build`, then adopt again for its types"
                )
            _edit_model(edit, model, config, _fills(types or {}, classes.get(model.unique_id, {})), blockers)
        changes.extend(_change(edit, blockers))
    return changes


def _fills(types: Mapping[str, str], suspected: Mapping[str, Suspect]) -> list[ColumnFill]:
    """Each column the warehouse has, with its type and (a suspect) its class; then suspects it does not list."""
    fills = [ColumnFill(name, data_type, _pii(suspected.get(name.lower()))) for name, data_type in types.items()]
    known = {name.lower() for name in types}
    fills.extend(ColumnFill(s.column, None, _pii(s)) for key, s in suspected.items() if key not in known)
    return fills


def _pii(suspect: Suspect | None) -> ColumnEdit | None:
    """``meta: {pii: <class>}`` for a suspect (by name, sampled values or lineage): fail-closed, a suspect is
    classified (so masked) until a reviewer says otherwise; the evidence in a comment."""
    if suspect is None:
        return None
    return ColumnEdit(NodeEntry("models", ""), suspect.column, str(suspect.pii_class), _evidence(suspect))


def _edit_model(
    edit: PropertiesEdit, model: Model, wanted: Mapping[str, str], fills: Sequence[ColumnFill], blockers: list[str]
) -> None:
    entry = NodeEntry("models", model.name)
    node = edit.find(entry)
    group = wanted.get("group", "").removeprefix("group: ")
    config = node.get("config") if node is not None else None
    if group and isinstance(config, Mapping) and config.get("group") not in (None, group):
        blockers.append(f"{edit.path.name}: model {model.name} is in group {config['group']}, not the --group given; "
                        "change its `group:` or leave out --group")  # fmt: skip
    reason = configure_node(edit, entry, wanted)
    blockers.extend([reason] if reason else [])
    pii = [replace(f, pii=replace(f.pii, entry=entry)) if f.pii else f for f in fills]
    blockers.extend(fill_columns(edit, entry, pii))


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


def _evidence(suspect: Suspect) -> str:
    confidence = f" ({suspect.confidence:.2f})" if suspect.name_source != "lineage" else ""
    return f"dmesh adopt: {suspect.evidence}{confidence}; masked until a reviewer sets {{pii: none, pii_reason: ...}}"

"""``dmesh-dbt adopt``: turn an existing dbt project into a mesh domain, in place and by minimal edits.

Part of scaffolding (it shares init's validation of names and owners): writes dmesh.yml, adds the `dmesh` package
and the on-run-start hook, and on each model the ``--public`` selector picks adds ``access: public``, an enforced
contract, the publish post-hook, every column's ``data_type`` from the warehouse catalog (``dbt docs generate``)
and, fail-closed, ``meta: {pii: <class>}`` for each column whose name looks like PII, with the evidence in a
comment. Every edit of a user's file is found with ruamel.yaml's line marks and applied as inserted lines
(``files.insert_lines``), so nothing the user wrote moves; a second run changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dmesh_dbt.artifacts import Model, load_manifest
from dmesh_dbt.errors import ConfigError, UsageError
from dmesh_dbt.files import (
    guess_indentation,
    insert_lines,
    read_text_bounded,
    round_trip_yaml,
    sequence_end,
    unified_diff,
    write_atomically,
)
from dmesh_dbt.project import (
    DBT_PROJECT_FILE,
    DMESH_FILE,
    ensure_manifest,
    placeholder_owner,
    read_dbt_project,
)
from dmesh_dbt.scaffold import validate_domain_name, validate_owner
from dmesh_dbt.scan.context import ColumnContext, decide
from dmesh_dbt.toolkit import DBT_DEFAULTS, DbtFlags, dbt_package_dir, run_dbt

ON_RUN_START = '"{{ dmesh.on_run_start() }}"'
PUBLISH_HOOK = '"{{ dmesh.publish_masked() }}"'
CATALOG = Path("target") / "catalog.json"
_PACKAGE_ENTRY = "- local: \"{{{{ env_var('DMESH_PACKAGE_DIR', '{}') }}}}\""


@dataclass(frozen=True)
class AdoptOptions:
    project_dir: Path
    public: str | None = None  # a dbt selector of the models to make public; None: those already public
    owner: str | None = None
    target: str | None = None
    flags: DbtFlags = DBT_DEFAULTS


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


def plan_adoption(options: AdoptOptions) -> AdoptPlan:
    """Everything adopt would change, computed from the project and its warehouse catalog; nothing written."""
    project_dir = options.project_dir.resolve()
    dbt_project = read_dbt_project(project_dir)
    domain = dbt_project.name or project_dir.name
    validate_domain_name(domain)
    if options.owner is not None:
        validate_owner(options.owner)
    blockers: list[str] = []
    changes: list[FileChange] = []
    changes.extend(_dmesh_file(project_dir, domain, options.owner, blockers))
    changes.extend(_package_entry(project_dir, blockers))
    changes.extend(_run_start_hook(project_dir, blockers))
    project = load_manifest(ensure_manifest(project_dir, flags=options.flags, target=options.target))
    chosen = _selected(project_dir, options) if options.public else {m.unique_id for m in project.public_models}
    models = [m for m in project.own_models if m.unique_id in chosen]
    if not models:
        blockers.append("no public model: pass --public SELECTOR (e.g. --public customers) to choose the products")
    catalog = _catalog_types(project_dir, options) if models else {}
    changes.extend(_model_properties(project_dir, models, catalog, blockers))
    return AdoptPlan(domain, tuple(c for c in changes if c.before != c.after), tuple(m.name for m in models),
                     tuple(blockers))  # fmt: skip


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
    """unique id -> column -> type, as the warehouse has them (``dbt docs generate``'s target/catalog.json)."""
    chosen = ("--target", options.target) if options.target else ()
    run_dbt(project_dir, "docs", "generate", "--quiet", *chosen, flags=options.flags)
    nodes = json.loads((project_dir / CATALOG).read_text(encoding="utf-8")).get("nodes") or {}
    return {
        uid: {str(c["name"]): str(c["type"]).lower() for c in (node.get("columns") or {}).values()}
        for uid, node in nodes.items()
    }


def _model_properties(
    project_dir: Path, models: Sequence[Model], catalog: Mapping[str, Mapping[str, str]], blockers: list[str]
) -> list[FileChange]:
    """The properties YAML of each public model with its config, types and PII classes added; one change a file."""
    edits_by_file: dict[Path, _Edits] = {}
    new_files: dict[Path, list[str]] = {}
    for model in models:
        types = catalog.get(model.unique_id)
        if types is None:
            blockers.append(f"{model.name} is not in the warehouse: run `dbt build`, then adopt again for its types")
            types = {}
        if model.patch_path:
            path = project_dir / model.declared_in
            if path not in edits_by_file:
                edits_by_file[path] = _Edits(read_text_bounded(path, ConfigError))
            _edit_model_entry(edits_by_file[path], path, model.name, types, blockers)
        else:
            path = (project_dir / model.original_file_path).with_name(f"_{model.name}.yml")
            new_files.setdefault(path, ["version: 2", "", "models:"]).extend(_new_entry(model.name, types))
    changes = [FileChange(p, e.text, e.result()) for p, e in edits_by_file.items()]
    changes.extend(FileChange(p, "", "\n".join(lines) + "\n") for p, lines in new_files.items() if not p.exists())
    return changes


def _new_entry(name: str, types: Mapping[str, str]) -> list[str]:
    lines = [f"  - name: {name}", *_config_lines(4, 2, {})]
    if types:
        lines.append("    columns:")
        for column, data_type in types.items():
            lines.extend(_new_column(4, 2, ColumnContext(column, name, "", data_type, tuple(types))))
    return lines


def _config_lines(indent: int, step: int, existing: Mapping[str, Any]) -> list[str]:
    """The config keys a public model needs that ``existing`` lacks, as lines at ``indent`` (under `config:`
    when ``existing`` is empty, so the block starts with `config:`)."""
    wanted = {
        "access": "access: public",
        "contract": "contract: {enforced: true}",
        "post_hook": f"post_hook: [{PUBLISH_HOOK}]",
    }
    if not existing:
        return [" " * indent + "config:", *(" " * (indent + step) + line for line in wanted.values())]
    return [
        " " * indent + line
        for key, line in wanted.items()
        if key not in existing and key.replace("_", "-") not in existing
    ]


def _new_column(indent: int, step: int, context: ColumnContext) -> list[str]:
    lines = [" " * indent + f"- name: {context.name}"]
    if context.data_type:
        lines.append(" " * (indent + step) + f"data_type: {context.data_type}")
    lines.extend(_pii_lines(indent + step, context, {}))
    return lines


def _pii_lines(indent: int, context: ColumnContext, column: Mapping[str, Any]) -> list[str]:
    """``meta: {pii: <class>}`` when the column looks like PII (the scan's own decision: name, table, description,
    type, siblings) and has no class yet: fail-closed, a suspect is classified (so masked) until a reviewer says
    otherwise."""
    if _pii_of(column) is not None:
        return []
    found = decide(context)
    if found is None:
        return []
    evidence = (
        f"dmesh adopt: {found.source} matches {found.pattern!r} ({found.confidence:.2f}); masked until a reviewer "
        "sets {pii: none, pii_reason: ...}"
    )
    return [" " * indent + f"meta: {{pii: {found.pii_class.value}}}  # {evidence}"]


def _pii_of(column: Mapping[str, Any]) -> object:
    meta = column.get("meta")
    config = column.get("config")
    config_meta = config.get("meta") if isinstance(config, Mapping) else None
    for source in (meta, config_meta):
        if isinstance(source, Mapping) and source.get("pii") is not None:
            return source.get("pii")
    return None


def _edit_model_entry(edits: _Edits, path: Path, name: str, types: Mapping[str, str], blockers: list[str]) -> None:
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
        edits.insertions.append((after_name, _config_lines(indent, step, {})))
    elif isinstance(config, CommentedMap) and not config.fa.flow_style() and config:
        edits.insertions.append((entry.lc.key("config")[0] + 1, _config_lines(config.lc.col, step, config)))
    else:
        blockers.append(f"{path.name}: model {name} has a flow-style `config:`; add access, contract, post_hook")
    _edit_columns(edits, path, entry, types, blockers, (indent, step, after_name))


def _edit_columns(
    edits: _Edits,
    path: Path,
    entry: CommentedMap,
    types: Mapping[str, str],
    blockers: list[str],
    where: tuple[int, int, int],
) -> None:
    indent, step, after_name = where
    table = str(entry.get("name"))
    columns = entry.get("columns")
    if columns is None:
        if types:
            lines = [" " * indent + "columns:"]
            for column, data_type in types.items():
                context = ColumnContext(column, table, "", data_type, tuple(types))
                lines.extend(_new_column(indent + step, step, context))
            edits.insertions.append((after_name, lines))
        return
    if not isinstance(columns, CommentedSeq) or columns.fa.flow_style() or not columns:
        blockers.append(f"{path.name}: `columns:` of {entry.get('name')} is not a block list; add types by hand")
        return
    documented = {str(c.get("name")).lower() for c in columns if isinstance(c, CommentedMap)}
    siblings = tuple(dict.fromkeys([*types, *documented]))
    for column in columns:
        if isinstance(column, CommentedMap) and column.get("name") is not None:
            _edit_column(edits, column, types, blockers, (path, table, siblings))
    first = columns.lc.item(0)[0]
    dash = edits.lines[first].index("-")
    missing = [(c, t) for c, t in types.items() if c.lower() not in documented]
    if missing:
        step = columns[0].lc.col - dash
        lines = [line for c, t in missing for line in _new_column(dash, step, ColumnContext(c, table, "", t, siblings))]
        edits.insertions.append((sequence_end(edits.lines, first, dash), lines))


def _edit_column(
    edits: _Edits,
    column: CommentedMap,
    types: Mapping[str, str],
    blockers: list[str],
    where: tuple[Path, str, tuple[str, ...]],
) -> None:
    path, table, siblings = where
    name = str(column["name"])
    indent = column.lc.col
    added: list[str] = []
    data_type = next((t for c, t in types.items() if c.lower() == name.lower()), None)
    if column.get("data_type") is None and data_type is not None:
        added.append(" " * indent + f"data_type: {data_type}")
    description = str(column.get("description") or "")
    declared_type = column.get("data_type")
    context = ColumnContext(name, table, description, str(declared_type or data_type or "") or None, siblings)
    pii = _pii_lines(indent, context, column)
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

"""``scan --write``: the classification of each suspect added to the YAML file that documents its column.

The file is edited with ruamel.yaml's round-trip mode, so comments, anchors, quoting, flow maps and the order of
keys stay as the user wrote them; only ``meta: {pii: <class>}`` is added. Each file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import dump_round_trip, load_round_trip, read_text_bounded, round_trip_yaml_for
from dmesh_dbt.pii import PiiClass, mesh_policy
from dmesh_dbt.scan.detect import Suspect

#: Folders of a dbt project that hold no YAML of the user's own.
_SKIPPED_DIRS = frozenset({"target", "dbt_packages", "dbt_modules", "logs", "node_modules", ".venv", "venv"})


@dataclass(frozen=True)
class Written:
    path: Path
    node_id: str
    column: str
    pii_class: str


@dataclass(frozen=True)
class Skipped:
    node_id: str
    column: str
    reason: str


@dataclass(frozen=True)
class WriteResult:
    written: tuple[Written, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class _NodeKey:
    """Where a node is documented: ``models``/``seeds``/``snapshots`` by name, or ``sources`` by source and table."""

    section: str
    name: str
    source_name: str | None = None


def _node_key(node_id: str) -> _NodeKey | None:
    kind, _, rest = node_id.partition(".")
    parts = rest.split(".")  # package, name[, version] or package, source, table
    if kind == "source" and len(parts) >= 3:
        return _NodeKey("sources", parts[2], parts[1])
    if kind in ("model", "seed", "snapshot") and len(parts) >= 2:
        return _NodeKey(f"{kind}s", parts[1])
    return None


def write_classifications(project_dir: Path, suspects: Sequence[Suspect]) -> WriteResult:
    """Add ``meta: {pii: <class>}`` for each suspect to the YAML that documents it; one atomic write per file."""
    written: list[Written] = []
    skipped: list[Skipped] = []
    documents = _YamlFiles(project_dir)
    for suspect in suspects:
        reason = _unwritable(suspect)
        key = _node_key(suspect.node_id)
        if reason is None and key is None:
            reason = "not a model, seed or source"
        if reason is not None or key is None:
            skipped.append(Skipped(suspect.node_id, suspect.column, reason or ""))
            continue
        path = documents.classify(key, suspect.column, str(suspect.pii_class))
        if path is None:
            hint = f"document {key.section[:-1]} {key.name!r} in a YAML file under {project_dir}"
            skipped.append(Skipped(suspect.node_id, suspect.column, f"no YAML documents it; {hint}"))
        else:
            written.append(Written(path, suspect.node_id, suspect.column, str(suspect.pii_class)))
    documents.save()
    return WriteResult(tuple(written), tuple(skipped))


def _unwritable(suspect: Suspect) -> str | None:
    if not isinstance(suspect.pii_class, PiiClass):
        return f"{suspect.pii_class} may not be stored at all (PCI DSS); drop the column instead of classifying it"
    if suspect.published:
        return "a published relation is generated from its public model; classify the model's column"
    threshold = mesh_policy().scan.classify
    if suspect.confidence < threshold:
        return (
            f"confidence {suspect.confidence:.2f} is below the mesh policy's `scan.classify` ({threshold:.2f}): "
            f"{'; '.join(suspect.reasons) or suspect.evidence}; review it and classify it by hand"
        )
    return None


class _YamlFiles:
    """The project's YAML files, loaded on first use and saved (atomically) only if changed."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self._loaded: dict[Path, tuple[Any, YAML]] = {}
        self._changed: set[Path] = set()

    def classify(self, key: _NodeKey, column: str, pii_class: str) -> Path | None:
        for path in _yaml_paths(self.project_dir):
            node = _find_node(self._load(path)[0], key)
            if node is not None:
                _set_pii(node, column, pii_class)
                self._changed.add(path)
                return path
        return None

    def _load(self, path: Path) -> tuple[Any, YAML]:
        if path not in self._loaded:
            yaml = round_trip_yaml_for(read_text_bounded(path, ConfigError))
            self._loaded[path] = (load_round_trip(path, yaml), yaml)
        return self._loaded[path]

    def save(self) -> None:
        for path in sorted(self._changed):
            document, yaml = self._loaded[path]
            dump_round_trip(path, document, yaml)


def _yaml_paths(project_dir: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".yml", ".yaml")) and name not in ("dbt_project.yml", "profiles.yml", "packages.yml"):
                yield Path(root) / name


def _find_node(document: Any, key: _NodeKey) -> CommentedMap | None:
    if not isinstance(document, CommentedMap):
        return None
    if key.section == "sources":
        source = _named(document.get("sources"), key.source_name or "")
        return _named(source.get("tables"), key.name) if source is not None else None
    return _named(document.get(key.section), key.name)


def _named(entries: Any, name: str) -> CommentedMap | None:
    if not isinstance(entries, Iterable) or isinstance(entries, (str, bytes)):
        return None
    return next((e for e in entries if isinstance(e, CommentedMap) and str(e.get("name")) == name), None)


def _set_pii(node: CommentedMap, column: str, pii_class: str) -> None:
    columns = node.get("columns")
    if not isinstance(columns, CommentedSeq):
        columns = CommentedSeq()
        node["columns"] = columns
    entry = next(
        (c for c in columns if isinstance(c, CommentedMap) and str(c.get("name", "")).lower() == column.lower()),
        None,
    )
    if entry is None:
        entry = CommentedMap(name=column)
        columns.append(entry)
    config = entry.get("config")
    holder = config if isinstance(config, CommentedMap) and isinstance(config.get("meta"), CommentedMap) else entry
    meta = holder.get("meta")
    if not isinstance(meta, CommentedMap):
        meta = CommentedMap()
        meta.fa.set_flow_style()  # `meta: {pii: email}`, as the template writes it
        holder["meta"] = meta
    meta["pii"] = pii_class

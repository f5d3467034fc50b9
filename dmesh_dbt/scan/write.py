"""``scan --write``: the classification of each suspect added to the properties file dbt reads for its node.

The file is the one dbt recorded (``patch_path`` of a model, seed or snapshot; a source's own YAML), never one
found by searching, so a same-named node of a nested project (``integration_tests/``) or an installed package is
never touched; a model or seed with no properties file gets a new ``_<name>.yml`` beside it. Edits only add lines
(``dmesh_dbt.properties``): ``meta: {pii: <class>}`` with the evidence in a comment. Each file is written
atomically, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dmesh_dbt.artifacts import Model, Project, Seed, Source
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import read_text_bounded, write_atomically
from dmesh_dbt.pii import PiiClass, mesh_policy
from dmesh_dbt.properties import ColumnEdit, NodeEntry, PropertiesEdit, nested_in
from dmesh_dbt.scan.detect import Suspect

#: What the comment beside each written class tells the reviewer.
REVIEW_HINT = "masked until a reviewer sets {pii: none, pii_reason: ...}"


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
class _Home:
    """The properties file of a node (existing or to create) and its entry there."""

    path: Path
    entry: NodeEntry


def write_classifications(
    project_dir: Path, project: Project, suspects: Sequence[Suspect], classify: float | None = None
) -> WriteResult:
    """Add ``meta: {pii: <class>}`` for each suspect to the file dbt reads its node's properties from.

    ``classify``: the confidence a suspect needs to be written (default: the shipped mesh policy's
    ``scan.classify``); the others are skipped for a review by hand.
    """
    threshold = mesh_policy().scan.classify if classify is None else classify
    project_dir = project_dir.resolve()
    homes = _homes(project, project_dir)
    edits: dict[Path, PropertiesEdit] = {}
    planned: list[tuple[Path, Suspect]] = []
    skipped: list[Skipped] = []
    for suspect in suspects:
        home = homes.get(suspect.node_id)
        reason = _unwritable(suspect, threshold) or (home if isinstance(home, str) else None)
        if home is None:
            reason = reason or "not a node of this project's models, seeds, snapshots or sources"
        if reason is not None or not isinstance(home, _Home):
            skipped.append(Skipped(suspect.node_id, suspect.column, reason or ""))
            continue
        edit = edits.get(home.path) or edits.setdefault(home.path, PropertiesEdit(home.path, _text(home.path)))
        reason = edit.classify(ColumnEdit(home.entry, suspect.column, str(suspect.pii_class), _comment(suspect)))
        if reason is None:
            planned.append((home.path, suspect))
        else:
            skipped.append(Skipped(suspect.node_id, suspect.column, reason))
    refused = {path: edit.verify() for path, edit in edits.items()}
    for path, edit in edits.items():
        if edit.planned and not refused[path]:
            write_atomically(path, edit.result())
    written = [Written(p, s.node_id, s.column, str(s.pii_class)) for p, s in planned if not refused[p]]
    skipped.extend(Skipped(s.node_id, s.column, "; ".join(refused[p])) for p, s in planned if refused[p])
    return WriteResult(tuple(written), tuple(skipped))


def _text(path: Path) -> str:
    return read_text_bounded(path, ConfigError) if path.exists() else ""


def _comment(suspect: Suspect) -> str:
    return f"dmesh scan: {suspect.evidence}; {REVIEW_HINT}"


def _unwritable(suspect: Suspect, threshold: float) -> str | None:
    if not isinstance(suspect.pii_class, PiiClass):
        return f"{suspect.pii_class} may not be stored at all (PCI DSS); drop the column instead of classifying it"
    if suspect.published:
        return "a published relation is generated from its public model; classify the model's column"
    if suspect.confidence < threshold:
        return (
            f"confidence {suspect.confidence:.2f} is below the mesh policy's `scan.classify` ({threshold:.2f}): "
            f"{'; '.join(suspect.reasons) or suspect.evidence}; review it and classify it by hand"
        )
    return None


def _homes(project: Project, project_dir: Path) -> dict[str, _Home | str]:
    """unique id -> where its classification goes, or why it may not be written."""
    homes: dict[str, _Home | str] = {}
    for model in (*project.models, *project.snapshots):
        section = "snapshots" if model.unique_id.startswith("snapshot.") else "models"
        homes[model.unique_id] = _node_home(project, project_dir, model, section)
    for seed in project.seeds:
        homes[seed.unique_id] = _node_home(project, project_dir, seed, "seeds")
    for source in project.sources:
        homes[source.unique_id] = _source_home(project, project_dir, source)
    return homes


def _node_home(project: Project, project_dir: Path, node: Model | Seed, section: str) -> _Home | str:
    if node.package_name != project.name:
        return f"{node.name} comes from the installed package {node.package_name}; classify it in that project"
    if isinstance(node, Model) and node.version is not None:
        return f"{node.display_name} is a versioned model; add the class to its `versions:` entry by hand"
    if node.patch_path:
        path = project_dir / node.patch_path.split("://", 1)[-1]
    else:
        path = (project_dir / node.original_file_path).with_name(f"_{node.name}.yml")
    return nested_in(project_dir, path) or _Home(path, NodeEntry(section, node.name))


def _source_home(project: Project, project_dir: Path, source: Source) -> _Home | str:
    if source.package_name != project.name:
        return (
            f"source {source.source_name}.{source.name} comes from the installed package {source.package_name}, "
            f"which --write never edits; declare the class in your own project's YAML with a source override "
            f"(sources: [{{name: {source.source_name}, overrides: {source.package_name}, tables: "
            f"[{{name: {source.name}, columns: [...]}}]}}]), or in the package's own project"
        )
    if not source.original_file_path:
        return f"the manifest does not say which file declares source {source.source_name}.{source.name}"
    path = project_dir / source.original_file_path
    return nested_in(project_dir, path) or _Home(path, NodeEntry("sources", source.name, source.source_name))

"""Breaking-change detection between two manifests of one domain.

Consumers see a domain's public models, so the comparison starts from the old manifest's public models and
asks what a consumer of each would notice in the new one. Keys and nullability are judged from what the
project declares (constraints *or* tests), whatever the adapter enforces, so DuckDB and BigQuery give the
same answer. Types are compared by family after parsing them with sqlglot in the adapter's dialect, so
``INT64``, ``BIGINT`` and ``INTEGER`` are one type (``changes/types.py``). The kinds are in ``changes/kinds.py``,
the version gate and consumer impact in ``changes/gate.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from dmesh_dbt.artifacts import ACCESS_WIDTH, Column, Model, Project
from dmesh_dbt.changes.kinds import (
    ACCEPTED_VALUES_CHANGED,
    ACCESS_NARROWED,
    ACCESS_WIDENED,
    COLUMN_ADDED,
    COLUMN_REMOVED,
    COLUMN_RENAMED,
    CONTRACT_UNENFORCED,
    DEPRECATION_SCHEDULED,
    DEPRECATION_SHORTENED,
    GROUP_CHANGED,
    KEY_REMOVED,
    LATEST_VERSION_MOVED_BACK,
    LATEST_VERSION_MOVED_FORWARD,
    MASKING_WEAKENED,
    MODEL_ADDED,
    MODEL_REMOVED,
    NULLABILITY_LOOSENED,
    PII_UNMARKED,
    TYPE_CHANGED,
    VERSION_ADDED,
    VERSION_REMOVED,
    VERSION_RETIRED,
    Change,
    ChangeKind,
)
from dmesh_dbt.changes.types import normalize_type
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.pii import NOT_PII, STRATEGY_STRENGTH, PiiClass, Strategy, mesh_policy

# ------------------------------------------------------------------------------------------ finding changes


def find_changes(old: Project, new: Project, today: date | None = None) -> tuple[Change, ...]:
    """Every change a consumer of ``old``'s public models would notice in ``new``, breaking or additive."""
    today = today or date.today()
    old_by_name = _versions_by_name(m for m in old.own_models if m.is_public)
    new_by_name = _versions_by_name(new.own_models)
    changes: list[Change] = []
    for name, old_versions in old_by_name.items():
        new_versions = new_by_name.get(name, {})
        if not new_versions:
            changes.extend(_removed_model(m, today) for m in old_versions.values())
            continue
        adapters = (old.adapter_type, new.adapter_type)
        pairs, unpaired_old, unpaired_new = _pair_versions(old_versions, new_versions, *adapters)
        for old_model, new_model in pairs:
            changes.extend(compare_models(old_model, new_model, *adapters))
        changes.extend(_removed_version(m, today) for m in unpaired_old)
        superseded = _latest_model(old_versions)
        for added in (m for m in unpaired_new if m.is_public):
            changes.append(_change(VERSION_ADDED, added, f"{added.display_name} was added"))
            changes.extend(replace(c, in_new_version=True) for c in compare_models(superseded, added, *adapters))
        changes.extend(_latest_version_move(old_versions, new_versions))
    for name, new_versions in new_by_name.items():
        if name not in old_by_name:
            changes.extend(_model_added_or_widened(name, new_versions, old))
    return tuple(changes)


def compare_models(old: Model, new: Model, old_adapter: str = "", new_adapter: str = "") -> list[Change]:
    """The changes between two versions of one public model as consumers see them."""
    if ACCESS_WIDTH[new.access] < ACCESS_WIDTH[old.access]:
        # Consumers lose the model altogether: nothing else about it matters to them.
        return [_change(ACCESS_NARROWED, new, f"{new.display_name} access narrowed from {old.access} to {new.access}")]
    changes = _model_level_changes(old, new)
    changes.extend(_column_changes(old, new, old_adapter, new_adapter))
    changes.extend(_composite_key_changes(old, new))
    return changes


def _model_level_changes(old: Model, new: Model) -> list[Change]:
    changes: list[Change] = []
    if (old.group or None) != (new.group or None):
        changes.append(_change(GROUP_CHANGED, new, f"{new.display_name} moved from group {old.group} to {new.group}"))
    if old.contract_enforced and not new.contract_enforced:
        changes.append(_change(CONTRACT_UNENFORCED, new, f"{new.display_name} no longer enforces its contract"))
    old_date, new_date = old.deprecation_date, new.deprecation_date
    if old_date is not None and new_date is None:
        text = f"{new.display_name} deprecation_date {old_date.date()} was removed"
        changes.append(_change(DEPRECATION_SHORTENED, new, text))
    elif old_date is not None and new_date is not None and new_date < old_date:
        text = f"{new.display_name} deprecation_date moved earlier, {old_date.date()} -> {new_date.date()}"
        changes.append(_change(DEPRECATION_SHORTENED, new, text))
    elif old_date is None and new_date is not None:
        text = f"{new.display_name} is deprecated from {new_date.date()}"
        changes.append(_change(DEPRECATION_SCHEDULED, new, text))
    return changes


def _column_changes(old: Model, new: Model, old_adapter: str, new_adapter: str) -> list[Change]:
    old_columns = {c.name.lower(): c for c in old.columns}
    new_columns = {c.name.lower(): c for c in new.columns}
    removed = [c for c in old.columns if c.name.lower() not in new_columns]
    added = [c for c in new.columns if c.name.lower() not in old_columns]
    renames = _detect_renames(old, new, removed, added, old_adapter, new_adapter)
    changes: list[Change] = []
    for old_column, new_column in renames:
        text = f"{new.display_name}: column {old_column.name} was renamed to {new_column.name}"
        changes.append(_change(COLUMN_RENAMED, new, text, old_column.name))
        changes.extend(_pii_changes(new, old_column, new_column))
    renamed_old = {o.name for o, _ in renames}
    renamed_new = {n.name for _, n in renames}
    for column in removed:
        if column.name not in renamed_old:
            changes.append(
                _change(COLUMN_REMOVED, new, f"{new.display_name}: column {column.name} was removed", column.name)
            )
    for column in added:
        if column.name not in renamed_new:
            changes.append(
                _change(COLUMN_ADDED, new, f"{new.display_name}: column {column.name} was added", column.name)
            )
    for key, before in old_columns.items():
        after = new_columns.get(key)
        if after is not None:
            changes.extend(_same_column_changes(new, before, after, old_adapter, new_adapter))
    return changes


def _detect_renames(
    old: Model, new: Model, removed: list[Column], added: list[Column], old_adapter: str, new_adapter: str
) -> list[tuple[Column, Column]]:
    """Removed/added column pairs at the same position with the same type family: a rename, not two changes."""
    old_positions = {c.name: i for i, c in enumerate(old.columns)}
    new_positions = {c.name: i for i, c in enumerate(new.columns)}
    pairs: list[tuple[Column, Column]] = []
    for old_column in removed:
        for new_column in added:
            same_place = old_positions[old_column.name] == new_positions[new_column.name]
            same_type = _same_type(old_column, new_column, old_adapter, new_adapter)
            same_text = bool(old_column.description) and old_column.description == new_column.description
            if (same_place or same_text) and same_type and new_column not in (n for _, n in pairs):
                pairs.append((old_column, new_column))
                break
    return pairs


def _same_type(old: Column, new: Column, old_adapter: str, new_adapter: str) -> bool:
    if old.data_type is None or new.data_type is None:
        return old.data_type == new.data_type
    old_family = normalize_type(old.data_type, old_adapter)
    new_family = normalize_type(new.data_type, new_adapter)
    if old_adapter != new_adapter:
        # `timestamp` means a zoned instant on BigQuery and a naive one on DuckDB/Postgres: the same column
        # declared `timestamp` for both targets is one type to its users, so zones are ignored across adapters.
        old_family, new_family = _without_zone(old_family), _without_zone(new_family)
    return old_family == new_family


def _without_zone(family: str) -> str:
    return family.replace("timestamp_tz", "timestamp")


def _same_column_changes(model: Model, old: Column, new: Column, old_adapter: str, new_adapter: str) -> list[Change]:
    where = f"{model.display_name}.{new.name}"
    changes: list[Change] = []
    if old.data_type and new.data_type and not _same_type(old, new, old_adapter, new_adapter):
        old_family, new_family = normalize_type(old.data_type, old_adapter), normalize_type(new.data_type, new_adapter)
        text = f"{where} changed type {old.data_type} -> {new.data_type} ({old_family} -> {new_family})"
        changes.append(_change(TYPE_CHANGED, model, text, new.name))
    if old.is_not_null and not new.is_not_null:
        text = f"{where} may now be null (its not_null constraint or test was removed)"
        changes.append(_change(NULLABILITY_LOOSENED, model, text, new.name))
    if old.is_unique and not new.is_unique:
        what = "primary key" if old.constraints.primary_key else "unique key"
        text = f"{where} is no longer a {what} (its constraint or unique test was removed)"
        changes.append(_change(KEY_REMOVED, model, text, new.name))
    if old.accepted_values is not None and old.accepted_values != new.accepted_values:
        changes.append(_change(ACCEPTED_VALUES_CHANGED, model, _accepted_values_text(where, old, new), new.name))
    changes.extend(_pii_changes(model, old, new))
    return changes


def _accepted_values_text(where: str, old: Column, new: Column) -> str:
    if new.accepted_values is None:
        return f"{where} lost its accepted_values test ({', '.join(old.accepted_values or ())})"
    added = sorted(set(new.accepted_values) - set(old.accepted_values or ()))
    dropped = sorted(set(old.accepted_values or ()) - set(new.accepted_values))
    parts = [f"+{', +'.join(added)}" if added else "", f"-{', -'.join(dropped)}" if dropped else ""]
    return f"{where} accepted values changed: {' '.join(p for p in parts if p)}"


def _pii_changes(model: Model, old: Column, new: Column) -> list[Change]:
    old_strategy = effective_strategy(old)
    if old_strategy is None:
        return []
    where = f"{model.display_name}.{new.name}"
    new_strategy = effective_strategy(new)
    if new.meta.get("mask_exception") and not old.meta.get("mask_exception"):
        text = f"{where} is now published unmasked (a mask_exception was added; it was masked with {old_strategy})"
        return [_change(MASKING_WEAKENED, model, text, new.name)]
    if new_strategy is None:
        text = f"{where} lost its PII classification ({old.pii}): it would be published unmasked"
        return [_change(PII_UNMARKED, model, text, new.name)]
    if STRATEGY_STRENGTH[new_strategy] < STRATEGY_STRENGTH[old_strategy]:
        text = f"{where} masking weakened from {old_strategy} to {new_strategy}"
        return [_change(MASKING_WEAKENED, model, text, new.name)]
    return []


def effective_strategy(column: Column) -> Strategy | None:
    """The strategy that masks ``column`` in its published relation; None when it is not (validly) PII."""
    if column.pii is None or column.pii == NOT_PII:
        return None
    try:
        pii_class = PiiClass(column.pii)
    except ValueError:
        return None
    try:
        return mesh_policy().strategy_for(pii_class, column.mask)
    except ConfigError:  # an unknown `mask:` is DM005's finding; here the class default stands
        return mesh_policy().strategy_for(pii_class)


def model_keys(model: Model) -> frozenset[frozenset[str]]:
    """Every key the model declares: unique columns, model-level unique/primary keys, unique combinations."""
    keys = {frozenset({c.name.lower()}) for c in model.columns if c.is_unique}
    for constraint in model.constraints:
        if constraint.type in ("primary_key", "unique") and constraint.columns:
            keys.add(frozenset(c.lower() for c in constraint.columns))
    for test in model.tests:
        if test.name == "unique_combination_of_columns":
            columns = test.kwargs.get("combination_of_columns") or ()
            keys.add(frozenset(str(c).lower() for c in columns))
    return frozenset(k for k in keys if k)


def _composite_key_changes(old: Model, new: Model) -> list[Change]:
    """Removed multi-column keys; single-column keys are reported per column."""
    lost = [k for k in model_keys(old) - model_keys(new) if len(k) > 1]
    return [
        _change(KEY_REMOVED, new, f"{new.display_name}: key ({', '.join(sorted(k))}) was removed")
        for k in sorted(lost, key=sorted)
    ]


# ------------------------------------------------------------------------------------------ versions


def _versions_by_name(models: Iterable[Model]) -> dict[str, dict[str | None, Model]]:
    grouped: dict[str, dict[str | None, Model]] = {}
    for model in models:
        grouped.setdefault(model.name, {})[model.version] = model
    return grouped


def _pair_versions(
    old_versions: dict[str | None, Model],
    new_versions: dict[str | None, Model],
    old_adapter: str,
    new_adapter: str,
) -> tuple[list[tuple[Model, Model]], list[Model], list[Model]]:
    """Match old versions to new ones; an unversioned model that became versioned matches its closest version."""
    pairs = [(old_versions[v], new_versions[v]) for v in old_versions if v in new_versions]
    unpaired_old = [m for v, m in old_versions.items() if v not in new_versions]
    unpaired_new = [m for v, m in new_versions.items() if v not in old_versions]
    if len(unpaired_old) == 1 and unpaired_old[0].version is None and unpaired_new:
        # The model became versioned: the old shape lives on as whichever new version breaks least.
        old_model = unpaired_old[0]
        kept = min(
            unpaired_new,
            key=lambda m: (_breaking_count(old_model, m, old_adapter, new_adapter), version_key(m.version)),
        )
        pairs.append((old_model, kept))
        return pairs, [], [m for m in unpaired_new if m is not kept]
    if len(unpaired_new) == 1 and unpaired_new[0].version is None and unpaired_old:
        # Versioning was dropped: the unversioned model stands for the old latest version.
        latest = max(unpaired_old, key=lambda m: version_key(m.version))
        pairs.append((latest, unpaired_new[0]))
        return pairs, [m for m in unpaired_old if m is not latest], []
    return pairs, unpaired_old, unpaired_new


def _breaking_count(old: Model, new: Model, old_adapter: str, new_adapter: str) -> int:
    return sum(1 for c in compare_models(old, new, old_adapter, new_adapter) if c.breaking)


def version_key(version: str | None) -> tuple[int, float, str]:
    """Sort key for dbt model versions: numeric when they are numbers, else by text; None first."""
    if version is None:
        return (0, 0.0, "")
    try:
        return (1, float(version), version)
    except ValueError:
        return (2, 0.0, version)


def _removed_version(model: Model, today: date, kind: ChangeKind = VERSION_REMOVED) -> Change:
    """Removal is breaking unless the model (version) reached the deprecation date it announced."""
    deprecated = model.deprecation_date
    if deprecated is not None and deprecated.date() <= today:
        text = f"{model.display_name} was retired after its deprecation date {deprecated.date()}"
        return _change(VERSION_RETIRED, model, text)
    when = "before its deprecation date" if deprecated else "without a deprecation date"
    return _change(kind, model, f"public model {model.display_name} was removed {when}")


def _removed_model(model: Model, today: date) -> Change:
    return _removed_version(model, today, MODEL_REMOVED)


def _latest_model(versions: dict[str | None, Model]) -> Model:
    latest = _latest_of(versions)
    return versions.get(latest) or max(versions.values(), key=lambda m: version_key(m.version))


def _latest_version_move(old: dict[str | None, Model], new: dict[str | None, Model]) -> list[Change]:
    old_latest = _latest_of(old)
    new_latest = _latest_of(new)
    if old_latest is None or new_latest is None or old_latest == new_latest:
        return []
    model = next(iter(new.values()))
    if version_key(new_latest) < version_key(old_latest):
        return [
            _change(
                LATEST_VERSION_MOVED_BACK,
                model,
                f"{model.name} latest_version moved back from {old_latest} to {new_latest}",
            )
        ]
    return [
        _change(
            LATEST_VERSION_MOVED_FORWARD, model, f"{model.name} latest_version moved from {old_latest} to {new_latest}"
        )
    ]


def _latest_of(versions: dict[str | None, Model]) -> str | None:
    declared = {m.latest_version for m in versions.values() if m.latest_version is not None}
    if declared:
        return max(declared, key=version_key)
    numbered = [v for v in versions if v is not None]
    return max(numbered, key=version_key) if numbered else None


def _model_added_or_widened(name: str, new_versions: dict[str | None, Model], old: Project) -> list[Change]:
    changes = []
    for model in new_versions.values():
        if not model.is_public:
            continue
        was_there = any(m.name == name and m.version == model.version for m in old.own_models)
        kind = ACCESS_WIDENED if was_there else MODEL_ADDED
        changes.append(_change(kind, model, f"{model.display_name} {'became public' if was_there else 'was added'}"))
    return changes


def _change(kind: ChangeKind, model: Model, description: str, column: str | None = None) -> Change:
    return Change(kind, model.name, model.version, description, column, model.declared_in)

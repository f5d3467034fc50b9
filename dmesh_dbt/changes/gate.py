"""The version gate: a breaking change to a public model passes only as a new model version, a PII leak never;
each failing change names the consumers it hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from dmesh_dbt.artifacts import Project
from dmesh_dbt.changes.kinds import KEPT_VERSION_NOT_DEPRECATED, Change, Comparison, Consumer, Consumers
from dmesh_dbt.report import Finding, Impact, Severity

_NEW_VERSION_FIX = (
    "release it as a new model version: add `versions:` with v{next} carrying the change and keep "
    "v{current} (with a `deprecation_date`) for current consumers"
)


def compare_projects(
    old: Project, new: Project, consumers: Consumers | None = None, today: date | None = None
) -> Comparison:
    """Classify every change from ``old`` to ``new`` and judge the breaking ones through the version gate.

    A breaking change passes only inside a new model version (the superseded version kept, with a
    ``deprecation_date``); PII leaks never pass. Each failing change lists the consumers it hits.
    """
    # Loaded here: a check without a baseline reports through change_finding's types, never compares.
    from dmesh_dbt.changes.detect import find_changes

    changes = find_changes(old, new, today)
    findings = [_judge(change, new, consumers or {}) for change in changes if change.breaking]
    findings.extend(_kept_versions_without_deprecation(changes, new))
    return Comparison(changes, tuple(findings))


def _judge(change: Change, new: Project, consumers: Consumers) -> Finding:
    if change.in_new_version and not change.kind.leak:
        # The version gate's purpose: the change ships as a new version. Reported as a note, naming only the
        # consumers that read that very version: a consumer reads the version it consumed (its source names
        # that relation) until it consumes again, so the versions it reads are untouched.
        return Finding(
            rule_id=change.kind.id,
            severity=Severity.NOTE,
            message=f"{change.description}; passes the version gate as a new version",
            model=change.display_model,
            column=change.column,
            path=change.path,
            impacts=tuple(i for c, i in zip_consumers(change, consumers) if c.version == change.version),
        )
    return Finding(
        rule_id=change.kind.id,
        severity=Severity.ERROR,
        message=f"{change.description}; {_fix_for(change, new)}",
        model=change.display_model,
        column=change.column,
        path=change.path,
        impacts=impacts_of(change, consumers),
    )


def _fix_for(change: Change, new: Project) -> str:
    from dmesh_dbt.changes.detect import version_key  # loaded by compare_projects, the one caller

    if change.kind.fix:
        return change.kind.fix
    versions = [m.version for m in new.own_models if m.name == change.model and m.version is not None]
    current = change.version or (max(versions, key=version_key) if versions else "1")
    try:
        following = str(int(float(max([current, *versions], key=version_key))) + 1)
    except ValueError:
        following = "N"
    return _NEW_VERSION_FIX.format(next=following, current=current)


def _kept_versions_without_deprecation(changes: Sequence[Change], new: Project) -> list[Finding]:
    """A new version that breaks the old shape needs the versions it supersedes to announce their end."""
    from dmesh_dbt.changes.detect import version_key  # loaded by compare_projects, the one caller

    superseding = {c.model: c for c in changes if c.in_new_version and c.breaking and not c.kind.leak}
    findings = []
    for name, change in sorted(superseding.items()):
        newest = change.version
        for model in new.own_models:
            older = model.name == name and version_key(model.version) < version_key(newest)
            if older and model.is_public and model.deprecation_date is None:
                findings.append(
                    Finding(
                        rule_id=KEPT_VERSION_NOT_DEPRECATED.id,
                        severity=Severity.ERROR,
                        message=(
                            f"{model.display_name} is superseded by breaking v{newest} but has no deprecation_date; "
                            f"set `deprecation_date:` on version {model.version} so consumers know when to migrate"
                        ),
                        model=model.display_name,
                        path=model.declared_in,
                    )
                )
    return findings


def impacts_of(change: Change, consumers: Consumers) -> tuple[Impact, ...]:
    """The consumer domains ``change`` hits: those reading its version (or the latest) and its column."""
    return tuple(impact for _, impact in zip_consumers(change, consumers))


def zip_consumers(change: Change, consumers: Consumers) -> list[tuple[Consumer, Impact]]:
    """Each consumer ``change`` hits, with what it hits: the changed column, or all it reads."""
    hits = []
    for consumer in consumers.get(change.model, ()):
        if consumer.version is not None and change.version is not None and consumer.version != change.version:
            continue
        if change.column is None:
            hits.append((consumer, Impact(consumer.domain, consumer.columns)))
            continue
        reads_column = not consumer.columns or change.column.lower() in {c.lower() for c in consumer.columns}
        if reads_column:
            hits.append((consumer, Impact(consumer.domain, (change.column,))))
    return hits


def change_finding(change: Change) -> Finding:
    """A change as a finding for ``diff``: breaking ones are errors unless they ship as a new version."""
    passes = not change.breaking or (change.in_new_version and not change.kind.leak)
    severity = Severity.NOTE if passes else Severity.ERROR
    suffix = " (in a new version)" if change.in_new_version else ""
    return Finding(
        rule_id=change.kind.id,
        severity=severity,
        message=change.description + suffix,
        model=change.display_model,
        column=change.column,
        path=change.path,
    )

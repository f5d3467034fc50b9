"""What a change to a public model can be: each kind's stable id, whether it breaks consumers, and its fix.

A kind carries the fix a failing finding suggests (``fix``; empty when the fix is a new model version, which
``changes.gate`` spells out per model) and its examples: a pair of projects that shows the change and one that
does not (``tests/unit/test_rule_examples.py`` runs them all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dmesh_dbt.artifacts import Access, Model, Project
from dmesh_dbt.examples import KEY, Examples, change, column, model, with_columns
from dmesh_dbt.report import Finding, RuleInfo

#: A change kind's examples: (old, new) project pairs.
ChangeExamples = Examples[tuple[Project, Project]]


@dataclass(frozen=True)
class ChangeKind:
    """A kind of change with a stable id; ``breaking`` kinds fail unless released as a new model version."""

    id: str
    name: str
    breaking: bool
    summary: str
    leak: bool = False  # exposes PII: fails even in a new model version
    #: The fix a failing finding suggests; empty: release the change as a new model version (``changes.gate``).
    fix: str = ""
    examples: ChangeExamples | None = None

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.id, self.name, self.summary)


# The example models: a public `customers` with a tested key, and one in two versions.
_M = model()
_CITY = with_columns(_M, KEY, column("city"))
_V1, _V2 = model(version="1", latest_version="2"), model(version="2", latest_version="2")
_V1_LATEST, _V2_BEHIND = model(version="1", latest_version="1"), model(version="2", latest_version="1")
_EMAIL_HASHED = with_columns(_M, KEY, column("email", meta={"pii": "email", "mask": "hash"}))
_EMAIL_PARTIAL = with_columns(_M, KEY, column("email", meta={"pii": "email", "mask": "partial"}))
_DEPRECATED_2030 = model(deprecation_date=datetime(2030, 1, 1))
_DEPRECATED_2031 = model(deprecation_date=datetime(2031, 1, 1))
_RETIRED_V1 = model(version="1", latest_version="2", deprecation_date=datetime(2020, 1, 1))


def _unchanged(*models: Model) -> tuple[Project, Project]:
    return change(models, models)


MODEL_REMOVED: ChangeKind = ChangeKind(
    "BC001",
    "model-removed",
    True,
    "A public model was removed.",
    fix="restore it, or set a `deprecation_date` and remove it after that date",
    examples=Examples(fails=(change([_M], []),), passes=(_unchanged(_M),)),
)
VERSION_REMOVED: ChangeKind = ChangeKind(
    "BC002",
    "version-removed",
    True,
    "A version of a public model was removed before its deprecation date.",
    fix="keep the version until its `deprecation_date` (set one if it has none)",
    examples=Examples(fails=(change([_V1, _V2], [_V2]),), passes=(change([_RETIRED_V1, _V2], [_V2]),)),
)
COLUMN_REMOVED: ChangeKind = ChangeKind(
    "BC003",
    "column-removed",
    True,
    "A column of a public model was removed.",
    examples=Examples(fails=(change([_CITY], [_M]),), passes=(change([_M], [_CITY]),)),
)
COLUMN_RENAMED: ChangeKind = ChangeKind(
    "BC004",
    "column-renamed",
    True,
    "A column of a public model was renamed.",
    examples=Examples(
        fails=(change([_CITY], [with_columns(_M, KEY, column("town"))]),),
        passes=(change([_CITY], [with_columns(_M, KEY, column("city"), column("town"))]),),
    ),
)
TYPE_CHANGED: ChangeKind = ChangeKind(
    "BC005",
    "type-changed",
    True,
    "A column's data type changed (compared across adapters by type family).",
    examples=Examples(
        fails=(change([_CITY], [with_columns(_M, KEY, column("city", "integer"))]),),
        passes=(change([_CITY], [with_columns(_M, KEY, column("city", "text"))]),),  # one family: string
    ),
)
NULLABILITY_LOOSENED: ChangeKind = ChangeKind(
    "BC006",
    "nullability-loosened",
    True,
    "A column declared not null (constraint or test) may now be null.",
    examples=Examples(
        fails=(change([with_columns(_M, KEY, column("city", tests=("not_null",)))], [_CITY]),),
        passes=(change([_CITY], [with_columns(_M, KEY, column("city", tests=("not_null",)))]),),
    ),
)
KEY_REMOVED: ChangeKind = ChangeKind(
    "BC007",
    "key-removed",
    True,
    "A unique or primary key (constraint or test) was removed.",
    examples=Examples(
        fails=(change([_M], [with_columns(_M, column("customer_id", "integer", tests=("not_null",)))]),),
        passes=(_unchanged(_M),),
    ),
)
ACCEPTED_VALUES_CHANGED: ChangeKind = ChangeKind(
    "BC008",
    "accepted-values-changed",
    True,
    "The accepted values of a column changed.",
    examples=Examples(
        fails=(
            change(
                [with_columns(_M, KEY, column("status", accepted_values=["open", "closed"]))],
                [with_columns(_M, KEY, column("status", accepted_values=["open"]))],
            ),
        ),
        passes=(_unchanged(with_columns(_M, KEY, column("status", accepted_values=["open", "closed"]))),),
    ),
)
ACCESS_NARROWED: ChangeKind = ChangeKind(
    "BC009",
    "access-narrowed",
    True,
    "A public model became protected or private.",
    fix="keep it public; to retire it, set a `deprecation_date` and narrow access after that date",
    examples=Examples(fails=(change([_M], [model(access=Access.PROTECTED)]),), passes=(_unchanged(_M),)),
)
GROUP_CHANGED: ChangeKind = ChangeKind(
    "BC010",
    "group-changed",
    True,
    "A public model moved to another group.",
    examples=Examples(
        fails=(change([model(group="sales")], [model(group="finance")]),),
        passes=(_unchanged(model(group="sales")),),
    ),
)
LATEST_VERSION_MOVED_BACK: ChangeKind = ChangeKind(
    "BC011",
    "latest-version-moved-back",
    True,
    "latest_version points at an older version.",
    fix="keep `latest_version` where it was, or add a newer version instead",
    examples=Examples(
        fails=(change([_V1, _V2], [_V1_LATEST, _V2_BEHIND]),), passes=(change([_V1_LATEST, _V2_BEHIND], [_V1, _V2]),)
    ),
)
DEPRECATION_SHORTENED: ChangeKind = ChangeKind(
    "BC012",
    "deprecation-shortened",
    True,
    "A deprecation_date was moved earlier or removed.",
    fix="keep the announced `deprecation_date` (a later date is fine)",
    examples=Examples(
        fails=(change([_DEPRECATED_2031], [_DEPRECATED_2030]), change([_DEPRECATED_2030], [_M])),
        passes=(change([_DEPRECATED_2030], [_DEPRECATED_2031]),),
    ),
)
CONTRACT_UNENFORCED: ChangeKind = ChangeKind(
    "BC013",
    "contract-unenforced",
    True,
    "A public model no longer enforces its contract.",
    examples=Examples(fails=(change([_M], [model(contract=False)]),), passes=(change([model(contract=False)], [_M]),)),
)
PII_UNMARKED: ChangeKind = ChangeKind(
    "BC020",
    "pii-unmarked",
    True,
    "A PII column lost its classification: it would be published unmasked.",
    leak=True,
    # Locked in the shipped policy, and a leak: neither a waiver nor a new model version lets it through.
    fix="restore `meta: {pii: <class>}` on the column so its published relation masks it (a new model version "
    "does not make a leak acceptable)",
    examples=Examples(
        fails=(change([_EMAIL_HASHED], [with_columns(_M, KEY, column("email"))]),),
        passes=(_unchanged(_EMAIL_HASHED),),
    ),
)
MASKING_WEAKENED: ChangeKind = ChangeKind(
    "BC021",
    "masking-weakened",
    True,
    "A PII column's masking got weaker.",
    leak=True,
    fix="restore the stronger `mask:`, or remove the added `mask_exception` (a new model version does not make a "
    "leak acceptable)",
    examples=Examples(
        fails=(change([_EMAIL_HASHED], [_EMAIL_PARTIAL]),),
        passes=(change([_EMAIL_PARTIAL], [_EMAIL_HASHED]),),
    ),
)

MODEL_ADDED: ChangeKind = ChangeKind(
    "AC001",
    "model-added",
    False,
    "A public model was added.",
    examples=Examples(fails=(change([], [_M]),), passes=(_unchanged(_M),)),
)
VERSION_ADDED: ChangeKind = ChangeKind(
    "AC002",
    "version-added",
    False,
    "A version of a public model was added.",
    examples=Examples(fails=(change([_V1_LATEST], [_V1, _V2]),), passes=(_unchanged(_V1, _V2),)),
)
COLUMN_ADDED: ChangeKind = ChangeKind(
    "AC003",
    "column-added",
    False,
    "A column was added to a public model.",
    examples=Examples(fails=(change([_M], [_CITY]),), passes=(change([_CITY], [_M]),)),
)
DEPRECATION_SCHEDULED: ChangeKind = ChangeKind(
    "AC004",
    "deprecation-scheduled",
    False,
    "A model version got a deprecation_date.",
    examples=Examples(fails=(change([_M], [_DEPRECATED_2030]),), passes=(_unchanged(_DEPRECATED_2030),)),
)
VERSION_RETIRED: ChangeKind = ChangeKind(
    "AC005",
    "version-retired",
    False,
    "A version was removed after its deprecation date.",
    examples=Examples(fails=(change([_RETIRED_V1, _V2], [_V2]),), passes=(change([_V1, _V2], [_V2]),)),
)
ACCESS_WIDENED: ChangeKind = ChangeKind(
    "AC006",
    "access-widened",
    False,
    "A model became public.",
    examples=Examples(fails=(change([model(access=Access.PROTECTED)], [_M]),), passes=(change([], [_M]),)),
)
LATEST_VERSION_MOVED_FORWARD: ChangeKind = ChangeKind(
    "AC007",
    "latest-version-moved-forward",
    False,
    "latest_version points at a newer version.",
    examples=Examples(
        fails=(change([_V1_LATEST, _V2_BEHIND], [_V1, _V2]),), passes=(change([_V1, _V2], [_V1_LATEST, _V2_BEHIND]),)
    ),
)

#: Every change kind, in id order: the ``diff`` legend and the SARIF rules list.
CHANGE_KINDS: tuple[ChangeKind, ...] = tuple(
    sorted(
        (k for k in globals().values() if isinstance(k, ChangeKind)),
        key=lambda k: k.id,
    )
)

#: The version gate's own finding.
KEPT_VERSION_NOT_DEPRECATED = RuleInfo(
    "VG002", "kept-version-not-deprecated", "The version kept for old consumers needs a deprecation_date."
)


@dataclass(frozen=True)
class Change:
    """One classified difference between the old and the new manifest."""

    kind: ChangeKind
    model: str  # model name (all versions share it)
    version: str | None
    description: str  # one line, names the model and column
    column: str | None = None
    path: str | None = None  # file declaring the new (or, when removed, the old) model, project-relative
    in_new_version: bool = False  # found comparing an added version with the one it supersedes

    @property
    def breaking(self) -> bool:
        return self.kind.breaking

    @property
    def display_model(self) -> str:
        return f"{self.model}.v{self.version}" if self.version is not None else self.model


@dataclass(frozen=True)
class Consumer:
    """A domain that reads a product (a public model), at a pinned version or the latest, and which columns."""

    domain: str
    version: str | None = None
    columns: tuple[str, ...] = ()  # empty: every column (``select *``)


#: Product (public model name) -> the domains consuming it; the registry supplies it, tests build it by hand.
Consumers = Mapping[str, Sequence[Consumer]]


@dataclass(frozen=True)
class Comparison:
    """The changes between two manifests, and what the version gate made of the breaking ones."""

    changes: tuple[Change, ...]
    gate_findings: tuple[Finding, ...]  # failing changes, VG002, and notes for changes the gate passes

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)

"""Evidence combined into suspects: which unmarked columns hold PII, of which class, how sure, and why.

A suspect carries counts and rates, never the sampled values themselves: the report of a PII scan must not be
a PII leak of its own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from dmesh_dbt.pii import PiiClass
from dmesh_dbt.scan.names import DetectedClass, NameMatch, match_description, match_name
from dmesh_dbt.scan.values import VALIDATORS, is_precise_latitude, is_precise_longitude, masking_of, parse_date

#: Suspects below this confidence are not reported.
REPORT_THRESHOLD = 0.5
#: Share of sampled values that must pass a class's validator for the values to confirm (or alone suggest) it.
CONFIRMING_RATE = 0.8
#: Below this share, sampled values contradict a name that points at a class with a validator.
CONTRADICTING_RATE = 0.2
#: Fewer non-null sampled values than this say nothing either way.
MIN_VALUES = 5
#: Distinct values below which sampled values alone never suggest a class (cardinality evidence).
MIN_DISTINCT = 3
#: Share of masked values above which a column is masked output, not raw PII.
MASKED_RATE = 0.8

#: How sure a validator alone makes us: checksummed classes are near certain, shapes much less so.
VALUE_CONFIDENCE: dict[PiiClass, float] = {
    PiiClass.CARD_NUMBER: 0.95,
    PiiClass.IBAN: 0.95,
    PiiClass.EMAIL: 0.95,
    PiiClass.IP_ADDRESS: 0.9,
    PiiClass.PHONE: 0.85,
    PiiClass.NATIONAL_ID: 0.85,
    PiiClass.TAX_ID: 0.85,
    PiiClass.GEO: 0.8,
    PiiClass.ROUTING_NUMBER: 0.6,
    PiiClass.DATE_OF_BIRTH: 0.55,
}


@dataclass(frozen=True)
class ColumnRef:
    """One column to scan: where it is, what it is called and documented as, and how it is marked."""

    node_id: str
    relation: str | None
    name: str
    description: str = ""
    data_type: str | None = None
    pii: str | None = None  # the column's ``meta.pii`` as marked, if at all
    public: bool = False
    #: A column of the model's published (masked) relation, which has no node of its own: ``node_id`` is the model's.
    published: bool = False


@dataclass(frozen=True)
class ValueEvidence:
    """What the sampled values of one column showed: counts per class, never the values."""

    sampled: int
    distinct: int
    matches: Mapping[PiiClass, int] = field(default_factory=dict)
    coordinates: int = 0  # values that are precise latitudes or longitudes
    masked: int = 0
    first_of_month: int = 0  # dates on the 1st: what date_year / date_month masking leaves

    def rate(self, pii_class: PiiClass) -> float:
        if not self.sampled:
            return 0.0
        count = self.matches.get(pii_class, 0)
        if pii_class is PiiClass.GEO:
            count = max(count, self.coordinates)
        return count / self.sampled

    @property
    def masked_rate(self) -> float:
        return self.masked / self.sampled if self.sampled else 0.0

    def best_class(self) -> PiiClass | None:
        """The class most values pass, if enough do to suggest it without a name (never GEO on lone numbers).

        A column with fewer than ``MIN_DISTINCT`` distinct values is not a person's data whatever its shape: one
        support address or one test IP repeated on every row is configuration.
        """
        if self.sampled < MIN_VALUES or self.distinct < MIN_DISTINCT:
            return None
        candidates = [(count / self.sampled, cls) for cls, count in self.matches.items()]
        confirmed = [(rate, cls) for rate, cls in candidates if rate >= CONFIRMING_RATE]
        if not confirmed:
            return None
        return max(confirmed, key=lambda item: (item[0], VALUE_CONFIDENCE[item[1]]))[1]


@dataclass(frozen=True)
class Suspect:
    """An unmarked column that looks like PII of ``pii_class``, with the evidence for it."""

    node_id: str
    relation: str | None
    column: str
    pii_class: DetectedClass
    confidence: float
    name_pattern: str | None  # the name/description pattern that matched, if any
    name_source: str | None  # "name", "description" or "lineage" (then name_pattern is the upstream column)
    values: ValueEvidence | None
    public: bool = False
    published: bool = False  # found in the published (masked) relation of ``node_id``, not in the node itself

    @property
    def evidence(self) -> str:
        """One line a reviewer can check: the pattern and the value counts and rates (no values)."""
        parts: list[str] = []
        if self.name_pattern:
            parts.append(f"{self.name_source} '{self.name_pattern}'")
        if self.values is not None and self.values.sampled:
            v = self.values
            if isinstance(self.pii_class, PiiClass) and self.pii_class in VALIDATORS:
                matched = round(v.rate(self.pii_class) * v.sampled)
                parts.append(f"{matched}/{v.sampled} values valid")
            parts.append(f"{v.distinct} distinct")
        return "; ".join(parts)


def value_evidence(values: Sequence[str]) -> ValueEvidence:
    """Run every validator and the masking recogniser over non-null sampled values (as strings)."""
    counts = Counter(v for v in values if v is not None and v.strip() != "")
    sampled = sum(counts.values())
    # Each distinct value is checked once: low-cardinality columns (statuses, flags) cost almost nothing.
    matches: dict[PiiClass, int] = {}
    for pii_class, validator in VALIDATORS.items():
        count = sum(n for v, n in counts.items() if validator(v))
        if count:
            matches[pii_class] = count
    coordinates = sum(n for v, n in counts.items() if is_precise_latitude(v) or is_precise_longitude(v))
    masked = sum(n for v, n in counts.items() if masking_of(v) is not None)
    first_of_month = sum(n for v, n in counts.items() if (d := parse_date(v)) is not None and d.day == 1)
    return ValueEvidence(sampled, len(counts), matches, coordinates, masked, first_of_month)


#: Classes whose values are text: a numeric or boolean column named ``comments`` holds a count, not comments.
_TEXT_CLASSES = frozenset(
    {PiiClass.EMAIL, PiiClass.PERSON_NAME, PiiClass.ADDRESS, PiiClass.FREE_TEXT, PiiClass.IBAN, PiiClass.IP_ADDRESS}
)
_NUMERIC_TYPE = re.compile(r"^(tiny|small|big|huge)?int|^integer|^numeric|^decimal|^float|^double|^real|^number")
_BOOLEAN_TYPE = re.compile(r"^bool")


def type_allows(pii_class: DetectedClass, data_type: str | None) -> bool:
    """Whether a column of ``data_type`` can hold values of ``pii_class`` (unknown types allow everything).

    Integer columns are *not* excluded for card, account, routing or national id numbers: warehouses store
    those as BIGINT all the time.
    """
    kind = (data_type or "").strip().lower()
    if _BOOLEAN_TYPE.match(kind):
        return False
    return not (_NUMERIC_TYPE.match(kind) and pii_class in _TEXT_CLASSES)


def name_signal(column: ColumnRef) -> NameMatch | None:
    """The class the column's name (or, weaker, its description) points at, if its type can hold it."""
    match = match_name(column.name) or match_description(column.description)
    if match is None or not type_allows(match.pii_class, column.data_type):
        return None
    return match


def classify(column: ColumnRef, values: Sequence[str] | None = None) -> Suspect | None:
    """The suspect ``column`` is, from its name and (if sampled) its values; None if it does not look like PII."""
    by_name = name_signal(column)
    evidence = value_evidence(values) if values is not None else None
    if evidence is not None and _is_masked_output(evidence):
        return None  # masked output (hash, redaction, partial): protected, whatever its name says
    pii_class, confidence = _combine(by_name, evidence)
    if pii_class is None or confidence < REPORT_THRESHOLD:
        return None
    named = by_name is not None and by_name.pii_class == pii_class
    return Suspect(
        node_id=column.node_id,
        relation=column.relation,
        column=column.name,
        pii_class=pii_class,
        confidence=round(confidence, 2),
        name_pattern=by_name.pattern if named and by_name else None,
        name_source=by_name.source if named and by_name else None,
        values=evidence,
        public=column.public,
        published=column.published,
    )


def _is_masked_output(evidence: ValueEvidence) -> bool:
    # A handful of values, all masked, is as clear as many mostly masked.
    if evidence.sampled and evidence.masked == evidence.sampled:
        return True
    if evidence.sampled >= MIN_VALUES and evidence.first_of_month == evidence.sampled:
        return True  # dates truncated to their year or month: one real date in thirty falls on the 1st
    return evidence.sampled >= MIN_VALUES and evidence.masked_rate >= MASKED_RATE


def _combine(by_name: NameMatch | None, evidence: ValueEvidence | None) -> tuple[DetectedClass | None, float]:
    by_value = evidence.best_class() if evidence is not None else None
    value_confidence = VALUE_CONFIDENCE[by_value] if by_value is not None else 0.0
    if by_name is None:
        return by_value, value_confidence
    if evidence is None or evidence.sampled < MIN_VALUES:
        return by_name.pii_class, by_name.confidence
    if by_value is not None and by_value == by_name.pii_class:
        return by_name.pii_class, min(0.99, max(by_name.confidence, value_confidence) + 0.05)
    confirmable = isinstance(by_name.pii_class, PiiClass) and by_name.pii_class in VALIDATORS
    if confirmable and evidence.rate(by_name.pii_class) >= CONFIRMING_RATE:  # type: ignore[arg-type]
        return by_name.pii_class, min(0.99, by_name.confidence + 0.05)
    if by_value is not None and value_confidence > by_name.confidence:
        return by_value, value_confidence
    if confirmable and evidence.rate(by_name.pii_class) < CONTRADICTING_RATE:  # type: ignore[arg-type]
        # The name says e.g. card_number but no value passes Luhn: tokens, ids or masked leftovers.
        return by_name.pii_class, by_name.confidence * 0.5
    return by_name.pii_class, by_name.confidence


def is_unmarked(column: ColumnRef) -> bool:
    """No classification in meta: neither a PII class nor a reviewed ``pii: none``."""
    return column.pii is None or str(column.pii).strip() == ""


def find_suspects(
    columns: Iterable[ColumnRef], samples: Mapping[tuple[str, str], Sequence[str]] | None = None
) -> list[Suspect]:
    """Suspects among the unmarked ``columns``; ``samples`` maps (relation, column) to sampled values."""
    suspects: list[Suspect] = []
    for column in columns:
        if not is_unmarked(column):
            continue
        values = samples.get((column.relation, column.name)) if samples is not None and column.relation else None
        suspect = classify(column, values)
        if suspect is not None:
            suspects.append(suspect)
    return sorted(suspects, key=lambda s: (s.published, s.node_id, s.column))

"""Evidence combined into suspects: which unmarked columns hold PII, of which class, how sure, and why.

A suspect carries counts and rates, never the sampled values themselves: the report of a PII scan must not be
a PII leak of its own. Values are evidence, never a silent veto: a column whose name points at a class stays a
suspect whatever its values show; values that fail the class's validator lower its confidence and say so
("name says card_number; 0 of 200 sampled values are Luhn-valid card numbers (test data?)"). Only values that
are recognisably *masked output* (keyed hashes, redactions, partial masks, truncated dates, coarse coordinates)
end a suspicion: the column is protected, whatever its name says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from dmesh_dbt.pii import PiiClass, mesh_policy
from dmesh_dbt.scan.context import CONTACT_CLASSES, ColumnContext, decide
from dmesh_dbt.scan.names import DetectedClass, NameMatch, tokenize
from dmesh_dbt.scan.values import (
    CONFIRMING_ONLY,
    VALIDATED_AS,
    VALIDATORS,
    column_shape,
    could_be_masked,
    could_hold,
    count_passing,
    is_coarse_coordinate,
    is_precise_latitude,
    is_precise_longitude,
    masking_of,
    parse_date,
)

#: How much values that contradict a name lower its confidence (a factor, so a strong name stays above a weak one).
CONTRADICTED = 0.5
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
#: Distinct values per column the validators read, the most frequent first (ties in sample order). Beyond a few
#: hundred, more values move a rate less than sampling 1,000 rows already does, and cost a validator call each.
MAX_DISTINCT = 200

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
    PiiClass.VEHICLE_ID: 0.9,
    PiiClass.USER_AGENT: 0.85,
    PiiClass.ADDRESS: 0.8,
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
    #: The names of the other columns of the same table (context: a city beside a street is part of an address).
    siblings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValueEvidence:
    """What the sampled values of one column showed: counts per class, never the values (in a report).

    ``sampled`` counts the non-null values the validators read: at most ``MAX_DISTINCT`` distinct ones, each as
    often as it was sampled. A validator stops on a column once its values can no longer confirm the class
    (more than 1 - ``CONFIRMING_RATE`` of them failed): such a class is left out of ``matches`` and, if asked for
    (the class a column's name points at), ``count`` finishes it exactly from the values kept in memory.
    """

    sampled: int
    distinct: int
    matches: Mapping[PiiClass, int] = field(default_factory=dict)
    masked: int = 0  # a lower bound once the column cannot be masked output any more
    first_of_month: int = 0  # dates on the 1st: what date_year / date_month masking leaves (counted while all are)
    coarse: int = 0  # numbers with at most one decimal: what geo_coarse masking leaves (counted while all are)
    #: Classes whose validator stopped early, and the counted values to finish them with (memory only).
    stopped: frozenset[PiiClass] = frozenset()
    counted: tuple[tuple[str, int], ...] = field(default=(), repr=False, compare=False)
    _finished: dict[PiiClass, int] = field(default_factory=dict, repr=False, compare=False)

    @cached_property  # writes the instance's __dict__, which a frozen dataclass allows
    def coordinates(self) -> int:
        """Values that are precise latitudes or longitudes: counted when first asked, as only a GEO rate reads
        them (a check of every value of every column with a dot, emails and IPs included, otherwise)."""
        return count_passing(_is_precise_coordinate, self.counted, total=self.sampled)[0]

    def count(self, pii_class: PiiClass) -> int:
        """Sampled values that pass the validator of ``pii_class`` (exact, finished on demand)."""
        if pii_class not in self.stopped:
            return self.matches.get(pii_class, 0)
        if pii_class not in self._finished:
            self._finished[pii_class] = count_passing(VALIDATORS[pii_class], self.counted)[0]
        return self._finished[pii_class]

    def rate(self, pii_class: PiiClass) -> float:
        if not self.sampled:
            return 0.0
        count = self.count(pii_class)
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
    #: Why this class and this confidence, one sentence per piece of evidence (counts, never values).
    reasons: tuple[str, ...] = ()

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


#: Sampled values as the validators take them: one string per sampled value, or each distinct value with the times
#: it was sampled (most frequent first, as ``sampling.count_duckdb`` gives them, saving a count of each list).
Values = Sequence[str] | Mapping[str, int]


def value_evidence(values: Values) -> ValueEvidence:
    """Every validator and the masking recogniser over the non-null sampled values (as strings).

    Cheapest first: each distinct value is checked once (at most ``MAX_DISTINCT``, the most frequent); the
    column's character set and longest value rule a class out for all its values; a validator stops once the values
    cannot confirm its class; recognisers whose verdict needs every value (truncated dates, coarse coordinates)
    stop at the first value that is not one.
    """
    counts = Counter(values)
    for blank in [v for v in counts if v is None or not v or v.isspace()]:  # isspace: no copy, as strip makes
        del counts[blank]
    counted = tuple(counts.most_common(MAX_DISTINCT))
    sampled = sum(n for _, n in counted)
    shape = column_shape([v for v, _ in counted])
    matches: dict[PiiClass, int] = {}
    stopped: set[PiiClass] = set()
    for pii_class, validator in VALIDATORS.items():
        if not could_hold(pii_class, shape):
            continue
        count, complete = count_passing(validator, counted, CONFIRMING_RATE, sampled)
        if not complete:
            stopped.add(pii_class)
        elif count:
            matches[pii_class] = count
    masked = count_passing(_is_masked, counted, MASKED_RATE, sampled)[0] if could_be_masked(shape) else 0
    first_of_month = count_passing(_is_first_of_month, counted, 1.0, sampled)[0]
    coarse = count_passing(is_coarse_coordinate, counted, 1.0, sampled)[0]
    return ValueEvidence(sampled, len(counts), matches, masked, first_of_month, coarse, frozenset(stopped), counted)


def _is_precise_coordinate(value: str) -> bool:
    return is_precise_latitude(value) or is_precise_longitude(value)


def _is_masked(value: str) -> bool:
    return masking_of(value) is not None


def _is_first_of_month(value: str) -> bool:
    parsed = parse_date(value)
    return parsed is not None and parsed.day == 1


def table_name(column: ColumnRef) -> str:
    """The name dbt gives a column's table: ``customers`` for ``model.shop.customers(.v2)``, the table for sources;
    the last part of the warehouse relation when the node id says nothing."""
    kind, _, rest = column.node_id.partition(".")
    parts = rest.split(".")
    if kind == "source" and len(parts) > 2:
        return parts[-1]
    if len(parts) > 1:
        return parts[1]
    return (column.relation or "").rsplit(".", 1)[-1].strip('"`')


def name_signal(column: ColumnRef) -> NameMatch | None:
    """The class the column's name in its context (table, description, type, siblings) points at, if any."""
    context = ColumnContext(column.name, table_name(column), column.description, column.data_type, column.siblings)
    return decide(context)


@dataclass(frozen=True)
class Score:
    """The class the evidence points at, how sure it makes us, and why (one sentence per piece of evidence)."""

    pii_class: DetectedClass | None
    confidence: float
    reasons: tuple[str, ...]


def classify(column: ColumnRef, values: Values | None = None, report: float | None = None) -> Suspect | None:
    """The suspect ``column`` is, from its name and (if sampled) its values; None if it does not look like PII.

    ``report``: the confidence a values-only suspect needs (default: the shipped mesh policy's ``scan.report``).
    """
    by_name = name_signal(column)
    evidence = value_evidence(values) if values is not None else None
    if evidence is not None and masked_output(evidence, by_name):
        return None  # masked output (hash, redaction, partial, truncation): protected, whatever its name says
    score = score_column(by_name, evidence)
    if score.pii_class is None:
        return None
    if by_name is None and score.confidence < (mesh_policy().scan.report if report is None else report):
        return None  # values alone, not sure enough; a name's suspects are always reported
    named = by_name is not None and by_name.pii_class == score.pii_class
    return Suspect(
        node_id=column.node_id,
        relation=column.relation,
        column=column.name,
        pii_class=score.pii_class,
        confidence=round(score.confidence, 2),
        name_pattern=by_name.pattern if named and by_name else None,
        name_source=by_name.source if named and by_name else None,
        values=evidence,
        public=column.public,
        published=column.published,
        reasons=score.reasons,
    )


def masked_output(evidence: ValueEvidence, by_name: NameMatch | None = None) -> str | None:
    """Why the sampled values are the output of a masking strategy, or None if they are not."""
    if not evidence.sampled:
        return None
    if evidence.masked == evidence.sampled:  # a handful of values, all masked, is as clear as many mostly masked
        return f"all {evidence.sampled} sampled values are masked (hash, redaction or partial mask)"
    if evidence.sampled < MIN_VALUES:
        return None
    if evidence.masked_rate >= MASKED_RATE:
        return f"{evidence.masked} of {evidence.sampled} sampled values are masked (hash, redaction or partial mask)"
    if evidence.first_of_month == evidence.sampled:
        # Dates truncated to their year or month: one real date in thirty falls on the 1st.
        return f"all {evidence.sampled} sampled dates fall on the 1st of a month (date_year or date_month masking)"
    if by_name is not None and by_name.pii_class is PiiClass.GEO and evidence.coarse == evidence.sampled:
        return f"all {evidence.sampled} sampled coordinates have at most one decimal (geo_coarse masking)"
    return None


def score_column(by_name: NameMatch | None, evidence: ValueEvidence | None) -> Score:
    """Name and value evidence weighed into one class and confidence, with a reason for each."""
    by_value = evidence.best_class() if evidence is not None else None
    if by_name is None:
        if by_value is None or evidence is None:
            return Score(None, 0.0, ())
        return Score(by_value, VALUE_CONFIDENCE[by_value], ("no name signal", _value_reason(evidence, by_value)))
    said = f"{by_name.source} says {by_name.pii_class} ({by_name.pattern!r})"
    if evidence is None:
        return Score(by_name.pii_class, by_name.confidence, (said, "values not sampled"))
    if evidence.sampled < MIN_VALUES:
        few = f"only {evidence.sampled} non-null sampled values: too few to weigh"
        return Score(by_name.pii_class, by_name.confidence, (said, few))
    named_class = by_name.pii_class
    if not isinstance(named_class, PiiClass) or named_class not in VALIDATORS:
        return _unconfirmable(by_name, said, evidence, by_value)
    return _weighed(by_name, named_class, said, evidence, by_value)


def _unconfirmable(by_name: NameMatch, said: str, evidence: ValueEvidence, by_value: PiiClass | None) -> Score:
    """A name whose class has no validator (names, addresses, free text): values can only point elsewhere."""
    if by_name.pii_class is PiiClass.BUSINESS_CONTACT and by_value in CONTACT_CLASSES:
        # A business's phone holds phone numbers: the values confirm the name, they do not make it a person's.
        confirmed = f"{_value_reason(evidence, by_value)}, as a business's contact details are: the values confirm it"
        confidence = min(0.99, max(by_name.confidence, VALUE_CONFIDENCE[by_value]))
        return Score(by_name.pii_class, confidence, (said, confirmed))
    if by_value is not None and VALUE_CONFIDENCE[by_value] > by_name.confidence:
        return Score(by_value, VALUE_CONFIDENCE[by_value], (said, f"but {_value_reason(evidence, by_value)}"))
    if isinstance(by_name.pii_class, PiiClass) and by_name.pii_class in CONFIRMING_ONLY:
        return _confirmed_only(by_name, by_name.pii_class, said, evidence)
    no_check = f"no validator for {by_name.pii_class}: {evidence.sampled} sampled values neither confirm nor deny it"
    return Score(by_name.pii_class, by_name.confidence, (said, no_check))


#: How much values in a confirming-only format raise a name's confidence (weak evidence: a UUID is any key's shape).
CONFIRMED_ONLY_BONUS = 0.1


def _confirmed_only(by_name: NameMatch, named: PiiClass, said: str, evidence: ValueEvidence) -> Score:
    """A class whose formats can confirm its name but never deny it (device ids): see ``CONFIRMING_ONLY``."""
    check, formats = CONFIRMING_ONLY[named]
    passing = count_passing(check, evidence.counted)[0]
    counted = f"{passing} of {evidence.sampled} sampled values are {formats}"
    if passing >= CONFIRMING_RATE * evidence.sampled:
        confidence = min(0.99, by_name.confidence + CONFIRMED_ONLY_BONUS)
        return Score(named, confidence, (said, f"{counted}: the values confirm it"))
    return Score(named, by_name.confidence, (said, f"{counted}: other formats neither confirm nor deny it"))


def _weighed(
    by_name: NameMatch, named: PiiClass, said: str, evidence: ValueEvidence, by_value: PiiClass | None
) -> Score:
    """A name whose class has a validator: the share of values that pass it raises or lowers the confidence."""
    rate = evidence.rate(named)
    if rate >= CONFIRMING_RATE:
        confidence = min(0.99, max(by_name.confidence, VALUE_CONFIDENCE[named]) + 0.05)
        return Score(named, confidence, (said, f"{_value_reason(evidence, named)}: the values confirm it"))
    if by_value is not None and VALUE_CONFIDENCE[by_value] > by_name.confidence:
        return Score(by_value, VALUE_CONFIDENCE[by_value], (said, f"but {_value_reason(evidence, by_value)}"))
    if rate < CONTRADICTING_RATE:
        # Test data, tokens and surrogate ids fail the check while the column still means the class.
        lowered = f"{_value_reason(evidence, named)} (test data, tokens or ids?): confidence lowered"
        return Score(named, by_name.confidence * CONTRADICTED, (said, lowered))
    return Score(named, by_name.confidence, (said, f"{_value_reason(evidence, named)}: neither confirms nor denies"))


def _value_reason(evidence: ValueEvidence, pii_class: PiiClass) -> str:
    matched = round(evidence.rate(pii_class) * evidence.sampled)
    return f"{matched} of {evidence.sampled} sampled values are {VALIDATED_AS[pii_class]}"


def is_unmarked(column: ColumnRef) -> bool:
    """No classification in meta: neither a PII class nor a reviewed ``pii: none``."""
    return column.pii is None or str(column.pii).strip() == ""


def find_suspects(
    columns: Iterable[ColumnRef],
    samples: Mapping[tuple[str, str], Values] | None = None,
    report: float | None = None,
) -> list[Suspect]:
    """Suspects among the unmarked ``columns``; ``samples`` maps (relation, column) to sampled values."""
    suspects: list[Suspect] = []
    for column in columns:
        if not is_unmarked(column):
            continue
        values = samples.get((column.relation, column.name)) if samples is not None and column.relation else None
        suspect = classify(column, values, report)
        if suspect is not None:
            suspects.append(suspect)
    return sorted(suspects, key=lambda s: (s.published, s.node_id, s.column))


@dataclass(frozen=True)
class Explanation:
    """Everything ``scan --explain`` shows about one column: tokens, signals, score and the verdict."""

    column: ColumnRef
    tokens: tuple[str, ...]
    name: NameMatch | None
    values: ValueEvidence | None
    masked: str | None  # why the values are masked output, if they are
    score: Score
    suspect: Suspect | None  # what the scan reports for the column (None: nothing)


def explain(column: ColumnRef, values: Values | None = None, report: float | None = None) -> Explanation:
    """The evidence and the score behind ``classify(column, values)``."""
    by_name = name_signal(column)
    evidence = value_evidence(values) if values is not None else None
    masked = masked_output(evidence, by_name) if evidence is not None else None
    score = score_column(by_name, evidence)
    suspect = classify(column, values, report) if is_unmarked(column) else None
    return Explanation(column, tokenize(column.name), by_name, evidence, masked, score, suspect)

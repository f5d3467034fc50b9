"""The release inspector: every sampled value of a published relation, looked at anywhere inside it, for raw PII.

Masking trusts that the right YAML sits on the right column; this is the backstop that does not. A value is
searched whole and in part (a substring of a concatenation, a string inside JSON text, a field of a struct, an
element of a list, a key or value of a map) for the patterns whose validators leave little doubt: an email
address, a Luhn-valid card number with an issuer prefix, an IBAN whose mod-97 check holds, an SSN with a valid
area and group, a phone number valid in its numbering plan, an IPv4 or IPv6 address. The validators are
``dmesh_dbt.scan.values``'s (python-stdnum, libphonenumber), the same ``scan`` weighs as evidence; this module
finds the candidates inside a value and walks nested values.

Masked outputs pass: redactions, partial masks (``****1234``), the domain an ``email_domain`` mask keeps,
truncated dates, keyed hashes. A keyed hash (22 base64url characters) is searched like any other text, because
its shape proves nothing: a 22-character IBAN has it too, and so does base64url of 16 bytes of raw text, whose
decoded text is searched as well. What the inspection proves of a hash-shaped value is that neither it nor the text
it may encode holds a validated pattern; not that it is an HMAC (that needs the key). Findings name the product,
the column and the pattern, and count the values; never the values themselves.

``publish`` inspects each published relation before it writes a release; ``check --sample-rows`` and ``scan``
run the same inspection on the published relations they sample.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmesh_dbt.errors import ConfigError, PolicyViolation
from dmesh_dbt.pii import PiiClass
from dmesh_dbt.project import Target
from dmesh_dbt.scan.sampling import sample_through_dbt
from dmesh_dbt.scan.values import (
    EMAIL_PATTERN,
    hash_plaintext,
    iban_length,
    is_card_number,
    is_iban,
    is_ip_address,
    is_phone_number,
    is_ssn,
    masking_of,
)

if TYPE_CHECKING:
    # Only a type: contracts loads the ODCS schema and pydantic models, which a scan does not otherwise need.
    from dmesh_dbt.contracts import PublishedModel

#: Rows sampled from each published relation unless configured (``--inspect-rows``).
DEFAULT_ROWS = 10_000
#: Rarest distinct values read per column on top of the random sample, so a value on one row in a million is seen.
DISTINCT_PER_COLUMN = 1_000
#: The patterns the inspector looks for, as the PII classes they reveal.
PATTERNS: tuple[PiiClass, ...] = (
    PiiClass.EMAIL,
    PiiClass.CARD_NUMBER,
    PiiClass.IBAN,
    PiiClass.NATIONAL_ID,
    PiiClass.PHONE,
    PiiClass.IP_ADDRESS,
)

# --- candidates inside a text --------------------------------------------------------------------------------

#: Tokens that are masked output or identifiers whose digits mean nothing: hex runs of 32+ (keyed hashes of dmesh
#: 0.1.0, device ids, md5s), UUIDs, ISO dates and times. Blanked before the search so their digits never form a
#: card or a phone.
_NOISE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])"
    r"|\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
    r"|(?<![\d:])\d{2}:\d{2}:\d{2}(?:\.\d+)?(?![\d:])"
)
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)")
_SSN = re.compile(r"(?<![\d-])\d{3}[- ]\d{2}[- ]\d{4}(?![\d-])")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")
_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\.?\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
#: The fewest digits a text needs to hold each pattern.
_CARD_DIGITS, _SSN_DIGITS, _IBAN_DIGITS, _PHONE_DIGITS = 12, 9, 2, 7
#: A phone number counts only written as one (a leading + or separators between digits); texts without this
#: skip libphonenumber's matcher, the slowest step by far.
_PHONE_HINT = re.compile(r"\+\d|\d[ .\-/)]\(?\d|\(\d")
_MASK_CHARS = frozenset("*#")


def _has_email(text: str) -> bool:
    for match in EMAIL_PATTERN.finditer(text):
        local = match[0].split("@", 1)[0]
        # A partial mask of an address (``j***@example.com``) keeps the domain only.
        if not _MASK_CHARS & set(local):
            return True
    return False


def _has_card(text: str) -> bool:
    return any(is_card_number(match[0]) for match in _CARD.finditer(text))


def _has_ssn(text: str) -> bool:
    return any(is_ssn(match[0]) for match in _SSN.finditer(text))


def _has_iban(text: str) -> bool:
    """An IBAN may be written in groups of four: take exactly its country's length of characters after a start."""
    for start in _IBAN_START.finditer(text):
        length = iban_length(start[0][:2].upper())
        if length is None:
            continue
        candidate = _alnum_run(text, start.start(), length)
        if candidate is not None and is_iban(candidate.upper()):
            return True
    return False


def _alnum_run(text: str, start: int, length: int) -> str | None:
    """``length`` letters and digits from ``start`` (single spaces between them skipped), ending at a boundary."""
    taken: list[str] = []
    index = start
    while len(taken) < length and index < len(text):
        char = text[index]
        if char.isascii() and char.isalnum():
            taken.append(char)
        elif not (char == " " and taken and index + 1 < len(text) and text[index + 1] != " "):
            return None
        index += 1
    if len(taken) < length or (index < len(text) and text[index].isascii() and text[index].isalnum()):
        return None
    return "".join(taken)


def _has_phone(text: str) -> bool:
    # libphonenumber finds the candidates; values.is_phone_number keeps those written as phone numbers are
    # (an international + or national formatting), not bare digit runs that are ids.
    import phonenumbers  # libphonenumber's tables take ~20 ms to load: only free text reaches here

    matcher = phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.VALID)
    return any(is_phone_number(match.raw_string) for match in matcher)


def _has_ip(text: str) -> bool:
    if any(is_ip_address(match[0]) for match in _IPV4.finditer(text)):
        return True
    for match in _IPV6.finditer(text):
        groups = [g for g in match[0].split(":") if g]
        # "::" alone, or a time like 10:30, is no address worth a finding: ask for two groups and a hex letter
        # or three groups.
        if len(groups) >= 2 and is_ip_address(match[0]) and (len(groups) >= 3 or not match[0].isdigit()):
            return True
    return False


#: Masked outputs whose shape leaves no room for a pattern. Not ``hash``: see the module's docstring.
_CLEARED_BY_SHAPE = frozenset({"redact", "partial"})


def patterns_in_text(text: str) -> set[PiiClass]:
    """The PII patterns that occur anywhere in ``text`` (whole, or as a part of it)."""
    if masking_of(text) in _CLEARED_BY_SHAPE:
        return set()
    encoded = hash_plaintext(text)
    found: set[PiiClass] = patterns_in_text(encoded) if encoded is not None else set()
    if "@" in text and _has_email(text):
        found.add(PiiClass.EMAIL)
    cleaned = _NOISE.sub(" ", text)
    if _has_ip(cleaned):
        found.add(PiiClass.IP_ADDRESS)
    digits = sum(char.isdigit() for char in cleaned)
    # Each search runs only when the text has the digits its pattern needs: most values have none of them.
    if digits >= _CARD_DIGITS and _has_card(cleaned):
        found.add(PiiClass.CARD_NUMBER)
    if digits >= _SSN_DIGITS and _has_ssn(cleaned):
        found.add(PiiClass.NATIONAL_ID)
    if digits >= _IBAN_DIGITS and _has_iban(cleaned):
        found.add(PiiClass.IBAN)
    if digits >= _PHONE_DIGITS and _PHONE_HINT.search(cleaned) and _has_phone(cleaned):
        found.add(PiiClass.PHONE)
    return found


# --- nested values ---------------------------------------------------------------------------------------------

#: Python types of values that hold no text: dates and times (a truncated date is masked output), booleans.
_NOT_TEXT = (datetime.date, datetime.time, datetime.timedelta, bool, uuid.UUID)


def texts_in(value: object) -> Iterator[str]:
    """Every text inside ``value``: strings, numbers as written, the keys and values of structs and maps, the
    elements of lists, and the strings inside JSON text (decoded, so escapes hide nothing)."""
    if value is None or isinstance(value, _NOT_TEXT):
        return
    if isinstance(value, str):
        yield value
        yield from _json_texts(value)
    elif isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value).decode("utf-8", errors="replace")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from texts_in(key)
            yield from texts_in(item)
    elif isinstance(value, Iterable):
        for item in value:
            yield from texts_in(item)
    else:
        yield _number_text(value)


def _number_text(value: object) -> str:
    """A number as its digits: a card number stored as a DOUBLE prints as ``4.1e+15`` otherwise."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e20:
        return str(int(value))
    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        return str(value.quantize(decimal.Decimal(1)))
    return str(value)


def _json_texts(text: str) -> Iterator[str]:
    stripped = text.strip()
    if not stripped.startswith(("{", "[", '"')):
        return
    try:
        document = json.loads(stripped)
    except ValueError:
        return
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict | list):
        yield from texts_in(document)


def patterns_in(value: object) -> set[PiiClass]:
    """The PII patterns anywhere inside ``value`` (a scalar, a struct, a list, a map, JSON text)."""
    found: set[PiiClass] = set()
    for text in texts_in(value):
        found |= patterns_in_text(text)
    return found


# --- findings --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    """Values of one published column that hold a PII pattern: where, which pattern and how many; no values."""

    product: str
    column: str
    pattern: PiiClass
    values: int
    sampled: int

    @property
    def summary(self) -> str:
        return f"{self.product}.{self.column} holds raw {self.pattern} ({self.values} of {self.sampled} sampled values)"

    @property
    def message(self) -> str:
        return f"{self.summary}; {FIX}"


#: What to do about a leak, whichever it is.
FIX = "classify the column it comes from (meta: {pii: <class>}) so it is masked, or stop publishing it"


def inspect_columns(product: str, values_by_column: Mapping[str, Sequence[object]]) -> list[Leak]:
    """Leaks in sampled values of one published relation (column -> values)."""
    leaks: list[Leak] = []
    for column, values in values_by_column.items():
        counts: Counter[PiiClass] = Counter()
        for value in values:
            counts.update(patterns_in(value))
        found = [pattern for pattern in PATTERNS if counts[pattern]]
        leaks.extend(Leak(product, column, pattern, counts[pattern], len(values)) for pattern in found)
    return leaks


def inspect_rows(product: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> list[Leak]:
    """Leaks in rows of one published relation whose columns are ``columns``."""
    by_column: dict[str, list[object]] = {name: [] for name in columns}
    for row in rows:
        for name, value in zip(columns, row, strict=True):
            by_column[name].append(value)
    return inspect_columns(product, by_column)


def refuse_leaks(leaks: Sequence[Leak]) -> None:
    """PolicyViolation naming every leaking product, column and pattern (publish refuses the release)."""
    if not leaks:
        return
    shown = "; ".join(leak.summary for leak in leaks[:10]) + ("; ..." if len(leaks) > 10 else "")
    raise PolicyViolation(f"not publishing: the release inspection (DM012) finds raw PII: {shown}; {FIX}")


# --- the published relations of a release ---------------------------------------------------------------------


def published_sql_name(published: PublishedModel, adapter: str) -> str:
    """The published relation as the producer's own connection names it: on DuckDB without the catalog (the
    contract names the catalog consumers attach the file under, not the file's own), quoted the adapter's way."""
    relation = published.relation
    parts = (relation.database, relation.schema, relation.identifier)
    if adapter == "duckdb":
        parts = (None, relation.schema, relation.identifier)
    quote = "`" if adapter == "bigquery" else '"'
    return ".".join(quote + part.replace(quote, quote * 2) + quote for part in parts if part)


def inspect_published(
    project_dir: Path, target: Target, published: Sequence[PublishedModel], rows: int = DEFAULT_ROWS
) -> list[Leak]:
    """Leaks in the published relations on ``target``: DuckDB's file read directly and read-only (stratified),
    any other adapter through ``dbt show`` (the first ``rows`` rows of each, as the adapter's strings)."""
    names = {p.model.display_name: published_sql_name(p, target.type) for p in published}
    if target.duckdb_path is not None:
        return inspect_duckdb(target.duckdb_path, names, rows)
    columns = {names[p.model.display_name]: [c.name for c in p.columns] for p in published}
    samples = sample_through_dbt(project_dir, target.name, columns, rows, flags=target.flags)
    leaks: list[Leak] = []
    for product, sql_name in names.items():
        values: Mapping[str, Sequence[object]] = samples.get(sql_name, {})
        leaks.extend(inspect_columns(product, values))
    return leaks


# --- sampling a DuckDB relation (a warehouse file or a Parquet file) ------------------------------------------


def sample_relation(
    connection: Any, relation: str, rows: int, distinct: int = DISTINCT_PER_COLUMN
) -> dict[str, list[object]]:
    """Column -> sampled values of ``relation`` on a DuckDB connection: every row when it has at most ``rows``,
    else a repeatable reservoir sample of ``rows`` rows plus, per column, its ``distinct`` rarest values (a
    stratum of rare values that a random sample would miss)."""
    total = connection.execute(f"select count(*) from {relation}").fetchone()[0]
    sampling = "" if total <= rows else f" using sample reservoir({int(rows)} rows) repeatable (7)"
    cursor = connection.execute(f"select * from {relation}{sampling}")
    names = [d[0] for d in cursor.description]
    records = cursor.fetchall()
    by_column: dict[str, list[object]] = {name: [r[i] for r in records] for i, name in enumerate(names)}
    if not sampling:
        return by_column
    for name in names:
        by_column[name].extend(_rarest_values(connection, relation, name, distinct))
    return by_column


def _rarest_values(connection: Any, relation: str, column: str, limit: int) -> list[object]:
    import duckdb

    quoted = '"' + column.replace('"', '""') + '"'
    rarest = f"select {quoted} from {relation} group by all order by count(*), 1 limit {int(limit)}"
    try:
        return [row[0] for row in connection.execute(rarest).fetchall()]
    except duckdb.Error:
        # A type DuckDB cannot order (a map, say): any distinct values then, still beyond the random sample.
        distinct = f"select distinct {quoted} from {relation} limit {int(limit)}"
        return [row[0] for row in connection.execute(distinct).fetchall()]


def inspect_duckdb(database: Path, relations: Mapping[str, str], rows: int = DEFAULT_ROWS) -> list[Leak]:
    """Leaks in the published relations (product -> relation in ``database``), read from the file read-only."""
    import duckdb

    if not database.is_file():
        raise ConfigError(f"DuckDB database {database} not found; run `dbt build` first (or pick --target)")
    leaks: list[Leak] = []
    with duckdb.connect(str(database), read_only=True) as connection:
        for product, relation in relations.items():
            try:
                sampled = sample_relation(connection, relation, rows)
            except duckdb.Error as error:
                # Fail closed: a relation that cannot be read cannot be shown clean.
                raise PolicyViolation(
                    f"cannot inspect the published relation {relation} of {product} in {database} "
                    f"({str(error).splitlines()[0]}); run `dbt build`, then try again"
                ) from None
            leaks.extend(inspect_columns(product, sampled))
    return leaks


def inspect_parquet(path: Path, product: str, rows: int = DEFAULT_ROWS) -> list[Leak]:
    """Leaks in a Parquet file (a release snapshot of ``product``)."""
    import duckdb

    escaped = str(path).replace("'", "''")
    with duckdb.connect() as connection:
        return inspect_columns(product, sample_relation(connection, f"read_parquet('{escaped}')", rows))

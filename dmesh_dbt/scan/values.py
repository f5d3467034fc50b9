"""The value signal: real validators for one value each (checksums and structure, not just shapes).

Each validator answers "could this single value be raw PII of the class?". Shapes alone are weak (any 16-digit
id looks like a card number), so every validator checks what the issuer guarantees, through well-kept libraries
where one exists: python-stdnum for IBANs (mod 97 and each country's BBAN format), US SSNs, ITINs, EINs and
routing numbers, and the national ids of several countries; libphonenumber's numbering plans for phone numbers;
usaddress (a CRF parser trained on US addresses) for street addresses. What no library covers stays here, small:
card issuer prefixes, the VIN check digit (ISO 3779), dates of birth, coordinates; and the Luhn digit, the hot path of
card columns, held by the unit tests to python-stdnum's answer. Masked outputs
(keyed hashes, redactions, partial masks) are recognised separately so they are never read as the raw class.

Every validator starts with the cheapest test that can refuse a value (length, a character, a shape) and calls a
library only for the few values that pass it: most sampled values are ids, amounts and statuses.
"""

from __future__ import annotations

import base64
import importlib
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any

from dmesh_dbt.masking import HASH_PATTERN
from dmesh_dbt.pii import PiiClass


def _stdnum(module: str) -> Any:
    """python-stdnum's ``module`` (``us.ssn``), imported when a value first gets past the shape tests before it:
    a column of ids, amounts and statuses never loads the national-id modules (a few dozen ms of start-up)."""
    return importlib.import_module(f"stdnum.{module}")


_SEPARATORS = re.compile(r"[ \-]")
_DIGITS = re.compile(r"\d+")


def _digits_only(value: str) -> str | None:
    """``value`` without spaces and dashes, if what is left is all digits."""
    stripped = _SEPARATORS.sub("", value.strip())
    return stripped if _DIGITS.fullmatch(stripped) else None


#: Each digit in a doubled (even, from the right) position replaced by the digit sum of its double.
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check digit of a string of ASCII digits is right; False for anything else (as python-stdnum's
    ``luhn.is_valid``, which the unit tests hold it to). Here on bytes, in C: stdnum's generator costs 10 us a value,
    this 1 us, and a card column reads 200 of them."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    encoded = digits.encode()
    folded = encoded[-1::-2] + encoded[-2::-2].translate(_LUHN_DOUBLED)
    return (sum(folded) - 48 * len(folded)) % 10 == 0  # 48: the code of "0"


#: Issuer prefixes (IIN ranges) and lengths of the card networks a payments domain sees.
_CARD_NETWORKS: tuple[tuple[re.Pattern[str], frozenset[int]], ...] = (
    (re.compile(r"4"), frozenset({13, 16, 19})),  # Visa
    (re.compile(r"5[1-5]|2(2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)"), frozenset({16})),  # Mastercard
    (re.compile(r"3[47]"), frozenset({15})),  # American Express
    (re.compile(r"6011|65|64[4-9]|622"), frozenset({16, 19})),  # Discover
    (re.compile(r"35(2[89]|[3-8]\d)"), frozenset({16, 19})),  # JCB
    (re.compile(r"3(0[0-5]|[689])"), frozenset({14, 16, 19})),  # Diners Club
    (re.compile(r"62"), frozenset({16, 17, 18, 19})),  # UnionPay
    (re.compile(r"5[06-9]|6\d"), frozenset({12, 13, 14, 15, 16, 17, 18, 19})),  # Maestro
)


def is_card_number(value: str) -> bool:
    """A primary account number: 12-19 digits with a known issuer prefix and length, and a right Luhn digit."""
    if not 12 <= len(value) <= 40:
        return False
    # Bare ASCII digits (most card-like values) need neither the strip nor the separator regex of _digits_only.
    digits = value if value.isdigit() and value.isascii() else _digits_only(value)
    if digits is None or not 12 <= len(digits) <= 19:
        return False
    return _known_issuer(digits[:4], len(digits)) and luhn_valid(digits)


@lru_cache(maxsize=4096)
def _known_issuer(head: str, length: int) -> bool:
    """A card network issues numbers of ``length`` digits that start with ``head``: no prefix of ``_CARD_NETWORKS``
    reads past the fourth digit, so the answer is remembered per (first four digits, length)."""
    return any(prefix.match(head) is not None and length in lengths for prefix, lengths in _CARD_NETWORKS)


#: A US SSN or ITIN as people write one: dashed or spaced. A bare 9-digit number is as likely a zip+4 or an id.
_SSN = re.compile(r"(\d{3})[- ](\d{2})[- ](\d{4})")


def _dashed_ssn(value: str) -> str | None:
    match = _SSN.fullmatch(value.strip())
    return None if match is None else f"{match[1]}-{match[2]}-{match[3]}"


def is_ssn(value: str) -> bool:
    """A US Social Security number the SSA could have issued (python-stdnum: area not 000, 666 or 9xx, group and
    serial not zero, not one of the numbers published in advertising)."""
    dashed = _dashed_ssn(value)
    return dashed is not None and bool(_stdnum("us.ssn").is_valid(dashed))


def is_itin(value: str) -> bool:
    """A US Individual Taxpayer Identification Number: area 9xx, group in the IRS's ITIN ranges (python-stdnum)."""
    dashed = _dashed_ssn(value)
    return dashed is not None and bool(_stdnum("us.itin").is_valid(dashed))


_EIN = re.compile(r"\d{2}-\d{7}")


def is_ein(value: str) -> bool:
    """A US Employer Identification Number written as the IRS prints it (``12-3456789``) with an assigned prefix."""
    stripped = value.strip()
    return _EIN.fullmatch(stripped) is not None and bool(_stdnum("us.ein").is_valid(stripped))


def is_tax_id(value: str) -> bool:
    """A US taxpayer number that is not an SSN: an ITIN or an EIN (a sole proprietor's EIN is a person's)."""
    return is_itin(value) or is_ein(value)


#: National ids with a check digit and a shape that ids of other kinds rarely take, each with python-stdnum's
#: validator. Undelimited digit-only forms (a CPF of 11 digits, a SIN of 9) are left out on purpose: order
#: numbers pass a mod-11 check one time in eleven.
_NATIONAL_IDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]", re.I), "it.codicefiscale"),  # Italy
    (re.compile(r"\d{8}-?[A-Z]", re.I), "es.dni"),  # Spain, DNI
    (re.compile(r"[XYZ]-?\d{7}-?[A-Z]", re.I), "es.nie"),  # Spain, foreigners (NIE)
    (re.compile(r"[A-Z]{4}\d{6}[HM][A-Z]{5}[A-Z0-9]\d", re.I), "mx.curp"),  # Mexico
    (re.compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}"), "br.cpf"),  # Brazil, as printed
    (re.compile(r"\d{3}[ -]\d{3}[ -]\d{3}"), "ca.sin"),  # Canada, as printed
)


def is_national_id(value: str) -> bool:
    """A national identity number: a US SSN, or one of the check-digit ids of ``_NATIONAL_IDS`` in its printed form."""
    stripped = value.strip()
    if not 9 <= len(stripped) <= 18:
        return False
    if is_ssn(stripped):
        return True
    return any(
        shape.fullmatch(stripped) is not None and bool(_stdnum(module).is_valid(stripped))
        for shape, module in _NATIONAL_IDS
    )


@cache
def iban_length(country: str) -> int | None:
    """The length of an IBAN of ``country`` (two letters) in the SWIFT registry python-stdnum ships, if it has one."""
    info = _stdnum("numdb").get("iban").info(country.upper())[0][1]
    structure = info.get("bban")
    if not structure:
        return None
    return 4 + sum(int(count) for count in re.findall(r"(\d+)!", structure))


_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def is_iban(value: str) -> bool:
    """An IBAN (spaces allowed) whose mod-97 check and country's BBAN format hold (python-stdnum)."""
    compact = value.replace(" ", "").upper()
    if not _IBAN.fullmatch(compact) or iban_length(compact[:2]) != len(compact):
        return False
    return bool(_stdnum("iban").is_valid(compact))


#: ISO 3779 transliteration of VIN letters to digits (I, O and Q never occur in a VIN) and position weights.
_VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True))}
_VIN_VALUES |= {**dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9}
_VIN_VALUES |= dict(zip("STUVWXYZ", range(2, 10), strict=True))
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")


def is_vin(value: str) -> bool:
    """A 17-character vehicle identification number whose 9th character is its check digit (mod 11, 10 -> X).

    The check digit is mandatory in North America and common elsewhere; python-stdnum has no VIN module, so
    this is ISO 3779's published table. Seventeen digits alone (an id) do not count: a VIN has letters.
    """
    vin = value.strip().upper()
    if _VIN.fullmatch(vin) is None or vin.isdigit():
        return False
    remainder = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS, strict=True)) % 11
    return vin[8] == ("X" if remainder == 10 else str(remainder))


_USER_AGENT = re.compile(r"[A-Za-z][\w.\-]*/[\w.\-]+(?: .*)?")


def is_user_agent(value: str) -> bool:
    """An HTTP User-Agent header: ``Product/version`` followed by comments in brackets (``Mozilla/5.0 (...)``)."""
    stripped = value.strip()
    return "(" in stripped and ")" in stripped and _USER_AGENT.fullmatch(stripped) is not None


#: Federal Reserve routing symbol prefixes: 00 (US government), 01-12 (districts), 21-32 (thrifts),
#: 61-72 (electronic), 80 (traveller's cheques). python-stdnum checks the digit only.
_ROUTING_PREFIXES = frozenset({0, *range(1, 13), *range(21, 33), *range(61, 73), 80})


def is_aba_routing_number(value: str) -> bool:
    """A 9-digit ABA routing transit number with a Federal Reserve prefix and a valid check digit (python-stdnum)."""
    digits = value.strip()
    if len(digits) != 9 or not digits.isdigit() or int(digits[:2]) not in _ROUTING_PREFIXES:
        return False
    return bool(_stdnum("us.rtn").is_valid(digits))


_ADDRESS_START = re.compile(r"(?:\d+[A-Za-z]?|P\.? ?O\.?) [A-Za-z]", re.I)
#: The labels usaddress gives a street: a number and a name with a type (St, Avenue) or a direction (N, SW).
_STREET_QUALIFIERS = frozenset(
    {"StreetNamePostType", "StreetNamePreType", "StreetNamePreDirectional", "StreetNamePostDirectional"}
)


def is_street_address(value: str) -> bool:
    """A US street address (``350 Fifth Avenue Apt 5``) or PO box, as usaddress's parser labels its parts.

    A number followed by words (``5 stars``) is not enough: the street needs a type or a direction.
    """
    stripped = value.strip()
    if not 6 <= len(stripped) <= 200 or _ADDRESS_START.match(stripped) is None:
        return False
    import usaddress  # a CRF model: loaded only when a value starts like an address

    labels = {label for _, label in usaddress.parse(stripped)}
    if "USPSBoxType" in labels and "USPSBoxID" in labels:
        return True
    return {"AddressNumber", "StreetName"} <= labels and not labels.isdisjoint(_STREET_QUALIFIERS)


# RFC 5322's dot-atom local part and a DNS domain with an alphabetic top-level label; quoted local parts and
# IP-literal domains are legal but do not occur in customer data.
#: An email address anywhere in a text (``search``) or as the whole value (``fullmatch``).
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def is_email(value: str) -> bool:
    """An email address in the dot-atom form, with a domain that has a top-level label."""
    stripped = value.strip()
    return len(stripped) <= 254 and EMAIL_PATTERN.fullmatch(stripped) is not None


_PHONE_CHARS = re.compile(r"[+()\d .\-/]+")
#: How national numbers are written: digit groups of 2-4 (area code maybe in parentheses) split by separators.
#: Dates (4-2-2), IPv4 quads with 1-digit parts and decimals never take this shape, which keeps them away from
#: the (comparatively slow) numbering-plan check.
_NATIONAL_FORMAT = re.compile(r"\(?\d{2,4}\)?(?:[ .\-/]\d{2,4}){2,4}|\(\d{2,4}\) ?\d{3,4}[ .\-]?\d{4}")
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_phone_number(value: str, default_region: str = "US") -> bool:
    """A phone number valid in its numbering plan (libphonenumber's metadata).

    Bare digit strings are not phone numbers here: order numbers and ids of 10 digits are valid US numbers as
    digits. A value counts only with an international ``+`` prefix or phone formatting (``(206) 555-0166``).
    """
    stripped = value.strip()
    if not _PHONE_CHARS.fullmatch(stripped) or sum(c.isdigit() for c in stripped) < 7:
        return False
    international = stripped.startswith("+")
    if not international and (not _NATIONAL_FORMAT.fullmatch(stripped) or _DATE_SHAPE.fullmatch(stripped)):
        return False
    import phonenumbers  # libphonenumber's tables take ~20 ms to load: only a phone-shaped value reaches here

    try:
        number = phonenumbers.parse(stripped, None if international else default_region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


_IPV4_SHAPE = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


def is_ip_address(value: str) -> bool:
    """An IPv4 address in dotted-quad form or an IPv6 address (with at least two colons)."""
    stripped = value.strip()
    if _IPV4_SHAPE.fullmatch(stripped) is None and stripped.count(":") < 2:
        return False
    try:
        ipaddress.ip_address(stripped)
    except ValueError:
        return False
    return True


#: Ages a date of birth of a customer or employee can give: account holders are at least 13 (COPPA) and
#: nobody verified is older than 120.
MIN_AGE_YEARS = 13
MAX_AGE_YEARS = 120


_ISO_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: str) -> date | None:
    """An ISO date (``1971-12-23``) or a midnight timestamp of one; None for anything else (ISO week dates and
    the compact ``19711223`` too: nobody stores a birth date so)."""
    stripped = value.strip()
    if _ISO_DATE_START.match(stripped) is None:
        return None
    try:
        if len(stripped) == 10:
            return date.fromisoformat(stripped)
        parsed = datetime.fromisoformat(stripped)
    except ValueError:
        return None
    # A time of day other than midnight says "event", not "birth".
    if (parsed.hour, parsed.minute, parsed.second, parsed.microsecond) != (0, 0, 0, 0):
        return None
    return parsed.date()


def is_plausible_date_of_birth(value: str, today: date | None = None) -> bool:
    """A calendar date that makes its holder between 13 and 120 years old today."""
    born = parse_date(value)
    if born is None:
        return False
    today = today or date.today()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return MIN_AGE_YEARS <= age <= MAX_AGE_YEARS


_COORDINATE = re.compile(r"-?\d{1,3}\.(\d+)")
#: Four decimals locate to about 11 m: a house, not a city. Coarse (rounded) coordinates are not flagged.
MIN_COORDINATE_DECIMALS = 4


def _precise_coordinate(value: str, bound: float) -> bool:
    match = _COORDINATE.fullmatch(value.strip())
    if match is None or len(match[1]) < MIN_COORDINATE_DECIMALS:
        return False
    return abs(float(value)) <= bound


def is_precise_latitude(value: str) -> bool:
    """A latitude in [-90, 90] with at least 4 decimals (house-level precision)."""
    return _precise_coordinate(value, 90.0)


def is_precise_longitude(value: str) -> bool:
    """A longitude in [-180, 180] with at least 4 decimals (house-level precision)."""
    return _precise_coordinate(value, 180.0)


_COARSE_COORDINATE = re.compile(r"-?\d{1,3}(\.\d)?")


def is_coarse_coordinate(value: str) -> bool:
    """A number in [-180, 180] with at most one decimal: what ``geo_coarse`` masking leaves of a coordinate."""
    stripped = value.strip()
    return _COARSE_COORDINATE.fullmatch(stripped) is not None and abs(float(stripped)) <= 180.0


def is_lat_long_pair(value: str) -> bool:
    """A ``"lat,long"`` pair (as geo points are often stored) of precise coordinates."""
    parts = [p.strip() for p in value.strip().strip("()[]").split(",")]
    return len(parts) == 2 and is_precise_latitude(parts[0]) and is_precise_longitude(parts[1])


#: Distinct values each costly validator remembers its verdict for (per process, least recently used first out).
#: The same values recur across a project's relations: a customer's phone in staging, in the mart, in the snapshot.
REMEMBERED_VALUES = 8192


def _remembered(check: Callable[[str], bool]) -> Callable[[str], bool]:
    """``check`` with its verdicts remembered: numbering plans, Luhn, address parsing and IP parsing are pure
    functions of the value and cost 10-100 us each in Python, where a dictionary look-up costs 0.1 us."""
    return lru_cache(maxsize=REMEMBERED_VALUES)(check)


# --- device identifiers: formats that confirm a name, never contradict it -------------------------------------

_MAC_ADDRESS = re.compile(r"[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: What no single device has: the broadcast address, the nil id (an IDFA when the user limits ad tracking).
_NO_DEVICE = frozenset({"ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "ff-ff-ff-ff-ff-ff", "00-00-00-00-00-00"})


def is_imei(value: str) -> bool:
    """A 15-digit IMEI whose Luhn check digit holds (python-stdnum), as a handset reports it."""
    stripped = value.strip()
    return len(stripped) == 15 and stripped.isdigit() and bool(_stdnum("imei").is_valid(stripped))


def is_mac_address(value: str) -> bool:
    """A MAC address written as six hex pairs (``aa:bb:..``, ``aa-bb-..``) or three dotted quads (Cisco)."""
    stripped = value.strip().lower()
    return len(stripped) in (14, 17) and stripped not in _NO_DEVICE and _MAC_ADDRESS.fullmatch(stripped) is not None


def is_advertising_id_shape(value: str) -> bool:
    """The shape of an IDFA, GAID or AAID: a UUID, not the nil one. Weak: every surrogate key may be a UUID."""
    stripped = value.strip().lower()
    return len(stripped) == 36 and _UUID.fullmatch(stripped) is not None and stripped.strip("0-") != ""


def is_device_identifier(value: str) -> bool:
    return is_imei(value) or is_mac_address(value) or is_advertising_id_shape(value)


#: Formats that confirm a class a column's *name* points at, but neither suggest it alone nor contradict it: a
#: UUID is every other surrogate key, and most device ids are a vendor's own (hashed, numeric, base64), so values
#: outside these formats say nothing. Values that pass raise a name's confidence, with the count as the reason.
CONFIRMING_ONLY: dict[PiiClass, tuple[Callable[[str], bool], str]] = {
    PiiClass.DEVICE_ID: (is_device_identifier, "IMEIs with a valid check digit, MAC addresses or UUIDs (ad ids)"),
}

#: The validator of each class that has one. Classes without (names, device ids, free text, ...) are found by
#: name only: their values have no structure a checksum or parser could confirm (device ids: see CONFIRMING_ONLY).
VALIDATORS: dict[PiiClass, Callable[[str], bool]] = {
    PiiClass.CARD_NUMBER: _remembered(is_card_number),
    PiiClass.NATIONAL_ID: _remembered(is_national_id),
    PiiClass.TAX_ID: _remembered(is_tax_id),
    PiiClass.IBAN: _remembered(is_iban),
    PiiClass.ROUTING_NUMBER: is_aba_routing_number,
    PiiClass.EMAIL: is_email,
    PiiClass.PHONE: _remembered(is_phone_number),
    PiiClass.IP_ADDRESS: _remembered(is_ip_address),
    PiiClass.DATE_OF_BIRTH: is_plausible_date_of_birth,
    PiiClass.GEO: is_lat_long_pair,
    PiiClass.VEHICLE_ID: is_vin,
    PiiClass.USER_AGENT: is_user_agent,
    PiiClass.ADDRESS: _remembered(is_street_address),
}

#: What each validator checks, as a reviewer reads it: "0 of 200 sampled values are Luhn-valid card numbers".
VALIDATED_AS: dict[PiiClass, str] = {
    PiiClass.CARD_NUMBER: "Luhn-valid card numbers",
    PiiClass.NATIONAL_ID: "national ids with a valid check (US SSN, CA SIN, ES DNI/NIE, IT CF, MX CURP, BR CPF)",
    PiiClass.TAX_ID: "US ITINs or EINs the IRS could have issued",
    PiiClass.IBAN: "IBANs with a valid mod-97 check",
    PiiClass.ROUTING_NUMBER: "ABA routing numbers with a valid checksum",
    PiiClass.EMAIL: "email addresses",
    PiiClass.PHONE: "phone numbers valid in their numbering plan",
    PiiClass.IP_ADDRESS: "IP addresses",
    PiiClass.DATE_OF_BIRTH: "dates of birth of someone 13 to 120 years old",
    PiiClass.GEO: "precise coordinates (4+ decimals)",
    PiiClass.VEHICLE_ID: "VINs with a valid check digit",
    PiiClass.USER_AGENT: "browser user-agent strings",
    PiiClass.ADDRESS: "US street addresses or PO boxes (usaddress)",
}

# --- masked outputs -------------------------------------------------------------------------------------

#: A keyed hash as the ``hash`` strategy publishes it: 16 bytes in base64url without padding.
_KEYED_HASH = HASH_PATTERN
#: A keyed hash as dmesh 0.1.0 published it (64 lowercase hex digits): still in the warehouses and releases of
#: domains that have not upgraded.
_KEYED_HASH_HEX = re.compile(r"[0-9a-f]{64}")
_REDACTED = frozenset({"[REDACTED]", "REDACTED", "***", "[redacted]"})
_PARTIAL = re.compile(r"[*xX#]{2,}[^*xX#]{0,4}")
#: Bytes a keyed hash encodes; printable text (space to ``~``) where 16 random bytes are text once in 7.6 million.
_HASH_BYTES = 16
_PRINTABLE = frozenset(range(0x20, 0x7F))


def is_keyed_hash(value: str) -> bool:
    """Whether ``value`` has the shape of a keyed hash (``dmesh_dbt.masking.hash_value``), and nothing says otherwise.

    The shape proves little on its own: 22 characters of ``A-Z a-z 0-9 - _`` are also a 22-character IBAN (BG, BH,
    GB, IE, ...) or base64url of 16 bytes of raw text. So a value that passes the IBAN check, or whose 16 bytes are
    all printable text (an encoding of text, not a digest), is not taken for a hash.
    """
    if _KEYED_HASH_HEX.fullmatch(value):
        return True
    return _KEYED_HASH.fullmatch(value) is not None and not is_iban(value) and hash_plaintext(value) is None


def hash_plaintext(value: str) -> str | None:
    """The text a 22-character base64url value encodes, if its 16 bytes are all printable; else None.

    An HMAC's 16 bytes are all printable with probability (95/256)^16, about 1 in 7.6 million.
    """
    if _KEYED_HASH.fullmatch(value) is None:
        return None
    decoded = base64.urlsafe_b64decode(value + "==")
    if len(decoded) != _HASH_BYTES or not _PRINTABLE.issuperset(decoded):
        return None
    return decoded.decode("ascii")


def masking_of(value: str) -> str | None:
    """The masking strategy that produced ``value`` (``hash``, ``redact``, ``partial``), or None if unmasked.

    A keyed hash is 22 base64url characters (``is_keyed_hash``; dmesh 0.1.0 published 64 lowercase hex digits); a
    redaction is the constant ``[REDACTED]``; a partial mask keeps at most the last four characters behind ``*``.
    """
    stripped = value.strip()
    if is_keyed_hash(stripped):
        return "hash"
    if stripped in _REDACTED:
        return "redact"
    if _PARTIAL.fullmatch(stripped):
        return "partial"
    return None


# --- cheap pre-filters and early exits, for a column's values at once ----------------------------------------------


@dataclass(frozen=True)
class ColumnShape:
    """What a column's distinct values are made of, at a glance: the characters they use and the longest one.

    Built in C (one ``set`` over the joined values), it rules classes out for a whole column before any
    validator runs: statuses have no digits, amounts no letters, UUIDs no ``@``, timestamps are too short for
    a VIN. (Patterns searched over the joined values cost more than the validators they were to spare.)
    """

    chars: frozenset[str]
    longest: int

    @property
    def digits(self) -> bool:
        return not self.chars.isdisjoint(_DIGIT_CHARS)

    @property
    def letters(self) -> bool:
        return not self.chars.isdisjoint(_LETTER_CHARS)

    def has(self, *chars: str) -> bool:
        return all(char in self.chars for char in chars)

    def has_any(self, chars: str) -> bool:
        return not self.chars.isdisjoint(chars)


_DIGIT_CHARS = frozenset("0123456789")
_LETTER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGITS_AND_DOT = _DIGIT_CHARS | {"."}


def column_shape(values: Sequence[str]) -> ColumnShape:
    return ColumnShape(frozenset("".join(values)), max(map(len, values), default=0))


#: For each validated class, what a column's values must have for any of them to pass its validator: each is a
#: necessary condition of the validator (its length and character tests), so a column ruled out has exactly zero
#: values of the class.
_COLUMN_GATES: dict[PiiClass, Callable[[ColumnShape], bool]] = {
    PiiClass.EMAIL: lambda c: c.has("@", "."),
    PiiClass.CARD_NUMBER: lambda c: c.longest >= 12 and c.digits,
    # Every printed form has a separator (SSN, SIN, CPF) or a letter (DNI, NIE, CF, CURP): bare digits never pass.
    PiiClass.NATIONAL_ID: lambda c: c.longest >= 9 and c.digits and not c.chars <= _DIGITS_AND_DOT,
    PiiClass.TAX_ID: lambda c: c.longest >= 10 and c.digits and c.has_any(" -"),
    PiiClass.IBAN: lambda c: c.longest >= 15 and c.digits and c.letters,
    PiiClass.ROUTING_NUMBER: lambda c: c.longest >= 9 and c.digits,
    PiiClass.PHONE: lambda c: c.longest >= 7 and c.digits and c.has_any("+ ()-./"),
    PiiClass.IP_ADDRESS: lambda c: c.has_any(".:"),
    PiiClass.DATE_OF_BIRTH: lambda c: c.longest >= 10 and c.digits and c.has("-"),
    PiiClass.GEO: lambda c: c.longest >= 13 and c.digits and c.has(",", "."),
    PiiClass.VEHICLE_ID: lambda c: c.longest >= 17 and c.digits and c.letters,
    PiiClass.USER_AGENT: lambda c: c.has("/", "(", ")", " "),
    PiiClass.ADDRESS: lambda c: c.longest >= 6 and c.digits and c.letters and c.has(" "),
}


def could_hold(pii_class: PiiClass, shape: ColumnShape) -> bool:
    """Whether any value of a column of ``shape`` can pass the validator of ``pii_class``."""
    gate = _COLUMN_GATES.get(pii_class)
    return gate is None or gate(shape)


def could_be_masked(shape: ColumnShape) -> bool:
    """Keyed hashes are 22 characters (64 in dmesh 0.1.0); redactions and partial masks need one of their marks."""
    return shape.longest >= 22 or shape.has_any("*#xXRr")


def count_passing(
    check: Callable[[str], bool], counted: Sequence[tuple[str, int]], needed: float = 0.0, total: int | None = None
) -> tuple[int, bool]:
    """How many of the ``counted`` values (value, times seen) pass ``check``, and whether every value was checked.

    With ``needed`` > 0 the count stops as soon as the values that failed make a share of ``needed`` out of
    reach: the verdict "confirms" cannot change any more, and the count is then a lower bound (``False``).
    ``total`` is the sum of the times, if the caller knows it already.
    """
    if total is None:
        total = sum(n for _, n in counted)
    allowed_failures = total * (1.0 - needed) if needed > 0 else float(total)
    passed = failed = 0
    for index, (value, times) in enumerate(counted):
        if check(value):
            passed += times
            continue
        failed += times
        if failed > allowed_failures and index + 1 < len(counted):
            return passed, False
    return passed, True

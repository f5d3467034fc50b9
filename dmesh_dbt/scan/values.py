"""The value signal: real validators for one value each (checksums and structure, not just shapes).

Each validator answers "could this single value be raw PII of the class?". Shapes alone are weak (any 16-digit
id looks like a card number), so every validator checks what the issuer guarantees: the Luhn digit and an
issuer prefix for cards, mod-97 for IBANs, the ABA checksum for routing numbers, the SSA's unassigned ranges
for SSNs, the numbering plan for phone numbers. Masked outputs (keyed hashes, redactions, partial masks) are
recognised separately so they are never read as the raw class.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date, datetime

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn as stdnum_luhn

from dmesh_dbt.pii import PiiClass

_SEPARATORS = re.compile(r"[ \-]")
_DIGITS = re.compile(r"\d+")


def _digits_only(value: str) -> str | None:
    """``value`` without spaces and dashes, if what is left is all digits."""
    stripped = _SEPARATORS.sub("", value.strip())
    return stripped if _DIGITS.fullmatch(stripped) else None


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check digit of a digit string is right (python-stdnum's implementation)."""
    return bool(stdnum_luhn.is_valid(digits))


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
    digits = _digits_only(value)
    if digits is None or not 12 <= len(digits) <= 19:
        return False
    known_issuer = any(prefix.match(digits) and len(digits) in lengths for prefix, lengths in _CARD_NETWORKS)
    return known_issuer and luhn_valid(digits)


_SSN = re.compile(r"(\d{3})[- ](\d{2})[- ](\d{4})")


def _ssn_parts(value: str) -> tuple[int, int, int] | None:
    # Only the dashed or spaced form: a bare 9-digit number is as likely a zip+4 or an internal id.
    match = _SSN.fullmatch(value.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def is_ssn(value: str) -> bool:
    """A US Social Security number the SSA could have issued (area not 000, 666 or 900-999; group, serial not 0)."""
    parts = _ssn_parts(value)
    if parts is None:
        return False
    area, group, serial = parts
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


def is_itin(value: str) -> bool:
    """A US Individual Taxpayer Identification Number: area 9xx, group in the IRS's ITIN ranges."""
    parts = _ssn_parts(value)
    if parts is None:
        return False
    area, group, _ = parts
    return area >= 900 and (50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99)


#: IBAN lengths by country (ISO 13616 registry), for the countries a European or US payer is likely to use.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31,
    "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip

_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def is_iban(value: str) -> bool:
    """An IBAN of the right length for its country whose check digits pass ISO 7064 mod 97-10."""
    compact = value.replace(" ", "").upper()
    if not _IBAN.fullmatch(compact) or IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    # python-stdnum checks the mod-97 digits and, for most countries, the national BBAN format as well.
    return bool(stdnum_iban.is_valid(compact))


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
#: 61-72 (electronic), 80 (traveller's cheques).
_ROUTING_PREFIXES = frozenset({0, *range(1, 13), *range(21, 33), *range(61, 73), 80})


def is_aba_routing_number(value: str) -> bool:
    """A 9-digit ABA routing transit number with a valid prefix and checksum (3-7-1 weights, mod 10)."""
    digits = _digits_only(value)
    if digits is None or len(digits) != 9 or int(digits[:2]) not in _ROUTING_PREFIXES:
        return False
    d = [int(c) for c in digits]
    checksum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return checksum % 10 == 0


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


def parse_date(value: str) -> date | None:
    """An ISO date (``1971-12-23``) or a midnight timestamp of one; None for anything else."""
    stripped = value.strip()
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


#: The validator of each class that has one. Classes without (names, addresses, device ids, free text) are
#: found by name only: their values have no structure a checksum could confirm.
VALIDATORS: dict[PiiClass, Callable[[str], bool]] = {
    PiiClass.CARD_NUMBER: is_card_number,
    PiiClass.NATIONAL_ID: is_ssn,
    PiiClass.TAX_ID: is_itin,
    PiiClass.IBAN: is_iban,
    PiiClass.ROUTING_NUMBER: is_aba_routing_number,
    PiiClass.EMAIL: is_email,
    PiiClass.PHONE: is_phone_number,
    PiiClass.IP_ADDRESS: is_ip_address,
    PiiClass.DATE_OF_BIRTH: is_plausible_date_of_birth,
    PiiClass.GEO: is_lat_long_pair,
    PiiClass.VEHICLE_ID: is_vin,
    PiiClass.USER_AGENT: is_user_agent,
}

#: What each validator checks, as a reviewer reads it: "0 of 200 sampled values are Luhn-valid card numbers".
VALIDATED_AS: dict[PiiClass, str] = {
    PiiClass.CARD_NUMBER: "Luhn-valid card numbers",
    PiiClass.NATIONAL_ID: "SSNs the SSA could have issued",
    PiiClass.TAX_ID: "ITINs the IRS could have issued",
    PiiClass.IBAN: "IBANs with a valid mod-97 check",
    PiiClass.ROUTING_NUMBER: "ABA routing numbers with a valid checksum",
    PiiClass.EMAIL: "email addresses",
    PiiClass.PHONE: "phone numbers valid in their numbering plan",
    PiiClass.IP_ADDRESS: "IP addresses",
    PiiClass.DATE_OF_BIRTH: "dates of birth of someone 13 to 120 years old",
    PiiClass.GEO: "precise coordinates (4+ decimals)",
    PiiClass.VEHICLE_ID: "VINs with a valid check digit",
    PiiClass.USER_AGENT: "browser user-agent strings",
}

# --- masked outputs -------------------------------------------------------------------------------------

_KEYED_HASH = re.compile(r"[0-9a-f]{64}")
_REDACTED = frozenset({"[REDACTED]", "REDACTED", "***", "[redacted]"})
_PARTIAL = re.compile(r"[*xX#]{2,}[^*xX#]{0,4}")


def masking_of(value: str) -> str | None:
    """The masking strategy that produced ``value`` (``hash``, ``redact``, ``partial``), or None if unmasked.

    A keyed HMAC-SHA256 is 64 lowercase hex digits; a redaction is the constant ``[REDACTED]``; a partial mask
    keeps at most the last four characters behind ``*``.
    """
    stripped = value.strip()
    if _KEYED_HASH.fullmatch(stripped):
        return "hash"
    if stripped in _REDACTED:
        return "redact"
    if _PARTIAL.fullmatch(stripped):
        return "partial"
    return None

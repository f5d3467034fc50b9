"""Synthetic values for the columns of public_schemas, generated per label, so that the scan's value evidence can
be scored on the same columns as its names (see LABELING.md). Deterministic: one seeded generator per column.

The values are the labeler's idea of each class, written before the benchmark ran with them: realistic formats
(valid card and IBAN check digits, E.164 phones, precise coordinates), and for `none` columns what their names
promise (ids, amounts, timestamps, flags, codes, words). They are not real data and no column's name is read
except to pick the shape of a business contact's or an unlabeled column's values.
"""

from __future__ import annotations

import random
import unicodedata
import zlib
from collections.abc import Callable

from stdnum import iban, luhn

FIRST = ["Ana", "Ben", "Chloé", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kemal", "Lena"]
LAST = ["Okafor", "Smith", "Müller", "Tanaka", "Silva", "Nowak", "Haddad", "Larsen", "Rossi", "Kim"]
STREETS = ["Main St", "Oak Avenue", "Rue de la Paix", "Baker Street", "Elm Road", "Hauptstraße"]
CITIES = ["Seattle", "Lyon", "Leeds", "Osaka", "Porto", "Kraków", "Austin", "Ghent"]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
]
WORDS = ["the", "order", "arrived", "late", "and", "box", "was", "damaged", "please", "call", "me", "back",
         "about", "a", "refund", "thanks"]  # fmt: skip
SAMPLE = 40


def _email(r: random.Random) -> str:
    local = f"{r.choice(FIRST)}.{r.choice(LAST)}{r.randrange(100)}".lower()
    return unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode() + "@example.org"


def _phone(r: random.Random) -> str:
    return f"+1 {r.choice([206, 415, 312, 617])} {r.randrange(200, 999)} {r.randrange(1000, 9999)}"


def _card(r: random.Random) -> str:
    body = "4" + "".join(str(r.randrange(10)) for _ in range(14))
    return body + luhn.calc_check_digit(body)


def _iban(r: random.Random) -> str:
    bban = f"{r.randrange(10**7, 10**8)}{r.randrange(10**9, 10**10)}"
    return f"DE{iban.calc_check_digits('DE00' + bban)}{bban}"


def _vin(r: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    # ISO 3779 transliteration: A-H 1-8, J-N 1-5, P 7, R 9, S-Z 2-9.
    values = dict(zip("ABCDEFGHJKLMNPRSTUVWXYZ", [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9],
                      strict=True))  # fmt: skip
    values |= {str(d): d for d in range(10)}
    vin = [r.choice(alphabet) for _ in range(17)]
    check = sum(values[c] * w for c, w in zip(vin, weights, strict=True)) % 11
    vin[8] = "X" if check == 10 else str(check)
    return "".join(vin)


def _date(r: random.Random, first: int, last: int) -> str:
    return f"{r.randrange(first, last)}-{r.randrange(1, 13):02d}-{r.randrange(2, 29):02d}"


def _text(r: random.Random) -> str:
    return " ".join(r.choice(WORDS) for _ in range(r.randrange(5, 14))).capitalize() + "."


BY_LABEL: dict[str, Callable[[random.Random], str]] = {
    "email": _email,
    "phone": _phone,
    "person_name": lambda r: f"{r.choice(FIRST)} {r.choice(LAST)}",
    "address": lambda r: f"{r.randrange(1, 999)} {r.choice(STREETS)}",
    "ip_address": lambda r: f"{r.randrange(11, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
    "geo": lambda r: f"{r.uniform(-60, 60):.6f}",
    "date_of_birth": lambda r: _date(r, 1940, 2006),
    "date_of_death": lambda r: _date(r, 1990, 2025),
    "user_agent": lambda r: r.choice(AGENTS).format(v=r.randrange(1, 130)),
    "free_text": _text,
    "gender": lambda r: r.choice(["F", "M", "X"]),
    "ethnicity": lambda r: r.choice(["Hispanic or Latino", "Not Hispanic or Latino", "Asian", "White"]),
    "age": lambda r: str(r.randrange(18, 95)),
    "health_id": lambda r: f"MRN{r.randrange(10**6, 10**7)}",
    "username": lambda r: f"{r.choice(FIRST).lower()[:3]}{r.choice(LAST).lower()[:4]}{r.randrange(99)}",
    "card_number": _card,
    "iban": _iban,
    "vehicle_id": _vin,
    "national_id": lambda r: f"{r.randrange(100, 665)}-{r.randrange(10, 99)}-{r.randrange(1000, 9999)}",
    "tax_id": lambda r: f"{r.randrange(10, 99)}-{r.randrange(10**6, 10**7)}",
    "bank_account": lambda r: str(r.randrange(10**9, 10**12)),
    "routing_number": lambda r: r.choice(["021000021", "011401533", "091000019", "122105155"]),
    "drivers_license": lambda r: f"{r.choice('ABCDEFGHJKLMNPRSTWY')}{r.randrange(10**7, 10**8)}",
    "device_id": lambda r: f"{r.getrandbits(128):032x}",
    "cvv": lambda r: f"{r.randrange(100, 1000)}",
}


def _business(column: str) -> Callable[[random.Random], str]:
    lowered = column.lower()
    if "phone" in lowered or "fax" in lowered:
        return _phone
    if "mail" in lowered:
        return _email
    if "lat" in lowered or "lon" in lowered:
        return BY_LABEL["geo"]
    return BY_LABEL["address"]


def _unlabeled(column: str, data_type: str) -> Callable[[random.Random], str]:
    """What a column labeled `none` holds, by what its name or type promises."""
    lowered, kind = column.lower(), data_type.lower()
    if lowered.endswith(("_at", "_date", "date", "timestamp", "_synced")) or "date" in kind or "time" in kind:
        return lambda r: _date(r, 2015, 2026) + f" {r.randrange(24):02d}:{r.randrange(60):02d}:00"
    if lowered.startswith(("is_", "has_", "_fivetran_active")) or "bool" in kind:
        return lambda r: r.choice(["true", "false"])
    if lowered == "id" or lowered.endswith("_id") or "int" in kind:
        return lambda r: str(r.randrange(1, 10**9))
    if any(word in lowered for word in ("amount", "price", "total", "count", "tax", "number")):
        return lambda r: f"{r.randrange(0, 10**6) / 100:.2f}"
    return lambda r: r.choice(["active", "pending", "closed", "open", "archived", "draft"])


def values_for(source: str, relation: str, column: str, label: str, data_type: str) -> list[str]:
    """``SAMPLE`` synthetic values for one column, the same on every run."""
    r = random.Random(zlib.crc32(f"{source}|{relation}|{column}".encode()))
    if label == "business_contact":
        make = _business(column)
    elif label in BY_LABEL:
        make = BY_LABEL[label]
    else:
        make = _unlabeled(column, data_type)
    return [make(r) for _ in range(SAMPLE)]

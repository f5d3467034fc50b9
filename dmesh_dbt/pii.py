"""The PII vocabulary: classes, masking strategies and the mesh-wide default strategy of each class.

The vocabulary is data (``data/mesh_policy.yml``); these enums mirror it so code can name members, and a unit
test keeps the two equal.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import parse_yaml

#: The column meta value that marks a column as reviewed and not PII (with a ``pii_reason``).
NOT_PII = "none"


class PiiClass(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    PERSON_NAME = "person_name"
    ADDRESS = "address"
    NATIONAL_ID = "national_id"
    TAX_ID = "tax_id"
    CARD_NUMBER = "card_number"
    CARD_EXPIRY = "card_expiry"
    BANK_ACCOUNT = "bank_account"
    IBAN = "iban"
    ROUTING_NUMBER = "routing_number"
    IP_ADDRESS = "ip_address"
    DATE_OF_BIRTH = "date_of_birth"
    GEO = "geo"
    DEVICE_ID = "device_id"
    FREE_TEXT = "free_text"
    GENDER = "gender"
    AGE = "age"
    ETHNICITY = "ethnicity"
    DATE_OF_DEATH = "date_of_death"
    USER_AGENT = "user_agent"
    HEALTH_ID = "health_id"
    VEHICLE_ID = "vehicle_id"
    DRIVERS_LICENSE = "drivers_license"
    USERNAME = "username"
    BUSINESS_CONTACT = "business_contact"


class ForbiddenClass(StrEnum):
    """Sensitive authentication data: no model may carry it, masked or not."""

    CVV = "cvv"
    CARD_TRACK = "card_track"
    PIN = "pin"


class Strategy(StrEnum):
    HASH = "hash"
    REDACT = "redact"
    PARTIAL = "partial"
    EMAIL_DOMAIN = "email_domain"
    DATE_YEAR = "date_year"
    DATE_MONTH = "date_month"
    GEO_COARSE = "geo_coarse"
    NULL = "null"


#: Strategies ordered from weakest to strongest protection; used to tell "masking weakened" apart.
STRATEGY_STRENGTH: dict[Strategy, int] = {
    Strategy.PARTIAL: 1,
    Strategy.EMAIL_DOMAIN: 2,
    Strategy.DATE_MONTH: 2,
    Strategy.GEO_COARSE: 2,
    Strategy.DATE_YEAR: 3,
    Strategy.HASH: 4,
    Strategy.REDACT: 5,
    Strategy.NULL: 5,
}


class ScanThresholds(msgspec.Struct, frozen=True):
    """How sure ``scan`` must be to report a values-only suspect and to classify a finding (``scan:`` in the policy)."""

    report: float = 0.5
    classify: float = 0.5


#: The shipped thresholds (a module constant: a frozen record made once, not a call in every signature).
SHIPPED_SCAN_THRESHOLDS = ScanThresholds()


class MeshPolicy(msgspec.Struct, frozen=True):
    """The mesh-wide PII vocabulary as loaded from YAML."""

    default_strategy: dict[PiiClass, Strategy]
    forbidden: frozenset[ForbiddenClass]
    #: Classes hashed with the shared mesh key, so their hashes join across domains; the rest use the domain's key.
    joinable: frozenset[PiiClass] = frozenset()
    #: Classes whose value space can be hashed in full, with its size as a power of ten.
    enumerable: Mapping[PiiClass, int] = msgspec.field(default_factory=dict)
    scan: ScanThresholds = SHIPPED_SCAN_THRESHOLDS

    def strategy_for(self, pii_class: PiiClass, override: str | None = None) -> Strategy:
        """The strategy a column of ``pii_class`` gets, honouring a column-level ``mask:`` override."""
        if override is None:
            return self.default_strategy[pii_class]
        return parse_strategy(override)


def parse_pii_class(value: str) -> PiiClass:
    """``value`` as a PII class, or a ConfigError listing the known classes."""
    try:
        return PiiClass(value)
    except ValueError:
        known = ", ".join(c.value for c in PiiClass)
        raise ConfigError(f"unknown PII class {value!r}; use one of: {known}") from None


def parse_strategy(value: str) -> Strategy:
    """``value`` as a masking strategy, or a ConfigError listing the known strategies."""
    try:
        return Strategy(value)
    except ValueError:
        known = ", ".join(s.value for s in Strategy)
        raise ConfigError(f"unknown masking strategy {value!r}; use one of: {known}") from None


#: The mesh policy shipped with the toolkit: a file beside this module, as in the wheel (importlib.resources would
#: cost every command its import).
SHIPPED_POLICY = Path(__file__).parent / "data" / "mesh_policy.yml"


@cache
def shipped_policy_bytes() -> bytes:
    """The bytes of the mesh policy shipped with the toolkit, read once per process: the vocabulary here and the
    mesh policy (``policy.mesh``, which also digests them) both start from them."""
    return SHIPPED_POLICY.read_bytes()


@cache
def _shipped_document() -> dict[str, Any]:
    # Parsed once per process: a check asked for it twice (the vocabulary and the mesh policy), 0.7 ms each.
    document: dict[str, Any] = parse_yaml(shipped_policy_bytes().decode("utf-8"))
    return document


def policy_document() -> dict[str, Any]:
    """The raw mesh policy shipped with the toolkit: the caller's own copy, free to change."""
    return copy.deepcopy(_shipped_document())


@cache
def mesh_policy() -> MeshPolicy:
    """The mesh policy shipped with the toolkit, parsed into enums."""
    document = policy_document()
    defaults = {parse_pii_class(k): parse_strategy(v) for k, v in document["pii_classes"].items()}
    forbidden = frozenset(ForbiddenClass(c) for c in document["forbidden_classes"])
    joinable = frozenset(parse_pii_class(c) for c in document.get("joinable") or [])
    enumerable = {parse_pii_class(c): int(size) for c, size in (document.get("enumerable") or {}).items()}
    return MeshPolicy(defaults, forbidden, joinable, enumerable, parse_scan_thresholds(document.get("scan") or {}))


def parse_scan_thresholds(
    section: Mapping[str, Any], where: str = "mesh policy", defaults: ScanThresholds = SHIPPED_SCAN_THRESHOLDS
) -> ScanThresholds:
    """The ``scan:`` thresholds of ``where``, each a number from 0 to 1 (``defaults`` for those it leaves out); a
    ConfigError naming the bad one otherwise."""
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where} `scan:` must be a mapping, e.g. scan: {{report: 0.5, classify: 0.5}}")
    unknown = set(section) - {"report", "classify"}
    if unknown:
        raise ConfigError(f"{where} `scan:` has unknown keys {sorted(unknown)}; use `report` and `classify`")
    values = {key: section.get(key, getattr(defaults, key)) for key in ("report", "classify")}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigError(f"{where} `scan.{key}` is {value!r}; use a confidence from 0 to 1, e.g. 0.5")
    return ScanThresholds(float(values["report"]), float(values["classify"]))


def stricter_scan_thresholds(platform: ScanThresholds, section: Mapping[str, Any], where: str) -> ScanThresholds:
    """A domain's ``scan:`` thresholds over the platform's: only stricter, never looser (fail closed).

    Stricter is a lower ``report`` (values-only suspects it reports that the platform would drop) and a higher
    ``classify`` (fewer findings written without a review). A looser value would hide findings the platform wants
    seen: a ConfigError naming it, so that the scan never runs quieter than the platform's policy.
    """
    wanted = parse_scan_thresholds(section, where, platform)
    if wanted.report > platform.report:
        raise ConfigError(
            f"{where} `scan.report` {wanted.report} is above the mesh policy's {platform.report}: a domain may only "
            f"make the scan stricter; remove it or set it to {platform.report} or lower"
        )
    if wanted.classify < platform.classify:
        raise ConfigError(
            f"{where} `scan.classify` {wanted.classify} is below the mesh policy's {platform.classify}: a domain may "
            f"only make the scan stricter; remove it or set it to {platform.classify} or higher"
        )
    return wanted

"""Masking as the Python tools see it: how a public model is published, and with which masking per column.

The ``dmesh`` dbt package (``macros/``) does the masking in SQL inside every domain's ``dbt build``. Tools that
never run SQL (``check``, ``publish``, ``consume``) still need its rules: where the published relation of a
model lives, what each column becomes, which exceptions publish a column unmasked, and where the key comes
from. This module states those rules once, in the words of ``macros/masking/column_masking.sql`` and
``macros/publish/published_relation.sql``; the integration tests build real projects and hold both to them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import msgspec

from dmesh_dbt.errors import ConfigError, PolicyViolation
from dmesh_dbt.pii import NOT_PII, ForbiddenClass, MeshPolicy, PiiClass, Strategy, mesh_policy

DEVELOPMENT_TARGET = "dev"
#: The fewest bytes of key material a target other than ``dev`` accepts.
MIN_KEY_BYTES = 32
#: HMAC-SHA256 computations per second and core, measured in C on this project's 2-core machine (docs/masking.md):
#: how fast anyone holding a key hashes every candidate value.
ENUMERATION_HMACS_PER_SECOND = 3_000_000
#: A command that prints a strong key, offered in every weak-key message.
GENERATE_KEY = "`openssl rand -hex 32`"
#: One row per key scope: DuckDB keeps it in a temporary table of the publishing connection (never in the file);
#: Postgres and BigQuery in the domain's private schema.
KEY_TABLE = "dmesh_masking_keys"
#: The single-key table of earlier versions; every build drops it.
LEGACY_KEY_TABLE = "dmesh_masking_key"
PUBLISHED_SCHEMA_SUFFIX = "_published"
REDACTED = "[REDACTED]"

#: Strategies whose output is text whatever the column's type was; every other strategy keeps the type.
TEXT_STRATEGIES = frozenset({Strategy.HASH, Strategy.REDACT, Strategy.PARTIAL, Strategy.EMAIL_DOMAIN})
#: What each engine calls the text type the text strategies produce (dbt's ``type_string()``).
TEXT_TYPE = {"duckdb": "varchar", "postgres": "text", "bigquery": "string"}


class ForbiddenPiiClass(PolicyViolation):
    """A column carries a class no model may carry (PCI DSS sensitive authentication data)."""


class UnknownPiiClass(ConfigError):
    """A column's ``pii:`` names no class of the mesh policy."""


class IncompleteMaskException(ConfigError):
    """A column's ``mask_exception`` lacks its reason or its approver."""


class KeyScope(StrEnum):
    """Which key a ``hash`` uses: the producing domain's own, or the key every domain of the mesh shares."""

    DOMAIN = "domain"
    MESH = "mesh"


class KeySource(msgspec.Struct, frozen=True):
    """Where the key of one scope comes from, as ``macros/masking/masking_key.sql`` reads it."""

    env: str
    var: str
    #: Public on purpose: the ``dev`` target hashes with it (and says so) when no key is set. Protects nothing.
    development_key: str


KEY_SOURCES: dict[KeyScope, KeySource] = {
    KeyScope.DOMAIN: KeySource("DMESH_MASKING_KEY", "dmesh_masking_key", "dmesh-development-key-not-secret"),
    KeyScope.MESH: KeySource("DMESH_MESH_KEY", "dmesh_mesh_key", "dmesh-development-mesh-key-not-secret"),
}
MASKING_KEY_ENV = KEY_SOURCES[KeyScope.DOMAIN].env
MESH_KEY_ENV = KEY_SOURCES[KeyScope.MESH].env
DEVELOPMENT_MASKING_KEY = KEY_SOURCES[KeyScope.DOMAIN].development_key
DEVELOPMENT_MESH_KEY = KEY_SOURCES[KeyScope.MESH].development_key


class MaskingKeys(msgspec.Struct, frozen=True):
    """The two keys a domain hashes with."""

    domain: str
    mesh: str

    def for_scope(self, scope: KeyScope) -> str:
        return self.mesh if scope is KeyScope.MESH else self.domain

    def __repr__(self) -> str:
        # Never the keys: a repr lands in tracebacks (--debug), pytest's assertion messages and logs.
        return f"{type(self).__name__}(domain=<redacted>, mesh=<redacted>)"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # rich's pretty printer (and its tracebacks' locals) asks this before __repr__; a Struct's own lists values.
        return [("domain", "<redacted>"), ("mesh", "<redacted>")]


#: What the ``dev`` target hashes with when no key is set.
DEVELOPMENT_KEYS = MaskingKeys(domain=DEVELOPMENT_MASKING_KEY, mesh=DEVELOPMENT_MESH_KEY)


def weak_key_problem(key: str, variable: str, target: str) -> str | None:
    """Why ``key`` (the value of the environment variable ``variable``) must not mask data on ``target``, or None.

    Applies to every target but ``dev``: fewer than 32 bytes, surrounding whitespace, or a public development key.
    ``macros/masking/weak_key_problem.sql`` is the same rule with the same words.
    """
    fix = f"set {variable} to a random secret of {MIN_KEY_BYTES} bytes or more, e.g. the output of " + GENERATE_KEY
    if key in {source.development_key for source in KEY_SOURCES.values()}:
        return f"dmesh: {variable} is a public development key, which protects nothing on target '{target}': {fix}"
    if key != key.strip():
        return (
            f"dmesh: {variable} starts or ends with whitespace (a pasted newline?) on target '{target}': "
            f"{fix}, without surrounding whitespace"
        )
    size = len(key.encode())
    if size < MIN_KEY_BYTES:
        return f"dmesh: {variable} is too weak for target '{target}' ({size} bytes, fewer than {MIN_KEY_BYTES}): {fix}"
    return None


def enumeration_time(value_space_log10: int, cores: int = 2) -> str:
    """How long hashing all 10^``value_space_log10`` candidate values takes on ``cores`` cores, in words."""
    seconds = 10**value_space_log10 / (ENUMERATION_HMACS_PER_SECOND * cores)
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"about {round(seconds / size)} {unit}"
    return "under 2 minutes" if seconds >= 1 else "under a second"


def key_scope(pii_class: PiiClass, policy: MeshPolicy | None = None) -> KeyScope:
    """The key a ``hash`` of a ``pii_class`` column uses: the mesh key for joinable classes, else the domain's own,
    so no other domain can reverse the hash by hashing every candidate value (``macros/masking/key_scopes.sql``)."""
    policy = policy or mesh_policy()
    return KeyScope.MESH if pii_class in policy.joinable else KeyScope.DOMAIN


class IdentifierRules(msgspec.Struct, frozen=True):
    """How an engine reads a column name written in SQL (``macros/masking/column_key.sql`` says the same)."""

    quote: str = '"'
    folds_unquoted_to_lower: bool = False
    case_sensitive: bool = False


#: DuckDB (the default): quoted names keep their case, but no two columns may differ in case only. PostgreSQL folds
#: unquoted names to lower case and tells quoted names apart by case. BigQuery column names ignore case.
IDENTIFIER_RULES = {
    "postgres": IdentifierRules(folds_unquoted_to_lower=True, case_sensitive=True),
    "bigquery": IdentifierRules(quote="`"),
}
_DEFAULT_IDENTIFIER_RULES = IdentifierRules()


class MaskException(msgspec.Struct, frozen=True):
    """An approved decision to publish one PII column unmasked (column meta ``mask_exception``)."""

    reason: str
    approver: str


class ColumnMasking(msgspec.Struct, frozen=True):
    """How one column of a public model reaches its published relation."""

    column: str
    pii_class: PiiClass | None
    strategy: Strategy | None
    exception: MaskException | None = None
    key_scope: KeyScope = KeyScope.DOMAIN

    @property
    def masked(self) -> bool:
        return self.strategy is not None and self.exception is None


def column_masking(model: str, column: str, meta: Mapping[str, Any], policy: MeshPolicy | None = None) -> ColumnMasking:
    """The masking of ``model.column`` from its merged column meta, as the macros decide it.

    Raises ForbiddenPiiClass for a forbidden class, UnknownPiiClass for an unknown class, ConfigError for an
    unknown strategy and IncompleteMaskException for an incomplete ``mask_exception``, with the same wording
    as the macros' compilation errors.
    """
    policy = policy or mesh_policy()
    where = f"column {model}.{column}"
    raw_class = meta.get("pii")
    if raw_class is None or raw_class == NOT_PII:
        return ColumnMasking(column=column, pii_class=None, strategy=None)
    if raw_class in {c.value for c in ForbiddenClass}:
        raise ForbiddenPiiClass(
            f"{where} is classified {raw_class!r}, which no model may carry (PCI DSS sensitive authentication "
            "data): drop the column"
        )
    pii_class = _known_class(where, str(raw_class), policy)
    strategy = policy.strategy_for(pii_class, meta.get("mask"))
    exception = _mask_exception(where, meta.get("mask_exception"))
    return ColumnMasking(column, pii_class, strategy, exception, key_scope(pii_class, policy))


def warehouse_column_name(name: str, adapter: str, quote: bool = False) -> str:
    """The name the warehouse gives the column a YAML entry calls ``name``, as dbt's contract check finds it.

    dbt renders a YAML column name into SQL as written (quoted only when the entry says ``quote: true``), so the
    name is SQL: blanks around it go, quotes keep it exact, and PostgreSQL folds it to lower case when unquoted.
    """
    if quote:
        return name
    rules = IDENTIFIER_RULES.get(adapter, _DEFAULT_IDENTIFIER_RULES)
    text = name.strip()
    if len(text) >= 2 and text[0] == rules.quote and text[-1] == rules.quote:
        return text[1:-1].replace(rules.quote * 2, rules.quote)
    return text.lower() if rules.folds_unquoted_to_lower else text


def column_key(name: str, adapter: str) -> str:
    """The key under which the warehouse takes two real column names for one column (``ssn`` and ``SSN`` on
    DuckDB and BigQuery; only equal names on PostgreSQL). Match YAML to relations by it, never by raw name."""
    return name if IDENTIFIER_RULES.get(adapter, _DEFAULT_IDENTIFIER_RULES).case_sensitive else name.lower()


def yaml_column_key(name: str, adapter: str, entry: Mapping[str, Any] | None = None) -> str:
    """``column_key`` of the column a YAML entry (``entry``: its dict, for ``quote``) calls ``name``."""
    return column_key(warehouse_column_name(name, adapter, bool((entry or {}).get("quote"))), adapter)


def _known_class(where: str, value: str, policy: MeshPolicy) -> PiiClass:
    try:
        pii_class = PiiClass(value)
    except ValueError:
        pii_class = None
    if pii_class is None or pii_class not in policy.default_strategy:
        known = ", ".join(sorted(c.value for c in policy.default_strategy))
        raise UnknownPiiClass(f"{where} has unknown PII class {value!r}: use one of {known}")
    return pii_class


def _mask_exception(where: str, value: object) -> MaskException | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value.get("reason") or not value.get("approver"):
        raise IncompleteMaskException(
            f"{where} has a mask_exception without both a reason and an approver: write "
            "mask_exception: {reason: ..., approver: ...}"
        )
    return MaskException(reason=str(value["reason"]), approver=str(value["approver"]))


def published_identifier(model_name: str, version: str | int | float | None = None, alias: str | None = None) -> str:
    """The published relation's name: the model's alias when known, which dbt defaults to the model's name plus
    ``_v<version>`` for a versioned model (v1 of a newly versioned model keeps its old name through its alias)."""
    if alias:
        return alias
    return model_name if version is None else f"{model_name}_v{version}"


def published_schema(target_schema: str, configured: str | None = None) -> str:
    """The domain's published schema: the var ``dmesh_published_schema``, else ``<target schema>_published``."""
    return configured or f"{target_schema}{PUBLISHED_SCHEMA_SUFFIX}"


def published_data_type(masking: ColumnMasking, data_type: str, adapter: str) -> str:
    """The column's type in the published relation: text for the text strategies, else its own type."""
    if not masking.masked or masking.strategy not in TEXT_STRATEGIES:
        return data_type
    try:
        return TEXT_TYPE[adapter]
    except KeyError:
        supported = ", ".join(sorted(TEXT_TYPE))
        raise ConfigError(f"dmesh masks on {supported} only, not {adapter!r}") from None


def dbt_vars(policy: MeshPolicy | None = None) -> dict[str, Any]:
    """The dbt vars through which the macros read the mesh policy (rendered into a domain's dbt_project.yml)."""
    policy = policy or mesh_policy()
    return {
        "dmesh_pii_classes": {c.value: s.value for c, s in policy.default_strategy.items()},
        "dmesh_forbidden_pii_classes": sorted(c.value for c in policy.forbidden),
        "dmesh_joinable_pii_classes": sorted(c.value for c in policy.joinable),
    }


#: Bytes of the HMAC-SHA256 digest the ``hash`` strategy publishes: the first 16 (HMAC-SHA256-128, truncated as RFC
#: 2104 section 5 and RFC 4868 allow), which a consumer reads at raw speed where 32 bytes in hex cost 1.3-1.6x
#: (docs/masking.md, "Choosing the representation").
HASH_BYTES = 16
#: Characters of a published hash: base64url of ``HASH_BYTES`` bytes, without its ``==`` padding.
HASH_CHARACTERS = 22
#: A published hash. 22 characters carry 132 bits, so the last holds the digest's last 2 bits and 4 zero bits: it is
#: one of ``A Q g w``.
HASH_PATTERN = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")


def hash_value(key: str, value: str) -> str:
    """What the ``hash`` strategy publishes for ``value``: HMAC-SHA256 keyed with ``key``, its first 16 bytes in
    base64url without padding (22 characters of ``A-Z a-z 0-9 - _``), as every engine's ``dmesh.mask_hash`` does.

    Lets a consumer who holds the key look a value up (``where email = hash_value(key, 'a@b.com')``).
    """
    import base64  # here: loading OpenSSL costs every check (which hashes nothing) a few milliseconds
    import hashlib
    import hmac

    digest = hmac.new(key.encode(), value.encode(), hashlib.sha256).digest()[:HASH_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


#: SHA-256's block size: HMAC pads the key to it.
HMAC_BLOCK_SIZE = 64


def hmac_pads(key: str) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer pads of ``key`` (RFC 2104), as the DuckDB and BigQuery macros derive them: the
    key, hashed when longer than the block, zero-padded and XORed with 0x36 and 0x5c. Each gives the key back."""
    import hashlib  # here, as in hmac_sha256: most commands hash nothing

    raw = key.encode()
    block = (hashlib.sha256(raw).digest() if len(raw) > HMAC_BLOCK_SIZE else raw).ljust(HMAC_BLOCK_SIZE, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def hash_column_value(masking: ColumnMasking, keys: MaskingKeys, value: str) -> str:
    """What the ``hash`` strategy publishes for ``value`` in the column ``masking`` describes: keyed with the domain's
    key, or the mesh key for a joinable class, as the macros choose it."""
    return hash_value(keys.for_scope(masking.key_scope), value)


def published_materialization(adapter: str, requested: str | None) -> str:
    """``view`` or ``table``, as ``dmesh.published_materialization`` decides it: what the model's meta or the var
    asks for (default view), except on DuckDB, which always publishes a table (no key is needed to read it)."""
    if adapter == "duckdb":
        return "table"
    return requested or "view"

"""Masking as the Python tools see it: how a public model is published, and with which masking per column.

The ``dmesh`` dbt package (``macros/``) does the masking in SQL inside every domain's ``dbt build``. Tools that
never run SQL (``check``, ``publish``, ``consume``) still need its rules: where the published relation of a
model lives, what each column becomes, which exceptions publish a column unmasked, and where the key comes
from. This module states those rules once, in the words of ``macros/masking/column_masking.sql`` and
``macros/publish/published_relation.sql``; the integration tests build real projects and hold both to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dmesh_dbt.errors import ConfigError, PolicyViolation
from dmesh_dbt.pii import NOT_PII, ForbiddenClass, MeshPolicy, PiiClass, Strategy, mesh_policy

#: The environment variable that carries the masking key (the dbt var of the same role is ``dmesh_masking_key``).
MASKING_KEY_ENV = "DMESH_MASKING_KEY"
MASKING_KEY_VAR = "dmesh_masking_key"
#: Public on purpose: the ``dev`` target hashes with it (and warns) when no key is set. Never protects anything.
DEVELOPMENT_MASKING_KEY = "dmesh-development-key-not-secret"
DEVELOPMENT_TARGET = "dev"
#: The one-row table in the domain's private schema that holds the key (or its HMAC pads) for published views.
KEY_TABLE = "dmesh_masking_key"
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


@dataclass(frozen=True)
class IdentifierRules:
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


@dataclass(frozen=True)
class MaskException:
    """An approved decision to publish one PII column unmasked (column meta ``mask_exception``)."""

    reason: str
    approver: str


@dataclass(frozen=True)
class ColumnMasking:
    """How one column of a public model reaches its published relation."""

    column: str
    pii_class: PiiClass | None
    strategy: Strategy | None
    exception: MaskException | None = None

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
    return ColumnMasking(column, pii_class, strategy, _mask_exception(where, meta.get("mask_exception")))


def warehouse_column_name(name: str, adapter: str, quote: bool = False) -> str:
    """The name the warehouse gives the column a YAML entry calls ``name``, as dbt's contract check finds it.

    dbt renders a YAML column name into SQL as written (quoted only when the entry says ``quote: true``), so the
    name is SQL: blanks around it go, quotes keep it exact, and PostgreSQL folds it to lower case when unquoted.
    """
    if quote:
        return name
    rules = IDENTIFIER_RULES.get(adapter, IdentifierRules())
    text = name.strip()
    if len(text) >= 2 and text[0] == rules.quote and text[-1] == rules.quote:
        return text[1:-1].replace(rules.quote * 2, rules.quote)
    return text.lower() if rules.folds_unquoted_to_lower else text


def column_key(name: str, adapter: str) -> str:
    """The key under which the warehouse takes two real column names for one column (``ssn`` and ``SSN`` on
    DuckDB and BigQuery; only equal names on PostgreSQL). Match YAML to relations by it, never by raw name."""
    return name if IDENTIFIER_RULES.get(adapter, IdentifierRules()).case_sensitive else name.lower()


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
    }


def hash_value(key: str, value: str) -> str:
    """What the ``hash`` strategy publishes for ``value``: HMAC-SHA256 keyed with ``key``, lowercase hex.

    Lets a consumer who holds the key look a value up (``where email = hash_value(key, 'a@b.com')``).
    """
    import hashlib  # here: loading OpenSSL costs every check (which hashes nothing) a few milliseconds
    import hmac

    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()

"""dmesh_dbt.masking: the publishing rules the Python tools share with the dmesh macros."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path

import pytest

from dmesh_dbt.errors import ConfigError, PolicyViolation
from dmesh_dbt.masking import (
    DEVELOPMENT_MASKING_KEY,
    DEVELOPMENT_MESH_KEY,
    HASH_BYTES,
    HASH_CHARACTERS,
    IDENTIFIER_RULES,
    KEY_SOURCES,
    IdentifierRules,
    KeyScope,
    MaskException,
    MaskingKeys,
    column_key,
    column_masking,
    dbt_vars,
    hash_column_value,
    hash_value,
    hmac_pads,
    published_data_type,
    published_identifier,
    published_materialization,
    published_schema,
    warehouse_column_name,
    weak_key_problem,
    yaml_column_key,
)
from dmesh_dbt.pii import PiiClass, Strategy, mesh_policy, policy_document

MACROS = Path(__file__).resolve().parents[2] / "macros"


def test_a_column_gets_its_class_default_strategy() -> None:
    masking = column_masking("customers", "email", {"pii": "email"})
    assert (masking.pii_class, masking.strategy, masking.masked) == (PiiClass.EMAIL, Strategy.HASH, True)


def test_a_mask_override_wins_over_the_class_default() -> None:
    masking = column_masking("customers", "email", {"pii": "email", "mask": "email_domain"})
    assert masking.strategy == Strategy.EMAIL_DOMAIN


@pytest.mark.parametrize("meta", [{}, {"pii": "none", "pii_reason": "a product code"}, {"owner": "x"}])
def test_a_column_that_is_not_pii_is_published_as_is(meta: dict[str, object]) -> None:
    masking = column_masking("customers", "city", meta)
    assert (masking.pii_class, masking.strategy, masking.masked) == (None, None, False)


def test_an_approved_exception_leaves_the_column_unmasked() -> None:
    meta = {"pii": "ip_address", "mask_exception": {"reason": "fraud joins", "approver": "dpo@example.com"}}
    masking = column_masking("customers", "ip_address", meta)
    assert masking.exception == MaskException(reason="fraud joins", approver="dpo@example.com")
    assert masking.strategy == Strategy.HASH and not masking.masked


@pytest.mark.parametrize(
    ("meta", "error", "message"),
    [
        ({"pii": "cvv"}, PolicyViolation, "column payments.c is classified 'cvv', which no model may carry"),
        ({"pii": "e-mail"}, ConfigError, "column payments.c has unknown PII class 'e-mail': use one of address,"),
        ({"pii": "email", "mask": "scramble"}, ConfigError, "unknown masking strategy 'scramble'"),
        ({"pii": "email", "mask_exception": {"reason": "r"}}, ConfigError, "without both a reason and an approver"),
        ({"pii": "email", "mask_exception": "yes"}, ConfigError, "without both a reason and an approver"),
    ],
)
def test_meta_that_breaks_the_policy_is_refused_with_the_fix(
    meta: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        column_masking("payments", "c", meta)


def test_published_relation_names() -> None:
    assert published_identifier("customers") == "customers"
    assert published_identifier("customers", 2) == "customers_v2"
    assert published_schema("payments") == "payments_published"
    assert published_schema("payments", "mesh_products") == "mesh_products"


@pytest.mark.parametrize(
    ("meta", "adapter", "expected"),
    [
        ({"pii": "email"}, "duckdb", "varchar"),
        ({"pii": "card_number"}, "postgres", "text"),
        ({"pii": "routing_number"}, "bigquery", "string"),
        ({"pii": "date_of_birth"}, "bigquery", "DATE"),
        ({"pii": "geo"}, "postgres", "DATE"),
        ({"pii": "email", "mask": "null"}, "duckdb", "DATE"),
        ({}, "duckdb", "DATE"),
    ],
)
def test_published_type_is_text_for_text_strategies_and_the_raw_type_otherwise(
    meta: dict[str, object], adapter: str, expected: str
) -> None:
    assert published_data_type(column_masking("m", "c", meta), "DATE", adapter) == expected


def test_published_type_on_an_unsupported_adapter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not 'snowflake'"):
        published_data_type(column_masking("m", "c", {"pii": "email"}), "varchar", "snowflake")


def test_dbt_vars_carry_the_mesh_policy_verbatim() -> None:
    document = policy_document()
    assert dbt_vars() == {
        "dmesh_pii_classes": document["pii_classes"],
        "dmesh_forbidden_pii_classes": sorted(document["forbidden_classes"]),
        "dmesh_joinable_pii_classes": sorted(document["joinable"]),
    }


def test_hash_value_is_hmac_sha256_truncated_to_128_bits_in_base64url() -> None:
    # RFC 4231, test case 2: 5bdcc146bf60754e6a042426089575c7 5a00...; its first 16 bytes, base64url, no padding.
    expected = base64.urlsafe_b64encode(bytes.fromhex("5bdcc146bf60754e6a042426089575c7")).decode().rstrip("=")
    assert hash_value("Jefe", "what do ya want for nothing?") == expected == "W9zBRr9gdU5qBCQmCJV1xw"
    assert len(expected) == HASH_CHARACTERS


def test_macros_implement_exactly_the_strategies_of_the_vocabulary() -> None:
    text = (MACROS / "masking" / "masking_strategies.sql").read_text()
    assert set(re.findall(r"'(\w+)': dmesh\.mask_", text)) == {s.value for s in Strategy}


def test_macros_and_python_share_the_development_key() -> None:
    assert f"'{DEVELOPMENT_MASKING_KEY}'" in (MACROS / "masking" / "masking_key.sql").read_text()


@pytest.mark.parametrize(
    ("yaml_name", "adapter", "quote", "expected"),
    [
        ("ssn", "duckdb", False, "ssn"),
        ("ssn ", "duckdb", False, "ssn"),  # dbt renders the name into SQL, where blanks around it vanish
        (" ssn", "postgres", False, "ssn"),
        ("SSN", "duckdb", False, "SSN"),  # DuckDB keeps the case it is given
        ("SSN", "postgres", False, "ssn"),  # PostgreSQL folds unquoted names to lower case
        ("SSN", "bigquery", False, "SSN"),
        ('"Ssn"', "postgres", False, "Ssn"),  # quoted: exact
        (' "Ssn" ', "duckdb", False, "Ssn"),
        ('"a""b"', "postgres", False, 'a"b'),
        ("`Ssn`", "bigquery", False, "Ssn"),
        ('"Ssn"', "bigquery", False, '"Ssn"'),  # BigQuery quotes with backticks only
        ("ssn ", "postgres", True, "ssn "),  # `quote: true`: dbt quotes the name exactly as written
        ("SSN", "snowflake", False, "SSN"),
    ],
)
def test_a_yaml_name_is_the_column_the_warehouse_makes_of_it(
    yaml_name: str, adapter: str, quote: bool, expected: str
) -> None:
    assert warehouse_column_name(yaml_name, adapter, quote) == expected


@pytest.mark.parametrize(
    ("names", "adapter", "same"),
    [
        (("ssn", "SSN"), "duckdb", True),
        (("ssn", "SSN"), "bigquery", True),
        (("ssn", "Ssn"), "postgres", False),
        (("ssn", "ssn"), "postgres", True),
    ],
)
def test_real_names_are_one_column_as_the_warehouse_decides(names: tuple[str, str], adapter: str, same: bool) -> None:
    assert (column_key(names[0], adapter) == column_key(names[1], adapter)) is same


def test_a_yaml_entry_keys_like_the_real_column_it_names() -> None:
    assert yaml_column_key('"ssn "', "postgres") != column_key("ssn", "postgres")
    assert yaml_column_key("ssn ", "postgres") == column_key("ssn", "postgres")
    assert yaml_column_key("SSN", "postgres") == column_key("ssn", "postgres")
    assert yaml_column_key('"SSN"', "postgres") != column_key("ssn", "postgres")
    assert yaml_column_key("ssn ", "postgres", {"quote": True}) != column_key("ssn", "postgres")


def test_macros_and_python_share_the_identifier_rules() -> None:
    text = (MACROS / "masking" / "column_key.sql").read_text()
    rules = re.findall(
        r"macro (\w+)__identifier_rules\(\) %\}\s*\{\{ return\(\{'quote': '(.)', 'folds_unquoted_to_lower': (\w+), "
        r"'case_sensitive': (\w+)\}\) \}\}",
        text,
    )
    in_macros = {
        adapter: IdentifierRules(quote, fold == "true", sensitive == "true")
        for adapter, quote, fold, sensitive in rules
    }
    assert in_macros == {"default": IdentifierRules(), **IDENTIFIER_RULES}


def test_macros_and_python_share_the_key_sources() -> None:
    text = (MACROS / "masking" / "masking_key.sql").read_text()
    for scope, source in KEY_SOURCES.items():
        assert f"'{scope.value}': {{'env': '{source.env}', 'var': '{source.var}'" in text
        assert f"'development_key': '{source.development_key}'" in text


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("k" * 31, "DMESH_MASKING_KEY is too weak for target 'prod' (31 bytes, fewer than 32)"),
        ("é" * 16, None),  # 32 bytes of UTF-8
        ("é" * 15, "(30 bytes, fewer than 32)"),
        ("k" * 32 + "\n", "starts or ends with whitespace (a pasted newline?) on target 'prod'"),
        (" " + "k" * 32, "starts or ends with whitespace"),
        (DEVELOPMENT_MASKING_KEY, "DMESH_MASKING_KEY is a public development key, which protects nothing"),
        (DEVELOPMENT_MESH_KEY, "is a public development key"),
        ("k" * 32, None),
    ],
)
def test_weak_keys_are_named_with_the_variable_and_the_fix(key: str, problem: str | None) -> None:
    found = weak_key_problem(key, "DMESH_MASKING_KEY", "prod")
    if problem is None:
        assert found is None
        return
    assert found is not None and problem in found
    assert "set DMESH_MASKING_KEY to a random secret of 32 bytes or more" in found and "\n" not in found


def test_hash_uses_the_mesh_key_only_for_joinable_classes() -> None:
    keys = MaskingKeys(domain="d" * 32, mesh="m" * 32)
    email = column_masking("customers", "email", {"pii": "email"})
    ssn = column_masking("customers", "ssn", {"pii": "national_id"})
    assert (email.key_scope, ssn.key_scope) == (KeyScope.MESH, KeyScope.DOMAIN)
    assert hash_column_value(email, keys, "a@b.com") == hash_value(keys.mesh, "a@b.com")
    assert hash_column_value(ssn, keys, "123-45-6789") == hash_value(keys.domain, "123-45-6789")


def test_keys_never_show_in_a_repr() -> None:
    from rich.pretty import pretty_repr

    keys = MaskingKeys(domain="D" * 40, mesh="M" * 40)
    for shown in (repr(keys), str(keys), pretty_repr(keys), repr([keys]), f"{keys!r}"):
        assert "D" * 32 not in shown and "M" * 32 not in shown, shown
        assert "<redacted>" in shown
    assert keys.for_scope(KeyScope.DOMAIN) == "D" * 40  # redacted in text only


def test_the_shipped_policy_marks_no_enumerable_class_joinable() -> None:
    policy = mesh_policy()
    assert policy.joinable and policy.enumerable
    assert policy.joinable.isdisjoint(policy.enumerable)
    assert all(1 <= size <= 20 for size in policy.enumerable.values())


@pytest.mark.parametrize(
    ("adapter", "requested", "expected"),
    [
        ("duckdb", "view", "table"),
        ("duckdb", None, "table"),
        ("postgres", None, "view"),
        ("bigquery", "table", "table"),
    ],
)
def test_duckdb_always_publishes_a_table(adapter: str, requested: str | None, expected: str) -> None:
    assert published_materialization(adapter, requested) == expected


def test_a_hex_hash_of_dmesh_0_1_0_converts_to_the_new_one_without_the_key() -> None:
    old = hmac.new(b"k" * 32, b"ada@example.com", hashlib.sha256).hexdigest()  # what 0.1.0 published
    assert base64.urlsafe_b64encode(bytes.fromhex(old[:32])).decode().rstrip("=") == hash_value(
        "k" * 32, "ada@example.com"
    )


@pytest.mark.parametrize("key", ["Jefe", "k" * 64, "k" * 65])
def test_hmac_pads_give_pythons_hmac(key: str) -> None:
    ipad, opad = hmac_pads(key)
    inner = hashlib.sha256(ipad + b"what do ya want for nothing?").digest()
    digest = hashlib.sha256(opad + inner).digest()[:HASH_BYTES]
    assert base64.urlsafe_b64encode(digest).decode().rstrip("=") == hash_value(key, "what do ya want for nothing?")

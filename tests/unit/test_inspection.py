"""The release inspector, table-driven: raw PII anywhere inside a value is found; masked output passes."""

from __future__ import annotations

import datetime
import decimal
import json
from pathlib import Path

import duckdb
import pytest

from dmesh_dbt.errors import PolicyViolation
from dmesh_dbt.inspection import (
    PATTERNS,
    inspect_columns,
    inspect_duckdb,
    inspect_parquet,
    inspect_rows,
    patterns_in,
    refuse_leaks,
)
from dmesh_dbt.masking import hash_value
from dmesh_dbt.pii import PiiClass

EMAIL, CARD, IBAN, SSN, PHONE, IP = PATTERNS
HASH = hash_value("k" * 32, "ada@example.com")
IBAN_DE = "DE89370400440532013000"
HEX_HASH = "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"  # as dmesh 0.1.0 published it

RAW: list[tuple[str, object, set[PiiClass]]] = [
    ("email alone", "ada.knuth1@example.com", {EMAIL}),
    ("email in a concatenation", "ada.knuth1@example.com / Ada Knuth", {EMAIL}),
    ("email in JSON text", '{"mail": "ada@example.com", "n": 1}', {EMAIL}),
    ("email escaped in JSON text", '{"mail": "ada\\u0040example.com"}', {EMAIL}),
    ("email in a struct", {"mail": "ada@example.com", "id": 1}, {EMAIL}),
    ("email in a list of structs", [{"k": "x"}, {"k": "grace@example.org"}], {EMAIL}),
    ("email as a map key", {"ada@example.com": 1}, {EMAIL}),
    ("card alone", "4714802331251759", {CARD}),
    ("card as a BIGINT", 4714802331251759, {CARD}),
    ("card as a DOUBLE", 4714802331251759.0, {CARD}),
    ("card as a DECIMAL", decimal.Decimal("4714802331251759"), {CARD}),
    ("card in text", "paid with 4714 8023 3125 1759 on Monday", {CARD}),
    ("amex card in a list", ["x", "379577819192667"], {CARD}),
    ("IBAN alone", "DE89370400440532013000", {IBAN}),
    ("IBAN in groups of four in text", "iban: GB82 WEST 1234 5698 7654 32, thanks", {IBAN}),
    ("IBAN lowercased", "de89370400440532013000", {IBAN}),
    ("SSN alone", "506-33-8860", {SSN}),
    ("SSN in text", "ssn 506 33 8860 on file", {SSN}),
    ("phone, international", "+12065550166", {PHONE}),
    ("phone, national formatting in text", "call (206) 555-0166 after 5", {PHONE}),
    ("IPv4 alone", "203.0.113.196", {IP}),
    ("IPv4 in a log line", "login from 203.0.113.62 failed", {IP}),
    ("IPv6", "2001:db8::8a2e:370:7334", {IP}),
    ("IPv6 in a struct", {"ip": "fe80::1ff:fe23:4567:890a"}, {IP}),
    ("bytes of an email", b"ada@example.com", {EMAIL}),
    ("IBAN shaped like a keyed hash", "BG03BNBG966110203456AQ", {IBAN}),
    ("card number in base64url, shaped like a keyed hash", "NDExMTExMTExMTExMTExMQ", {CARD}),
    ("SSN in base64url, shaped like a keyed hash", "MTIzLTQ1LTY3ODkgeHh4eA", {SSN}),
    ("SSN joined to a hash-shaped tail", "506-33-8860_abcdefghiQ", {SSN}),
    (
        "everything at once",
        json.dumps({"e": "a@b.io", "c": "4714802331251759", "s": "506-33-8860"}),
        {EMAIL, CARD, SSN},
    ),
]

MASKED: list[tuple[str, object]] = [
    ("keyed hash", HASH),
    ("keyed hash in a struct", {"email": HASH, "ssn": HASH}),
    ("keyed hash of dmesh 0.1.0 (hex)", HEX_HASH),
    ("keyed hashes of a card and an IBAN", [hash_value("k" * 32, v) for v in ("4714802331251759", IBAN_DE)]),
    ("redaction", "[REDACTED]"),
    ("partial mask of a card", "************1759"),
    ("partial mask of an email", "j***@example.com"),
    ("email domain", "example.com"),
    ("truncated date", datetime.date(1971, 1, 1)),
    ("truncated date as text", "1971-01-01"),
    ("timestamp as text", "2023-08-15 14:11:00"),
    ("timestamp", datetime.datetime(2023, 8, 15, 14, 11)),
    ("device id (md5 hex)", "9c86269bdefda9aa0dd6a32cc059f534"),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000"),
    ("amount", 218468),
    ("small id", 42),
    ("coarse coordinate", 47.7),
    ("country code", "US"),
    ("currency and status", "USD succeeded"),
    ("order number", "ORD-000123"),
    ("a 16-digit id failing Luhn", "4714802331251758"),
    ("SSN-shaped with area 000", "000-12-3456"),
    ("SSN-shaped with area 666", "666-12-3456"),
    ("IBAN-shaped with a bad check", "DE88370400440532013000"),
    ("bare 10 digits (an id, not a phone)", "2065550166"),
    ("time of day", "10:30:00"),
    ("version string", "v1.2.3"),
    ("null", None),
    ("boolean", True),
    ("empty JSON", "{}"),
    ("list of masked values", [HASH, "[REDACTED]", None]),
]


@pytest.mark.parametrize(("value", "expected"), [(v, e) for _, v, e in RAW], ids=[n for n, _, _ in RAW])
def test_raw_pii_is_found_wherever_it_sits(value: object, expected: set[PiiClass]) -> None:
    assert patterns_in(value) >= expected


@pytest.mark.parametrize("value", [v for _, v in MASKED], ids=[n for n, _ in MASKED])
def test_masked_output_and_ordinary_values_pass(value: object) -> None:
    assert patterns_in(value) == set()


def test_leaks_count_values_and_never_carry_them() -> None:
    leaks = inspect_columns(
        "payments.customers", {"contact": ["a@example.com", HASH, "b@example.org"], "customer_id": [1, 2, 3]}
    )
    assert [(leak.column, leak.pattern, leak.values, leak.sampled) for leak in leaks] == [("contact", EMAIL, 2, 3)]
    assert "a@example.com" not in leaks[0].message and "payments.customers.contact" in leaks[0].message


def test_refusal_names_product_column_and_pattern() -> None:
    leaks = inspect_rows("shop.orders", ["id", "note"], [(1, "card 4714802331251759"), (2, "ok")])
    with pytest.raises(
        PolicyViolation, match=r"shop\.orders\.note holds raw card_number \(1 of 2 sampled values\)"
    ) as raised:
        refuse_leaks(leaks)
    assert "4714802331251759" not in str(raised.value)
    refuse_leaks([])  # nothing found: no refusal


def test_a_rare_value_outside_the_random_sample_is_still_seen(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema main_published")
        connection.execute(
            "create table main_published.events as select i as id, "
            "case when i = 77777 then struct_pack(mail := 'rare@example.com') else struct_pack(mail := 'x') end as s "
            "from range(200000) t(i)"
        )
    leaks = inspect_duckdb(database, {"shop.events": "main_published.events"}, rows=100)
    assert [(leak.product, leak.column, leak.pattern) for leak in leaks] == [("shop.events", "s", EMAIL)]


def test_parquet_snapshots_are_inspected(tmp_path: Path) -> None:
    snapshot = tmp_path / "customers.parquet"
    duckdb.sql("select 1 as id, ['x', '203.0.113.9'] as ips, map {'k': 'DE89370400440532013000'} as m").write_parquet(
        str(snapshot)
    )
    leaks = inspect_parquet(snapshot, "payments.customers")
    assert {(leak.column, leak.pattern) for leak in leaks} == {("ips", IP), ("m", IBAN)}

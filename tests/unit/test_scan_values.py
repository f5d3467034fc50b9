"""Each validator of the value signal, with values it must accept and look-alikes it must refuse."""

from __future__ import annotations

import random
from datetime import date

import pytest

from dmesh_dbt.scan.values import (
    is_aba_routing_number,
    is_card_number,
    is_email,
    is_iban,
    is_ip_address,
    is_itin,
    is_lat_long_pair,
    is_phone_number,
    is_plausible_date_of_birth,
    is_precise_latitude,
    is_precise_longitude,
    is_ssn,
    is_user_agent,
    is_vin,
    luhn_valid,
    masking_of,
)


def with_luhn_digit(body: str) -> str:
    """``body`` followed by the digit that makes it Luhn-valid."""
    return next(body + str(d) for d in range(10) if luhn_valid(body + str(d)))


@pytest.mark.parametrize(
    "number",
    ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117",
     "3530111333300000", "2223003122003222", with_luhn_digit("401288888888188")],
)  # fmt: skip
def test_card_numbers_of_known_networks_with_a_valid_luhn_digit_are_accepted(number: str) -> None:
    assert is_card_number(number)


@pytest.mark.parametrize(
    "value",
    ["4111111111111112", "1234567812345678", "9111111111111111", "411111111111", "4111-1111", "abcd"],
)
def test_wrong_check_digits_unknown_issuers_and_short_numbers_are_refused(value: str) -> None:
    assert not is_card_number(value)


def test_random_sixteen_digit_ids_are_rarely_card_numbers() -> None:
    rng = random.Random(7)
    ids = [str(rng.randrange(10**15, 10**16)) for _ in range(2000)]
    # Luhn alone passes one random number in ten; the issuer-prefix check cuts that further.
    assert sum(map(is_card_number, ids)) / len(ids) < 0.06


@pytest.mark.parametrize("value", ["506-33-8860", "123 45 6789", "078-05-1120"])
def test_ssns_in_issued_ranges_are_accepted(value: str) -> None:
    assert is_ssn(value)


@pytest.mark.parametrize("value", ["000-12-3456", "666-12-3456", "912-70-1234", "123-00-4567", "123-45-0000",
                                   "123456789", "12-345-6789"])  # fmt: skip
def test_unissuable_or_undashed_ssns_are_refused(value: str) -> None:
    assert not is_ssn(value)


def test_itins_are_nine_hundreds_in_the_irs_groups_and_not_ssns() -> None:
    assert is_itin("912-70-1234") and is_itin("900-94-0000")
    assert not is_itin("912-45-1234") and not is_itin("123-70-1234")
    assert not is_ssn("912-70-1234")


@pytest.mark.parametrize(
    "value", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "fr1420041010050500013m02606"]
)
def test_ibans_with_right_length_and_mod97_are_accepted(value: str) -> None:
    assert is_iban(value)


@pytest.mark.parametrize("value", ["GB82WEST12345698765433", "DE8937040044053201300", "XX89370400440532013000"])
def test_ibans_with_a_wrong_check_or_length_or_country_are_refused(value: str) -> None:
    assert not is_iban(value)


@pytest.mark.parametrize("value", ["021000021", "011000015", "121000358", "322271627"])
def test_aba_routing_numbers_with_valid_checksums_are_accepted(value: str) -> None:
    assert is_aba_routing_number(value)


@pytest.mark.parametrize("value", ["021000022", "991000021", "12345678", "0210000210"])
def test_routing_look_alikes_are_refused(value: str) -> None:
    assert not is_aba_routing_number(value)


@pytest.mark.parametrize("value", ["ada.knuth1@example.com", "first+tag@mail.example.co.uk", "o'brien@example.ie"])
def test_email_addresses_are_accepted(value: str) -> None:
    assert is_email(value)


@pytest.mark.parametrize("value", ["not an email", "a@b", "@example.com", "a@@example.com", "a@example.c0m",
                                   "example.com"])  # fmt: skip
def test_email_look_alikes_are_refused(value: str) -> None:
    assert not is_email(value)


@pytest.mark.parametrize("value", ["+12065550166", "+44 20 7946 0958", "(206) 555-0166", "+33 6 12 34 56 78"])
def test_phone_numbers_valid_in_their_numbering_plan_are_accepted(value: str) -> None:
    assert is_phone_number(value)


@pytest.mark.parametrize(
    "value",
    ["4155550123", "2065550166", "ORD-2065550166", "+1 555 0100", "(000) 000-0000", "12.5", "2024-05-18"],
)
def test_order_numbers_shaped_like_phone_numbers_and_invalid_numbers_are_refused(value: str) -> None:
    assert not is_phone_number(value)


@pytest.mark.parametrize("value", ["203.0.113.196", "10.0.0.1", "2001:db8::1", "fe80::1ff:fe23:4567:890a"])
def test_ip_addresses_are_accepted(value: str) -> None:
    assert is_ip_address(value)


@pytest.mark.parametrize("value", ["256.1.1.1", "1.2.3", "10.2.1-beta", "12:30", "abc"])
def test_versions_times_and_bad_quads_are_not_ip_addresses(value: str) -> None:
    assert not is_ip_address(value)


def test_dates_of_birth_must_give_an_age_between_13_and_120() -> None:
    today = date(2026, 11, 25)
    assert is_plausible_date_of_birth("1971-12-23", today)
    assert is_plausible_date_of_birth("2013-11-25 00:00:00", today)
    assert not is_plausible_date_of_birth("2013-11-26", today)  # twelve years old tomorrow
    assert not is_plausible_date_of_birth("1899-01-01", today)
    assert not is_plausible_date_of_birth("1990-05-01 14:22:00", today)  # a time of day: an event
    assert not is_plausible_date_of_birth("1990-13-01", today)


def test_coordinates_need_house_level_precision_and_range() -> None:
    assert is_precise_latitude("47.673015") and is_precise_longitude("-122.401462")
    assert not is_precise_latitude("-122.401462")  # out of a latitude's range
    assert not is_precise_latitude("47.7")  # rounded to ~11 km: coarse, not a home
    assert is_lat_long_pair("47.673015, -122.401462") and is_lat_long_pair("(30.4439,-97.7620)")
    assert not is_lat_long_pair("-122.401462,47.673015") and not is_lat_long_pair("1,2")


@pytest.mark.parametrize(
    ("value", "strategy"),
    [("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "hash"), ("[REDACTED]", "redact"),
     ("****1234", "partial"), ("************4444", "partial"), ("ada@example.com", None),
     ("9c86269bdefda9aa0dd6a32cc059f534", None)],
)  # fmt: skip
def test_masked_outputs_are_told_apart_from_raw_values(value: str, strategy: str | None) -> None:
    assert masking_of(value) == strategy


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP042788", "1HGCM82633A004352", "1hgcm82633a004352", "JH4KA7561PC008269"])
def test_vins_with_a_valid_check_digit_are_accepted(vin: str) -> None:
    assert is_vin(vin)


@pytest.mark.parametrize(
    "value",
    ["1M8GDM9A1KP042788", "11111111111111111", "1HGCM82633A00435", "1HGCM82633A0043I2", "WVWZZZ1JZXW000001"],
    ids=["wrong check digit", "digits only", "16 characters", "letter I", "european, no check digit"],
)
def test_look_alike_vins_are_refused(value: str) -> None:
    assert not is_vin(value)


def test_browser_user_agents_are_recognised_and_bare_product_tokens_are_not() -> None:
    chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
    assert is_user_agent(chrome) and is_user_agent("Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A)")
    assert not is_user_agent("curl/8.0") and not is_user_agent("a note (with brackets)")

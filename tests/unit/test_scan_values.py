"""Each validator of the value signal, with values it must accept and look-alikes it must refuse."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

import pytest

from dmesh_dbt.masking import hash_value
from dmesh_dbt.pii import PiiClass
from dmesh_dbt.scan.values import (
    column_shape,
    could_hold,
    is_aba_routing_number,
    is_advertising_id_shape,
    is_card_number,
    is_ein,
    is_email,
    is_iban,
    is_imei,
    is_ip_address,
    is_itin,
    is_lat_long_pair,
    is_mac_address,
    is_national_id,
    is_phone_number,
    is_plausible_date_of_birth,
    is_precise_latitude,
    is_precise_longitude,
    is_ssn,
    is_street_address,
    is_tax_id,
    is_user_agent,
    is_vin,
    luhn_valid,
    masking_of,
)


def test_luhn_valid_answers_as_python_stdnum_does() -> None:
    from stdnum import luhn

    rng = random.Random(11)
    values = ["", "0", "00", "79927398713", "79927398710", "4111111111111111", "4111-1111", " 4111", "٣٤", "12a4"]
    values += ["".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 20))) for _ in range(5000)]
    for value in values:
        assert luhn_valid(value) is bool(luhn.is_valid(value)), value


def test_card_numbers_are_judged_as_every_network_prefix_and_stdnum_luhn_judge_them() -> None:
    """The issuer check remembers its answer per first four digits and length: no network prefix reads further."""
    from stdnum import luhn

    from dmesh_dbt.scan.values import _CARD_NETWORKS

    rng = random.Random(13)
    heads = ["4", "51", "2221", "2720", "34", "37", "6011", "65", "644", "622", "3528", "3589", "300", "36", "62", "50"]
    for _ in range(20_000):
        digits = rng.choice(heads) + "".join(rng.choice("0123456789") for _ in range(rng.randrange(9, 17)))
        issued = any(p.match(digits) and len(digits) in lengths for p, lengths in _CARD_NETWORKS)
        expected = 12 <= len(digits) <= 19 and issued and bool(luhn.is_valid(digits))
        assert is_card_number(digits) is expected, digits


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


@pytest.mark.parametrize("value", ["506-33-8860", "123 45 6789", "219-09-9998"])
def test_ssns_in_issued_ranges_are_accepted(value: str) -> None:
    assert is_ssn(value)


def test_ssns_published_in_advertising_are_not_a_persons() -> None:
    # python-stdnum knows the numbers printed on sample cards (Woolworth's wallet card, a 1962 ad): test data.
    assert not is_ssn("078-05-1120") and not is_ssn("219-09-9999")


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
    [(hash_value("k" * 32, "ada@example.com"), "hash"), (hash_value("k" * 32, "4111111111111111"), "hash"),
     ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "hash"),  # dmesh 0.1.0's hex
     ("[REDACTED]", "redact"), ("****1234", "partial"), ("************4444", "partial"), ("ada@example.com", None),
     ("9c86269bdefda9aa0dd6a32cc059f534", None)],
)  # fmt: skip
def test_masked_outputs_are_told_apart_from_raw_values(value: str, strategy: str | None) -> None:
    assert masking_of(value) == strategy


def test_every_keyed_hash_is_recognised() -> None:
    assert all(masking_of(hash_value("k" * 32, str(i))) == "hash" for i in range(2_000))


@pytest.mark.parametrize(
    "raw",
    [
        "BG03BNBG966110203456AQ",  # a valid Bulgarian IBAN: 22 base64url characters ending in Q, a hash's shape
        "NDExMTExMTExMTExMTExMQ",  # base64url of the card number 4111111111111111: an encoding, not a digest
        "YWxpY2VAZXhhbXBsLmNvbQ",  # base64url of alice@exampl.com
        "DE89370400440532013000",  # 22 characters, but ends in 0: no 16-byte value encodes to it
        "W9zBRr9gdU5qBCQmCJV1x",  # 21 characters
        "W9zBRr9gdU5qBCQmCJV1xw=",  # padded
        "W9zBRr9gdU5qBCQ+CJV1xw",  # base64, not base64url
    ],
)
def test_raw_values_shaped_like_a_keyed_hash_are_not_masked(raw: str) -> None:
    assert masking_of(raw) is None


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


# --- generated examples per validator: each positive made valid by construction, its negative one digit off --------

RNG = random.Random(18)


def _off_by_one(value: str, index: int = -1) -> str:
    """``value`` with the digit at ``index`` changed, so a check digit no longer holds."""
    chars = list(value)
    position = index % len(chars)
    chars[position] = str((int(chars[position]) + 1) % 10)
    return "".join(chars)


def _generated_ssns(count: int) -> list[str]:
    ssns = []
    while len(ssns) < count:
        area = RNG.randrange(1, 900)
        if area != 666:
            ssns.append(f"{area:03d}-{RNG.randrange(1, 100):02d}-{RNG.randrange(1, 10000):04d}")
    return ssns


def test_generated_ssns_pass_and_unissuable_areas_fail() -> None:
    ssns = _generated_ssns(50)
    assert all(map(is_ssn, ssns)) and all(is_national_id(s) for s in ssns)
    assert not any(is_ssn(f"{area}{s[3:]}") for s in ssns for area in ("000", "666", "9" + s[1:3]))


def test_generated_itins_and_eins_are_tax_ids_and_ssns_are_not() -> None:
    itins = [f"9{RNG.randrange(100):02d}-{RNG.choice([70, 75, 88, 90, 94, 99])}-{RNG.randrange(10000):04d}"
             for _ in range(30)]  # fmt: skip
    assert all(map(is_tax_id, itins)) and not any(map(is_ssn, itins))
    eins = [f"{RNG.choice([10, 12, 20, 45, 98])}-{RNG.randrange(10**7):07d}" for _ in range(30)]
    assert all(map(is_ein, eins)) and all(map(is_tax_id, eins))
    assert not is_ein("00-1234567") and not is_ein("123456789")  # an unassigned prefix; undelimited
    assert not any(map(is_tax_id, _generated_ssns(20)))


def test_generated_card_numbers_pass_and_one_digit_off_fails() -> None:
    from stdnum import luhn

    bodies = [RNG.choice(["4", "51", "37", "6011"]) for _ in range(40)]
    cards = []
    for prefix in bodies:
        length = 15 if prefix == "37" else 16
        body = prefix + "".join(str(RNG.randrange(10)) for _ in range(length - len(prefix) - 1))
        cards.append(body + luhn.calc_check_digit(body))
    assert all(map(is_card_number, cards))
    assert not any(is_card_number(_off_by_one(card)) for card in cards)


def test_generated_ibans_pass_and_one_digit_off_fails() -> None:
    from stdnum import iban

    ibans = []
    for _ in range(30):
        bban = "".join(str(RNG.randrange(10)) for _ in range(18))  # a German BBAN: 8-digit bank code, 10-digit account
        ibans.append("DE" + iban.calc_check_digits("DE00" + bban) + bban)
    assert all(map(is_iban, ibans))
    assert not any(is_iban(_off_by_one(value)) for value in ibans)


def test_generated_routing_numbers_pass_and_one_digit_off_fails() -> None:
    from stdnum.us import rtn

    bodies = [f"{RNG.choice([1, 2, 11, 21, 32, 61, 80]):02d}{RNG.randrange(10**6):06d}" for _ in range(30)]
    numbers = [body + rtn.calc_check_digit(body) for body in bodies]
    assert all(map(is_aba_routing_number, numbers))
    assert not any(is_aba_routing_number(_off_by_one(number)) for number in numbers)


def test_generated_national_ids_of_other_countries_pass_in_their_printed_form() -> None:
    from stdnum import luhn
    from stdnum.br import cpf
    from stdnum.es import dni

    cpfs = []
    for _ in range(20):
        body = "".join(str(RNG.randrange(10)) for _ in range(9))
        # python-stdnum keeps the CPF check digits private: of the 100 endings, exactly one is valid.
        digits = next(body + f"{end:02d}" for end in range(100) if cpf.is_valid(body + f"{end:02d}"))
        cpfs.append(f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}")
    sins = []
    for _ in range(20):
        body = str(RNG.randrange(1, 8)) + "".join(str(RNG.randrange(10)) for _ in range(7))
        digits = body + luhn.calc_check_digit(body)
        sins.append(f"{digits[:3]}-{digits[3:6]}-{digits[6:]}")
    dnis = [f"{n:08d}{dni.calc_check_digit(f'{n:08d}')}" for n in (RNG.randrange(10**8) for _ in range(20))]
    for ids in (cpfs, sins, dnis):
        assert all(map(is_national_id, ids)), ids
    assert not any(is_national_id(_off_by_one(value)) for value in (*cpfs, *sins))
    assert not any(is_national_id(value[:-1] + ("A" if value[-1] != "A" else "B")) for value in dnis)
    assert is_national_id("RCCMNL83S18D969H") and not is_national_id("RCCMNL83S18D969A")  # Italy's codice fiscale
    assert is_national_id("BOXW310820HNERXN09") and not is_national_id("BOXW310820HNERXN08")  # Mexico's CURP
    # Bare digit strings are ids of any kind: a 9- or 11-digit order number is not a SIN or CPF.
    assert not is_national_id(sins[0].replace("-", ""))
    assert not is_national_id(cpfs[0].replace(".", "").replace("-", ""))
    # The column gate is a necessary condition of the validator: it never rules out a column holding one.
    ids = [*cpfs, *sins, *dnis, "RCCMNL83S18D969H", "BOXW310820HNERXN09", "078-05-1121", "X-1234567-L"]
    assert all(could_hold(PiiClass.NATIONAL_ID, column_shape([value])) for value in ids if is_national_id(value))
    assert not could_hold(PiiClass.NATIONAL_ID, column_shape(["4111111111111111", "12.345678"]))


def test_generated_vins_with_their_check_digit_pass_and_any_other_check_digit_fails() -> None:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    for _ in range(20):
        body = [RNG.choice(alphabet) for _ in range(17)]
        body[0] = RNG.choice("ABCDEFGHJKLMNPRSTUVWXYZ")  # a letter, so the VIN is not digits only
        candidates = ["".join(body[:8]) + check + "".join(body[9:]) for check in "0123456789X"]
        valid = [vin for vin in candidates if is_vin(vin)]
        assert len(valid) == 1


_STREET_NAMES = ("Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park")
_STREET_TYPES = ("St", "Street", "Ave", "Avenue", "Rd", "Road", "Blvd", "Dr", "Lane", "Way")


def test_generated_street_addresses_are_recognised_by_usaddress() -> None:
    addresses = [
        f"{RNG.randrange(1, 9999)} {RNG.choice(_STREET_NAMES)} {RNG.choice(_STREET_TYPES)}"
        + RNG.choice(["", f" Apt {RNG.randrange(1, 40)}", ", Springfield, IL 62704", " NW"])
        for _ in range(40)
    ]
    assert all(map(is_street_address, addresses)), [a for a in addresses if not is_street_address(a)]
    assert is_street_address("PO Box 1234")


@pytest.mark.parametrize(
    "value", ["5 stars", "2 late delivery", "12 apples and oranges", "Hauptstrasse 5", "3", "order 42", "n/a"]
)
def test_numbers_followed_by_words_are_not_street_addresses(value: str) -> None:
    assert not is_street_address(value)


def test_generated_phone_numbers_pass_and_numbers_outside_any_plan_fail() -> None:
    uk = [f"+44 20 7946 0{RNG.randrange(1000):03d}" for _ in range(20)]  # Ofcom's numbers for drama
    us = [f"(206) 555-01{RNG.randrange(100):02d}" for _ in range(20)]
    assert all(map(is_phone_number, uk + us))
    assert not any(is_phone_number(f"+999 {RNG.randrange(10**8)}") for _ in range(20))


@pytest.mark.parametrize(
    ("check", "valid", "invalid"),
    [
        (is_imei, ["490154203237518", "356938035643809"], ["490154203237517", "49015420323751", "4901542032375180"]),
        (
            is_mac_address,
            ["3C:22:FB:12:AB:01", "3c-22-fb-12-ab-01", "3c22.fb12.ab01"],
            ["3c:22-fb:12:ab:01", "ff:ff:ff:ff:ff:ff", "3c:22:fb:12:ab", "3g:22:fb:12:ab:01"],
        ),
        (
            is_advertising_id_shape,
            ["38400000-8CF0-11BD-B23E-10B96E40000D", "6d92078a-8246-4ba4-ae5b-76104861e7dc"],
            ["00000000-0000-0000-0000-000000000000", "6d92078a82464ba4ae5b76104861e7dc", "not-a-uuid"],
        ),
    ],
)
def test_device_identifier_formats(check: Callable[[str], bool], valid: list[str], invalid: list[str]) -> None:
    assert all(check(v) for v in valid) and not any(check(v) for v in invalid)

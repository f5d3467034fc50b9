"""Evidence combined into suspects: names, types, values and masked output."""

from __future__ import annotations

import random

import pytest

from dmesh_dbt.masking import hash_value
from dmesh_dbt.pii import PiiClass
from dmesh_dbt.scan.detect import MAX_DISTINCT, ColumnRef, classify, explain, find_suspects, value_evidence
from dmesh_dbt.scan.report import explanation_lines
from dmesh_dbt.scan.values import luhn_valid


def column(name: str, data_type: str | None = None, description: str = "", pii: str | None = None) -> ColumnRef:
    return ColumnRef("model.shop.orders", '"db"."main"."orders"', name, description, data_type, pii)


def luhn_cards(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    cards = []
    while len(cards) < count:
        body = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
        cards.append(next(body + str(d) for d in range(10) if luhn_valid(body + str(d))))
    return cards


def test_values_alone_find_card_numbers_in_a_column_with_an_innocent_name() -> None:
    suspect = classify(column("ref_2", "bigint"), luhn_cards(50))
    assert suspect is not None and suspect.pii_class == PiiClass.CARD_NUMBER
    assert suspect.name_pattern is None and suspect.values is not None and suspect.values.sampled == 50
    assert suspect.confidence >= 0.9


def test_a_constant_is_configuration_not_a_persons_data_unless_its_name_says_so() -> None:
    assert classify(column("reply_to", "varchar"), ["support@example.com"] * 40) is None
    assert classify(column("collector", "varchar"), ["10.0.0.1", "10.0.0.2"] * 20) is None
    suspect = classify(column("email", "varchar"), ["support@example.com"] * 40)
    assert suspect is not None and suspect.pii_class == PiiClass.EMAIL


def test_random_sixteen_digit_ids_are_not_card_numbers() -> None:
    rng = random.Random(11)
    ids = [str(rng.randrange(10**15, 10**16)) for _ in range(200)]
    assert classify(column("order_ref", "bigint"), ids) is None


def test_order_numbers_shaped_like_phone_numbers_are_not_phones() -> None:
    rng = random.Random(5)
    orders = [f"{rng.randrange(200, 999)}{rng.randrange(200, 999)}{rng.randrange(1000, 9999)}" for _ in range(100)]
    assert classify(column("order_number"), orders) is None


def test_name_and_values_agreeing_raise_confidence_and_evidence_has_counts_not_values() -> None:
    emails = [f"user{i}@example.com" for i in range(30)]
    suspect = classify(column("cust_eml", "varchar"), emails)
    assert suspect is not None and suspect.pii_class == PiiClass.EMAIL
    assert suspect.confidence > 0.9
    assert suspect.evidence == "name 'email'; 30/30 values valid; 30 distinct"
    assert "example.com" not in repr(suspect)


@pytest.mark.parametrize(
    "masked",
    [
        [hash_value("k" * 32, f"4111111111111{i:03d}") for i in range(20)],
        ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0" + str(i % 10) for i in range(20)],
        ["[REDACTED]"] * 20,
        [f"************{1000 + i}" for i in range(20)],
    ],
    ids=["hash", "hash of dmesh 0.1.0", "redact", "partial"],
)
def test_masked_output_is_never_a_suspect_whatever_its_name(masked: list[str]) -> None:
    assert classify(column("card_number"), masked) is None
    assert classify(column("email"), masked) is None


def test_dates_truncated_to_the_year_are_masked_dates_of_birth() -> None:
    truncated = [f"{1950 + i}-01-01" for i in range(30)]
    assert classify(column("date_of_birth", "date"), truncated) is None
    real = [f"{1950 + i}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(30)]
    suspect = classify(column("date_of_birth", "date"), real)
    assert suspect is not None and suspect.pii_class == PiiClass.DATE_OF_BIRTH


def test_coarse_coordinates_contradict_a_geo_name() -> None:
    coarse = [f"{47 + (i % 5) / 10:.1f}" for i in range(30)]
    assert classify(column("latitude", "double"), coarse) is None
    precise = [f"{47 + i / 1000:.6f}" for i in range(30)]
    suspect = classify(column("latitude", "double"), precise)
    assert suspect is not None and suspect.pii_class == PiiClass.GEO


def test_values_that_fail_the_validator_lower_the_confidence_and_say_why_instead_of_hiding_the_column() -> None:
    rng = random.Random(7)
    test_cards = [str(rng.randrange(10**15, 10**16)) for _ in range(200)]
    test_cards = [c for c in test_cards if not luhn_valid(c)][:200]
    by_name = classify(column("card_number"))
    by_values = classify(column("card_number"), test_cards)
    assert by_name is not None and by_values is not None
    assert by_values.pii_class == PiiClass.CARD_NUMBER and by_values.confidence < by_name.confidence
    assert by_values.reasons == (
        "name says card_number ('card number')",
        f"0 of {len(test_cards)} sampled values are Luhn-valid card numbers (test data, tokens or ids?): "
        "confidence lowered",
    )


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("latitude", [f"{47 + i / 7:.3f}" for i in range(30)]),  # three decimals: not house-level
        ("birth_year", [str(1950 + i) for i in range(30)]),  # years, not dates
        ("date_of_birth", [f"2020-{1 + i % 12:02d}-{2 + i % 27:02d}" for i in range(30)]),  # too young
    ],
)
def test_a_validator_rejecting_values_never_drops_a_named_column(name: str, values: list[str]) -> None:
    suspect = classify(column(name), values)
    assert suspect is not None and "confidence lowered" in suspect.reasons[-1]


def test_values_confirming_a_name_raise_its_confidence_and_say_so() -> None:
    suspect = classify(column("card_number"), luhn_cards(40))
    assert suspect is not None and suspect.confidence >= 0.95
    assert suspect.reasons[-1] == "40 of 40 sampled values are Luhn-valid card numbers: the values confirm it"


def test_numeric_and_boolean_columns_are_not_text_classes_but_integers_can_be_card_numbers() -> None:
    assert classify(column("comments", "integer")) is None
    assert classify(column("email", "boolean")) is None
    suspect = classify(column("card_number", "bigint"))
    assert suspect is not None and suspect.pii_class == PiiClass.CARD_NUMBER


def test_a_description_alone_is_a_weaker_signal_than_a_name() -> None:
    suspect = classify(column("contact", "varchar", description="The customer's email address."))
    assert suspect is not None and suspect.pii_class == PiiClass.EMAIL and suspect.confidence == 0.5


def test_marked_columns_are_not_suspects_and_pii_none_counts_as_marked() -> None:
    columns = [column("email", pii="email"), column("ssn", pii="none"), column("phone")]
    assert [s.column for s in find_suspects(columns)] == ["phone"]


def test_value_evidence_counts_nulls_out_and_every_class() -> None:
    evidence = value_evidence(["a@example.com", "", "b@example.com", "203.0.113.9"])
    assert evidence.sampled == 3 and evidence.distinct == 3
    assert evidence.matches == {PiiClass.EMAIL: 2}
    # The IP validator stopped after the first address failed (IP could no longer reach 80%); asked, it finishes.
    assert PiiClass.IP_ADDRESS in evidence.stopped and evidence.count(PiiClass.IP_ADDRESS) == 1


def test_a_validator_stops_once_the_values_cannot_confirm_its_class_and_finishes_exactly_when_asked() -> None:
    emails = [f"user{i}@example.com" for i in range(100)]
    evidence = value_evidence([*emails, *(f"203.0.113.{i}" for i in range(5))])
    assert evidence.matches[PiiClass.EMAIL] == 100
    assert PiiClass.IP_ADDRESS in evidence.stopped and PiiClass.IP_ADDRESS not in evidence.matches
    assert evidence.rate(PiiClass.IP_ADDRESS) == 5 / 105


def test_columns_whose_characters_rule_a_class_out_never_reach_its_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    import dmesh_dbt.scan.detect as detect

    called: list[str] = []

    def spy(value: str) -> bool:
        called.append(value)
        return False

    monkeypatch.setitem(detect.VALIDATORS, PiiClass.EMAIL, spy)
    value_evidence(["succeeded", "failed", "refunded"] * 50)
    assert called == []  # no "@" in any value: the email validator is not called at all
    value_evidence(["a@example.com", "succeeded"])
    assert called


def test_distinct_values_are_capped_most_frequent_first() -> None:
    frequent = ["+12065550166"] * 300
    rare = [f"id-{i}" for i in range(MAX_DISTINCT + 100)]
    evidence = value_evidence([*frequent, *rare])
    assert evidence.distinct == MAX_DISTINCT + 101
    assert evidence.sampled == 300 + MAX_DISTINCT - 1  # the phone number 300 times and the first 199 ids once
    assert evidence.count(PiiClass.PHONE) == 300


def test_masked_recognisers_that_need_every_value_stop_at_the_first_that_is_not_one() -> None:
    truncated = ["1990-01-01", "1985-06-01", "1971-12-01"] * 10
    assert value_evidence(truncated).first_of_month == 30
    mixed = value_evidence(["1990-01-02", *truncated])
    assert mixed.first_of_month < mixed.sampled


def test_vins_in_values_confirm_a_vehicle_name_and_alone_suggest_the_class() -> None:
    vins = ["1M8GDM9AXKP042788", "1HGCM82633A004352", "JH4KA7561PC008269"] * 10
    named = classify(column("vehicle_vin", "varchar"), vins)
    assert named is not None and named.pii_class == PiiClass.VEHICLE_ID and named.confidence >= 0.95
    unnamed = classify(column("ref", "varchar"), vins)
    assert unnamed is not None and unnamed.pii_class == PiiClass.VEHICLE_ID and unnamed.reasons[0] == "no name signal"


def test_the_table_gives_a_bare_name_its_meaning() -> None:
    on_people = classify(ColumnRef("model.crm.dim_customers", None, "name", data_type="varchar"))
    assert on_people is not None and on_people.pii_class == PiiClass.PERSON_NAME
    assert on_people.reasons[0] == "context says person_name ('name on a table of people')"
    assert classify(ColumnRef("model.crm.dim_products", None, "name", data_type="varchar")) is None
    assert classify(ColumnRef("source.crm.salesforce.contact", None, "Name", data_type="varchar")) is not None


def test_explain_says_why_a_classified_or_masked_column_is_not_reported() -> None:
    classified = explanation_lines(explain(column("card_number", pii="card_number"), luhn_cards(20)))
    assert classified[-1].endswith("not reported: classified in meta as pii: card_number (score: card_number 0.99)")
    masked = explanation_lines(explain(column("email"), ["[REDACTED]"] * 20))
    assert "  masked:     all 20 sampled values are masked (hash, redaction or partial mask)" in masked
    assert masked[-1] == "  verdict:    not reported: masked output"


def test_device_id_formats_confirm_a_device_id_name_but_never_deny_it_nor_suggest_it_alone() -> None:
    rng = random.Random(7)
    macs = [":".join(f"{rng.randrange(256):02x}" for _ in range(6)) for _ in range(40)]
    confirmed = classify(column("wifi_mac", "varchar"), macs)
    assert confirmed is not None and confirmed.pii_class == PiiClass.DEVICE_ID and confirmed.confidence == 0.7
    assert "40 of 40 sampled values are IMEIs with a valid check digit, MAC addresses" in confirmed.reasons[1]
    vendor_ids = [f"{rng.getrandbits(64):x}" for _ in range(40)]  # a vendor's own ids: no known format
    kept = classify(column("device_id", "varchar"), vendor_ids)
    assert kept is not None and kept.confidence == 0.9 and "neither confirm nor deny" in kept.reasons[1]
    assert classify(column("ref_2", "varchar"), macs) is None  # formats alone suggest nothing

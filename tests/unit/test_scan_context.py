"""The context model: what a column's table, description, type and siblings add to its name, as scan, check and
adopt all decide it (``decide``)."""

from __future__ import annotations

import pytest

from dmesh_dbt.pii import PiiClass
from dmesh_dbt.scan.context import ColumnContext, decide, table_tokens

NONE = None


@pytest.mark.parametrize(
    ("name", "table", "expected"),
    [
        # A business's contact details are their own class, by the table, by a qualifier, or by the row's keys.
        ("phone", "accounts", PiiClass.BUSINESS_CONTACT),
        ("billing_street", "salesforce__account", PiiClass.BUSINESS_CONTACT),
        ("email", "vendors", PiiClass.BUSINESS_CONTACT),
        ("latitude", "dim_stores", PiiClass.BUSINESS_CONTACT),
        ("company_phone", "users", PiiClass.BUSINESS_CONTACT),
        ("hq_address", "anything", PiiClass.BUSINESS_CONTACT),
        ("owner_email", "accounts", PiiClass.EMAIL),  # the owner is a person, whatever the table
        ("phone", "customers", PiiClass.PHONE),
        # Message headers are addresses on a table of messages; elsewhere a cc is a card and from_address a place.
        ("cc", "email_messages", PiiClass.EMAIL),
        ("bcc_address", "sent_emails", PiiClass.EMAIL),
        ("from_name", "email_template_history", PiiClass.PERSON_NAME),
        ("reply_to", "support_tickets", PiiClass.EMAIL),
        ("cc_number", "payments", PiiClass.CARD_NUMBER),
        # Text people write, not catalogue copy or a machine's message.
        ("description", "support_tickets", PiiClass.FREE_TEXT),
        ("Description__c", "Case", PiiClass.FREE_TEXT),
        ("description", "products", NONE),
        ("description", "product_2", NONE),  # the digit and a history suffix do not hide the noun
        ("subject", "email_template_history", NONE),
        ("message", "ticket_chat_event", PiiClass.FREE_TEXT),
        ("message", "transactions", NONE),  # a gateway's response
        ("failure_message", "charges", NONE),
        ("flow_description", "flows", NONE),  # a thing's description
        ("customer_note", "returns", PiiClass.FREE_TEXT),
        ("comment_count", "tickets", NONE),
        ("has_comment", "tickets", NONE),
        ("receives_info_emails", "users", NONE),
        # Bare words that are a person's only on a table of people.
        ("city", "customers", NONE),  # alone, a city is coarse
        ("other_city", "contacts", PiiClass.ADDRESS),
        ("inferred_city", "leads", NONE),
        ("nickname", "plans", NONE),
        ("nickname", "users", PiiClass.PERSON_NAME),
        ("product_nickname", "customers", NONE),
        ("alias", "users", PiiClass.USERNAME),
        ("name", "cards", PiiClass.PERSON_NAME),  # the card holder's
        # Codes of a category are that category; an account's own number is not a bank account.
        ("gender_concept_id", "person", PiiClass.GENDER),
        ("race_source_value", "person", PiiClass.ETHNICITY),
        ("device_concept_id", "device_exposure", NONE),
        ("account_number", "accounts", NONE),
        ("account_number", "bank_accounts", PiiClass.BANK_ACCOUNT),
        ("staff_member_id", "orders", NONE),
        ("member_id", "claims", PiiClass.HEALTH_ID),
        ("ip_visits", "encounters", NONE),
        ("client_ip:port", "sessions", PiiClass.IP_ADDRESS),
        ("year_of_birth", "person", PiiClass.DATE_OF_BIRTH),
        ("death_datetime", "death", PiiClass.DATE_OF_DEATH),
    ],
)
def test_the_table_says_whose_and_which_sense(name: str, table: str, expected: PiiClass | None) -> None:
    match = decide(ColumnContext(name, table))
    assert (match.pii_class if match else None) == expected


def test_a_bare_city_is_coarse_even_beside_a_street_and_a_city_named_in_an_address_is_address() -> None:
    # The example domain keeps customers.city unmasked beside a classified street_address: a city alone is coarse.
    assert decide(ColumnContext("city", "customers", siblings=("street_address", "city"))) is None
    match = decide(ColumnContext("shipping_address_city", "orders"))
    assert match is not None and match.pii_class is PiiClass.ADDRESS


def test_a_row_keyed_to_an_account_and_no_person_holds_the_accounts_contact_details() -> None:
    crm_order = ("id", "account_id", "owner_id", "billing_street", "billing_city")
    shop_order = ("id", "customer_id", "billing_street")
    business = decide(ColumnContext("billing_street", "orders", siblings=crm_order))
    person = decide(ColumnContext("billing_street", "orders", siblings=shop_order))
    assert business is not None and business.pii_class is PiiClass.BUSINESS_CONTACT
    assert person is not None and person.pii_class is PiiClass.ADDRESS


def test_the_description_says_whose_and_whether_it_is_a_flag_or_a_key() -> None:
    lead = decide(ColumnContext("billing_street", "leads", "Billing street address of the lead's company"))
    assert lead is not None and lead.pii_class is PiiClass.BUSINESS_CONTACT
    host = decide(ColumnContext("user_email", "participants", "Email, if not part of the host's account"))
    assert host is not None and host.pii_class is PiiClass.EMAIL
    assert decide(ColumnContext("voice_comment", "ticket_comment", "Boolean field indicating a voice comment")) is None
    assert decide(ColumnContext("signature", "disputes", "(ID of a file upload) A signed contract")) is None
    assert decide(ColumnContext("device_id", "checkouts", "The ID of the POS device that created it")) is None
    phone = decide(ColumnContext("device_id", "events", "The ID of the phone the app runs on"))
    assert phone is not None and phone.pii_class is PiiClass.DEVICE_ID


def test_a_type_that_cannot_hold_the_class_is_no_signal() -> None:
    assert decide(ColumnContext("comments", "pull_requests", data_type="integer")) is None
    assert decide(ColumnContext("zip", "customers", data_type="boolean")) is None


def test_a_tables_noun_is_its_last_word_before_suffixes_and_digits() -> None:
    assert table_tokens("email_template_history") == ("email", "template")
    assert table_tokens("product_2") == ("product",)
    assert table_tokens(None) == ()


def test_phone_numbers_in_a_business_phone_confirm_the_business_class_instead_of_making_it_a_persons() -> None:
    from dmesh_dbt.scan.detect import ColumnRef, classify

    phones = [f"+1 206 {200 + i} {1000 + 7 * i}" for i in range(20)]
    suspect = classify(ColumnRef("model.crm.accounts", "accounts", "fax", siblings=("id", "fax")), phones)
    assert suspect is not None and suspect.pii_class is PiiClass.BUSINESS_CONTACT
    assert "as a business's contact details are" in suspect.reasons[-1]


@pytest.mark.parametrize(
    ("name", "table", "siblings", "expected"),
    [
        # HIPAA's identifiers as schemas write them; a group's or a bank's numbers are not.
        ("subscriber_number", "eligibility", (), PiiClass.HEALTH_ID),
        ("HICN", "beneficiaries", (), PiiClass.HEALTH_ID),
        ("mbi", "enrollment", (), PiiClass.HEALTH_ID),
        ("patient_account_number", "visits", (), PiiClass.HEALTH_ID),
        ("health_insurance_number", "people", (), PiiClass.HEALTH_ID),
        ("mrns", "admissions", (), PiiClass.HEALTH_ID),
        ("staff_member_number", "rosters", (), NONE),
        ("bank_account_number", "payouts", (), PiiClass.BANK_ACCOUNT),
        # A covered person's identifier in a schema about care or coverage; a warehouse's own key is not one.
        ("policyholder_id", "medical_claims", (), PiiClass.HEALTH_ID),
        ("household_source_value", "coverage_periods", (), PiiClass.HEALTH_ID),
        ("patient_source_value", "people", ("care_site_id", "provider_id"), PiiClass.HEALTH_ID),
        ("person_id", "claim_lines", (), NONE),
        ("policyholder_id", "car_quotes", (), NONE),  # not a schema about care or coverage
        # Device identifiers of a person's phone or browser; a merchant's till is the merchant's.
        ("meid", "handsets", (), PiiClass.DEVICE_ID),
        ("IFA", "ad_requests", (), PiiClass.DEVICE_ID),
        ("advertisingIdentifier", "installs", (), PiiClass.DEVICE_ID),
        ("bluetooth_mac", "beacons", (), PiiClass.DEVICE_ID),
        ("apns_token", "installs", (), PiiClass.DEVICE_ID),
        ("hardware_serial_no", "phones", (), PiiClass.DEVICE_ID),
        ("mac_os_version", "installs", (), NONE),
        ("hmac", "webhooks", (), NONE),
        ("kiosk_device_id", "sales", (), NONE),
        ("device_id", "sales", ("cashier_id", "store_id"), NONE),
        ("device_id", "sales", ("customer_id",), PiiClass.DEVICE_ID),
    ],
)
def test_health_and_device_identifiers_by_name_and_context(
    name: str, table: str, siblings: tuple[str, ...], expected: PiiClass | None
) -> None:
    found = decide(ColumnContext(name, table, siblings=siblings))
    assert (found.pii_class if found else None) is expected


def test_a_payer_is_a_person_in_payments_and_the_insurer_in_health_care() -> None:
    assert decide(ColumnContext("payer_name", "payouts")) is not None
    assert decide(ColumnContext("payer_name", "claims")) is None

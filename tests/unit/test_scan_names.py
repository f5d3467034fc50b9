"""The name signal: tokenisation and per-class token patterns, table-driven."""

from __future__ import annotations

import pytest

from dmesh_dbt.pii import ForbiddenClass, PiiClass
from dmesh_dbt.scan.context import match_in_context
from dmesh_dbt.scan.names import match_description, match_name, tokenize


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("cust_eml", ("customer", "email")),
        ("acctNo", ("account", "number")),
        ("ssn_last4", ("ssn", "last", "4")),
        ("IPAddress", ("ip", "address")),
        ("ip_addr", ("ip", "address")),
        ("dob", ("date", "of", "birth")),
        ("Unnamed: 0", ("unnamed", "0")),
        ("card_track2", ("card", "track2")),
        ("HTTPStatusCode", ("http", "status", "code")),
    ],
)
def test_names_split_on_separators_camel_case_and_digits_and_expand_abbreviations(
    name: str, tokens: tuple[str, ...]
) -> None:
    assert tokenize(name) == tokens


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cust_eml", PiiClass.EMAIL),
        ("EmailAddress", PiiClass.EMAIL),
        ("dob", PiiClass.DATE_OF_BIRTH),
        ("birthDate", PiiClass.DATE_OF_BIRTH),
        ("acct_no", PiiClass.BANK_ACCOUNT),
        ("ssn_last4", PiiClass.NATIONAL_ID),
        ("ip_addr", PiiClass.IP_ADDRESS),
        ("user_ipaddress", PiiClass.IP_ADDRESS),
        ("msisdn", PiiClass.PHONE),
        ("mobile_number", PiiClass.PHONE),
        ("first_name", PiiClass.PERSON_NAME),
        ("customerName", PiiClass.PERSON_NAME),
        ("street_address", PiiClass.ADDRESS),
        ("billing_zip", PiiClass.ADDRESS),
        ("cc_number", PiiClass.CARD_NUMBER),
        ("pan", PiiClass.CARD_NUMBER),
        ("iban", PiiClass.IBAN),
        ("aba_routing_number", PiiClass.ROUTING_NUMBER),
        ("routing_no", PiiClass.ROUTING_NUMBER),
        ("geo_latitude", PiiClass.GEO),
        ("lng", PiiClass.GEO),
        ("device_id", PiiClass.DEVICE_ID),
        ("idfa", PiiClass.DEVICE_ID),
        ("card_exp_date", PiiClass.CARD_EXPIRY),
        ("card_expiry_month", PiiClass.CARD_EXPIRY),
        ("cvv2", ForbiddenClass.CVV),
        ("card_cvc", ForbiddenClass.CVV),
        ("track2_data", ForbiddenClass.CARD_TRACK),
        ("pin_block", ForbiddenClass.PIN),
        ("tax_id", PiiClass.TAX_ID),
    ],
)
def test_pii_names_match_their_class(name: str, expected: PiiClass | ForbiddenClass) -> None:
    match = match_name(name)
    assert match is not None and match.pii_class == expected


@pytest.mark.parametrize(
    "name",
    [
        "domain",  # not "dob" by substring
        "Unnamed: 0",  # not a person's name
        "product_name",
        "page_title",
        "user_name_count",
        "email_domain",  # a masked derivative
        "email_hash",
        "ip_country",
        "is_mobile",
        "mobile_app_version",
        "card_brand",
        "card_last4",  # PCI DSS allows the last four digits
        "account_id",
        "shipping",
        "zip_file_path",
        "longitude_bucket",
        "pinned",
        "session_expiry_date",
        "latitude_rounded",
    ],
)
def test_look_alike_names_do_not_match(name: str) -> None:
    assert match_name(name) is None


def test_a_description_that_names_the_content_is_a_weaker_signal() -> None:
    match = match_description("The IP address of the device that sent the event.")
    assert match is not None and match.pii_class == PiiClass.IP_ADDRESS
    assert match.confidence < 0.6 and match.source == "description"


def test_a_description_of_masked_or_counted_pii_is_no_signal() -> None:
    assert match_description("SHA-256 hash of the user's email address.") is None
    assert match_description("Count of distinct IP addresses seen in the session.") is None
    assert match_description("") is None


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("contact_emails", ("contact", "email")),
        ("Secondary_Email__c", ("secondary", "email")),
        ("Home_Phone__pc", ("home", "phone")),
        ("Email Address", ("email", "address")),
        ("mailing_cities", ("mailing", "city")),
        ("ip_addresses", ("ip", "address")),
        ("status", ("status",)),  # not a plural
        ("ids", ("ids",)),  # too short to tell
    ],
)
def test_vendor_suffixes_go_spaces_split_and_plurals_become_singular(name: str, tokens: tuple[str, ...]) -> None:
    assert tokenize(name) == tokens


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("contact_emails", PiiClass.EMAIL),
        ("mobile_numbers", PiiClass.PHONE),
        ("Secondary_Email__c", PiiClass.EMAIL),
        ("secondaryEmail", PiiClass.EMAIL),
        ("Email Address", PiiClass.EMAIL),
        ("reviewer_full_name", PiiClass.PERSON_NAME),
        ("agent_name", PiiClass.PERSON_NAME),
        ("approver_display_name", PiiClass.PERSON_NAME),
        ("bcc_address", PiiClass.EMAIL),
        ("ip_with_port", PiiClass.IP_ADDRESS),
        ("billing_city", PiiClass.ADDRESS),
    ],
)
def test_names_as_people_write_them_match(name: str, expected: PiiClass) -> None:
    match = match_name(name)
    assert match is not None and match.pii_class == expected


@pytest.mark.parametrize(
    "name",
    [
        "comment_count",  # counts are numbers
        "email_count",
        "num_emails",
        "has_comment",  # flags are booleans
        "is_email_verified",
        "mobile_subscriptions",
        "product_nickname",  # a thing's name, not a person's
        "plan_name",
        "account_name",
        "city",  # coarse on its own; part of an address only when qualified (billing_city)
    ],
)
def test_counts_flags_and_things_names_are_not_pii(name: str) -> None:
    assert match_name(name) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gender", PiiClass.GENDER),
        ("birth_sex", PiiClass.GENDER),
        ("patient_age", PiiClass.AGE),
        ("age_band", PiiClass.AGE),
        ("ethnicity", PiiClass.ETHNICITY),
        ("ethnic_origin", PiiClass.ETHNICITY),
        ("subscriber_id", PiiClass.HEALTH_ID),
        ("medical_record_number", PiiClass.HEALTH_ID),
        ("mrn", PiiClass.HEALTH_ID),
        ("dod", PiiClass.DATE_OF_DEATH),
        ("deceased_date", PiiClass.DATE_OF_DEATH),
        ("vin", PiiClass.VEHICLE_ID),
        ("license_plate", PiiClass.VEHICLE_ID),
        ("drivers_license_number", PiiClass.DRIVERS_LICENSE),
        ("DriversLicense__c", PiiClass.DRIVERS_LICENSE),
        ("driving_licence", PiiClass.DRIVERS_LICENSE),
        ("username", PiiClass.USERNAME),
        ("user_name", PiiClass.USERNAME),  # a login; user_full_name is a person's name
        ("login_name", PiiClass.USERNAME),
        ("twitter_handle", PiiClass.USERNAME),
        ("useragent", PiiClass.USER_AGENT),
        ("http_user_agent", PiiClass.USER_AGENT),
    ],
)
def test_the_new_classes_match_their_names(name: str, expected: PiiClass) -> None:
    match = match_name(name)
    assert match is not None and match.pii_class == expected


@pytest.mark.parametrize(
    "name",
    [
        "message_age",  # a thing's age
        "account_age_days",
        "race_id",
        "driver_license_state",
        "last_login",  # a timestamp
        "handle",  # a URL slug as often as a person's handle
        "user_agent_family",  # derived from the user agent, coarse
        "is_deceased",
        "gender_count",
    ],
)
def test_look_alikes_of_the_new_classes_do_not_match(name: str) -> None:
    assert match_name(name) is None


@pytest.mark.parametrize(
    ("name", "table", "person"),
    [
        ("name", "customers", True),
        ("name", "dim_users", True),
        ("display_name", "stg_crm__contacts", True),
        ("Name", "Contact", True),
        ("name", "products", False),
        ("name", "plans", False),
        ("name", "campaigns", False),
        ("name", "accounts", False),  # a company, as often as not
        ("product_name", "customers", False),  # the name says whose
    ],
)
def test_a_bare_name_is_a_persons_only_on_a_table_of_people(name: str, table: str, person: bool) -> None:
    match = match_in_context(name, table)
    assert (match is not None and match.pii_class == PiiClass.PERSON_NAME) is person
    if match is not None:
        assert match.source == "context"


def test_an_agent_is_software_when_the_name_or_the_table_speaks_of_user_agents() -> None:
    assert match_name("yauaa__agent_name") is None
    assert match_in_context("agent_name", "snowplow_web_yauaa_context") is None
    match = match_in_context("agent_name", "support_tickets")
    assert match is not None and match.pii_class == PiiClass.PERSON_NAME


@pytest.mark.parametrize(
    "name",
    ["domain_userid", "network_userid", "refr_domain_userid", "user_pseudo_id", "pseudo_user_id",
     "ga_client_id", "ga4_ga_client_id", "app_set_id", "mobile__app_set_id", "device_user_id"],
)  # fmt: skip
def test_web_analytics_visitor_ids_are_device_ids(name: str) -> None:
    """Snowplow's cookie ids, GA4's user_pseudo_id, Universal Analytics' client id and Android's App Set ID follow
    one browser or device, so one person: a device id."""
    match = match_name(name)
    assert match is not None and match.pii_class is PiiClass.DEVICE_ID, name


@pytest.mark.parametrize(
    "name", ["domain_userid_count", "hashed_network_userid", "user_pseudo_id_sha256", "client_id", "app_set_status"]
)
def test_counts_hashes_and_bare_client_ids_are_not_visitor_ids(name: str) -> None:
    """A count or a hash of a visitor id is not the id; a bare ``client_id`` is as often an OAuth client's."""
    match = match_name(name)
    assert match is None or match.pii_class is not PiiClass.DEVICE_ID, name

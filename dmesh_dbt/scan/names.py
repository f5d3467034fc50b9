"""The name signal: a column's name (and its description) scored against token patterns per PII class.

Names are matched by *tokens*, never by substring: ``domain`` must not read as ``dob`` and ``Unnamed: 0`` is
not a person's name. A name loses its vendor suffix (Salesforce's ``__c``), is split on separators, spaces,
camelCase and letter/digit boundaries, each word is singularised (``contact_emails`` -> contact, email) and
expanded from its usual abbreviation (``eml`` -> ``email``, ``acct`` -> ``account``), and a class matches when
one of its patterns occurs as the head of the name (only neutral words follow it).

General rules, not lists of column names, keep look-alikes out: a name that counts something (``comment_count``,
``num_emails``) or asks a yes/no question (``has_comment``, ``is_mobile``) holds no PII, and a name part that is
qualified (``product_nickname``, ``agent_name``) is a person's only when the qualifier is a person's role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from dmesh_dbt.pii import ForbiddenClass, PiiClass

#: What the scan can report: a PII class, or a class no model may carry at all.
DetectedClass = PiiClass | ForbiddenClass

#: Confidence of a match on the column name itself, by pattern strength.
STRONG = 0.9
WEAK = 0.6
#: Confidence of a match found only in the column's description (descriptions mention PII they do not hold).
DESCRIPTION = 0.5

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LETTER_DIGIT_BOUNDARY = re.compile(r"(?<=[a-zA-Z])(?=[0-9])|(?<=[0-9])(?=[a-zA-Z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
#: Salesforce marks custom fields ``__c`` and person-account fields ``__pc``: a suffix, not a word of the name.
_VENDOR_SUFFIX = re.compile(r"__(c|pc)$", re.IGNORECASE)

#: Abbreviations and synonyms, token -> canonical token(s). Why a table: the same forms recur in every
#: warehouse (``acct_no``, ``cust_eml``, ``ip_addr``) and a table is easier to review than regexes.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "eml": ("email",),
    "mail": ("email",),
    "emailaddress": ("email", "address"),
    "addr": ("address",),
    "adr": ("address",),
    "tel": ("phone",),
    "telephone": ("phone",),
    "phn": ("phone",),
    "ph": ("phone",),
    "mob": ("mobile",),
    "cell": ("mobile",),
    "cellphone": ("phone",),
    "msisdn": ("phone",),
    "phonenumber": ("phone", "number"),
    "dob": ("date", "of", "birth"),
    "birthdate": ("birth", "date"),
    "birthday": ("birth", "date"),
    "dateofbirth": ("date", "of", "birth"),
    "bday": ("birth", "date"),
    "acct": ("account",),
    "acc": ("account",),
    "accnt": ("account",),
    "no": ("number",),
    "num": ("number",),
    "nbr": ("number",),
    "nr": ("number",),
    "nmbr": ("number",),
    "ipaddress": ("ip", "address"),
    "ipaddr": ("ip", "address"),
    "ipv4": ("ip",),
    "ipv6": ("ip",),
    "ip4": ("ip",),
    "ip6": ("ip",),
    # ``cc`` is a card (``cc_number``) as often as a carbon copy (``cc`` on a message): see _message_header.
    "pan": ("card", "number"),
    "ccn": ("card", "number"),
    "firstname": ("first", "name"),
    "fname": ("first", "name"),
    "lastname": ("last", "name"),
    "lname": ("last", "name"),
    "fullname": ("full", "name"),
    "surname": ("last", "name"),
    "familyname": ("last", "name"),
    "givenname": ("first", "name"),
    "forename": ("first", "name"),
    "middlename": ("middle", "name"),
    "maidenname": ("maiden", "name"),
    "nm": ("name",),
    "cust": ("customer",),
    "usr": ("user",),
    "lat": ("latitude",),
    "lng": ("longitude",),
    "lon": ("longitude",),
    "long": ("long",),
    "geolocation": ("geo", "location"),
    "zipcode": ("zip",),
    "postcode": ("zip",),
    "postalcode": ("zip",),
    "zip5": ("zip",),
    "streetaddress": ("street", "address"),
    "str": ("street",),
    "socialsecurity": ("social", "security"),
    "ssn4": ("ssn",),
    "sin": ("sin",),
    "taxid": ("tax", "id"),
    "vat": ("tax",),
    "routingnumber": ("routing", "number"),
    "aba": ("routing",),
    "rtn": ("routing", "number"),
    "sortcode": ("routing", "number"),
    "cvc": ("cvv",),
    "cvc2": ("cvv",),
    "cvv2": ("cvv",),
    "cid": ("cid",),
    "csc": ("cvv",),
    "exp": ("expiry",),
    "expiration": ("expiry",),
    "expiry": ("expiry",),
    "expire": ("expiry",),
    "expdate": ("expiry", "date"),
    "idfa": ("advertising", "id"),
    "idfv": ("device", "id"),
    "gaid": ("advertising", "id"),
    "adid": ("advertising", "id"),
    "aaid": ("advertising", "id"),
    "imei": ("device", "id"),
    "meid": ("device", "id"),
    "imsi": ("device", "id"),
    "iccid": ("device", "id"),
    "ifa": ("advertising", "id"),
    "udid": ("device", "id"),
    "deviceid": ("device", "id"),
    "dvce": ("device",),
    "userid": ("user", "id"),
    "useragent": ("user", "agent"),
    "screenname": ("screen", "name"),
    "licence": ("license",),
    "lic": ("license",),
    "dod": ("date", "of", "death"),
    "deathdate": ("death", "date"),
    "dateofdeath": ("date", "of", "death"),
    "yrs": ("year",),
    "yr": ("year",),
    "medicalrecordnumber": ("medical", "record", "number"),
    # Medicare's beneficiary identifier (MBI) and the health insurance claim number it replaced (HICN).
    "mbi": ("medicare", "id"),
    "hicn": ("medicare", "id"),
    "policyholder": ("policy", "holder"),
    "identifier": ("id",),
    "datetime": ("date",),
    "dttm": ("date",),
    "nickname": ("nick", "name"),
    "bio": ("about", "me"),
    "biography": ("about", "me"),
}


@dataclass(frozen=True)
class NamePattern:
    """A run of canonical tokens that marks a class; ``unless`` tokens anywhere in the name cancel it."""

    tokens: tuple[str, ...]
    confidence: float
    unless: frozenset[str] = frozenset()


def _p(words: str, confidence: float = STRONG, unless: str = "") -> NamePattern:
    return NamePattern(tuple(words.split()), confidence, frozenset(unless.split()))


#: The parts of a date: a birth's or a death's date, year, month or day is that date (or its quasi-identifying part).
_DATE_PARTS = {"date": STRONG, "year": WEAK, "month": WEAK, "day": WEAK}


def _date_of(event: str) -> tuple[NamePattern, ...]:
    """``birth_date``, ``date_of_birth``, ``birth_year``, ``month_of_birth``...: every part, in both word orders."""
    forms = (f"{event} {{part}}", f"{{part}} of {event}")
    return tuple(_p(form.format(part=part), strength) for part, strength in _DATE_PARTS.items() for form in forms)


#: Qualifiers that make a city, a postcode or a street part of someone's postal address.
ADDRESS_QUALIFIERS = ("address", "billing", "shipping", "mailing", "home", "residence", "residential", "other",
                      "postal", "delivery", "permanent", "current", "primary", "secondary", "work")  # fmt: skip
#: Nouns of text people write (singular: names are singularised before matching).
FREE_TEXT_NOUNS = ("comment", "note", "remark", "memo", "feedback", "explanation", "rebuttal", "justification",
                   *("description", "subject", "body", "message", "text", "snippet", "signature"))  # fmt: skip
#: Of those, the words that are also a thing's (``flow_description``, ``jsonPayload.message``, ``event_subject``):
#: a person's text only unqualified, qualified by a person's role or by another word for text people write.
AMBIGUOUS_TEXT_NOUNS = frozenset({"description", "subject", "body", "message", "text", "snippet", "signature"})
#: Groups whose members are not a health plan's (``staff_member_id``, ``team_member_id``).
_GROUPS = "staff team group crew board committee club org organization channel project workspace"

#: Tokens that say a column holds a *derived* or *aggregate* value, not the PII itself.
_DERIVED = "count hash hashed hmac sha sha256 md5 masked redacted domain country region type format valid verified"
_DERIVED += " is has flag flags status source method consent opt preference preferences"
#: Words that make a free-text noun something else: a key, a kind, a markup, a machine's message, a label.
_NOT_TEXT = _DERIVED + " id key type category template language lang length size url html alt image button link"
_NOT_TEXT += " label failure error warning exception gateway response system commit log badge tooltip placeholder"
_NOT_TEXT += " utm parameter pattern by"
#: ... and what makes a comment or a note something else (a status comment is still a person's comment).
_NOT_A_NOTE = "id key type category template count hash hashed html url length language lang is has flag"
#: Web analytics' visitor ids (cookies) and Android's App Set ID, as their vendors name them. Not _DERIVED's words:
#: ``domain`` is part of Snowplow's ``domain_userid`` (a first-party cookie), not an email's domain.
_VISITOR_IDS = ("domain user", "network user", "user pseudo", "pseudo user", "ga client", "app set")
_NOT_THE_ID = "count hash hashed hmac sha sha256 md5 masked redacted valid verified is has flag status type"
#: Devices a merchant owns (a till, a card reader): their ids follow a shop, not a person.
_MERCHANTS_DEVICES = "pos register terminal till kiosk reader"
#: Words for the services that push notifications to one app install (``apns`` reads ``apn`` once singularised).
_PUSH_SERVICES = ("push", "notification", "device", "fcm", "gcm", "apn")
#: What makes a fingerprint a file's, a key's or an event's rather than a browser's or a device's.
_NOT_A_PERSONS_PRINT = "file content document key certificate cert ssh tls ssl gpg pgp event " + _DERIVED


def _text_unless(noun: str) -> str:
    return _NOT_TEXT if noun in AMBIGUOUS_TEXT_NOUNS else _NOT_A_NOTE


PATTERNS: dict[DetectedClass, tuple[NamePattern, ...]] = {
    PiiClass.EMAIL: (
        _p("email", unless=_DERIVED + " template campaign sent open click"),
        # Mail headers name people by their role in the message: a bcc address is an email address.
        _p("bcc", unless=_DERIVED),
        _p("email list", unless=_DERIVED),
    ),
    PiiClass.PHONE: (
        _p("phone", unless=_DERIVED + " model brand"),
        _p("mobile number", unless=_DERIVED),
        _p("mobile", WEAK, unless=_DERIVED + " app os device model brand web network carrier screen"),
        _p("fax", WEAK, unless=_DERIVED),
    ),
    PiiClass.PERSON_NAME: (
        _p("first name"),
        _p("last name"),
        _p("full name"),
        _p("middle name"),
        _p("maiden name"),
        _p("customer name"),
        _p("cardholder name"),
        _p("card holder name"),
        _p("holder name"),
        _p("contact name"),
        _p("person name"),
        _p("patient name"),
        _p("employee name"),
        _p("recipient name"),
        _p("sender name"),
        _p("beneficiary name"),
        _p("payer name"),
        _p("payee name"),
        _p("billing name"),
        _p("shipping name"),
    ),
    PiiClass.ADDRESS: (
        _p("street"),
        _p("address", unless="email ip mac url web wallet server host network cc bcc reply sender " + _DERIVED),
        # A bare city is coarse; a city that is part of someone's postal address is that address.
        *(_p(f"{part} city", WEAK) for part in ADDRESS_QUALIFIERS),
        _p("zip", unless=_DERIVED + " file"),
        _p("postal"),
        _p("house number"),
    ),
    PiiClass.NATIONAL_ID: (
        _p("ssn", unless="hash hashed sha masked"),
        _p("social security"),
        _p("national id"),
        _p("national insurance"),
        _p("nino"),
        _p("passport", unless="type country"),
    ),
    PiiClass.DRIVERS_LICENSE: (
        _p("driver license", unless=_DERIVED + " class expiry"),
        _p("driving license", unless=_DERIVED + " class expiry"),
        _p("dl number", WEAK),
    ),
    PiiClass.GENDER: (_p("gender", unless=_DERIVED), _p("sex", unless=_DERIVED)),
    # An age is a person's only unqualified or qualified by a person's role: ``message_age`` is not.
    PiiClass.AGE: (
        _p("age", unless=_DERIVED),
        *(_p(f"age {unit}", unless=_DERIVED) for unit in ("band", "group", "range", "bracket", "bucket")),
        _p("year old"),
    ),
    PiiClass.ETHNICITY: (
        _p("ethnicity", unless=_DERIVED),
        _p("ethnic", unless=_DERIVED),
        _p("race", WEAK, unless=_DERIVED),  # also a sports event: weaker than "ethnicity"
        _p("ethnic origin"),
        _p("racial origin"),
    ),
    PiiClass.DATE_OF_DEATH: (*_date_of("death"), _p("deceased date"), _p("died", WEAK)),
    # HIPAA's identifiers: medical record, health plan beneficiary and member/subscriber numbers.
    PiiClass.HEALTH_ID: (
        _p("medical record number"),
        _p("mrn"),
        _p("health plan id"),
        _p("health plan number"),
        _p("insurance id", WEAK),
        _p("insurance number", WEAK),
        _p("member id", WEAK, unless=_GROUPS),
        _p("member number", WEAK, unless=_GROUPS),
        _p("subscriber id", WEAK, unless=_GROUPS + " newsletter list"),
        _p("subscriber number", WEAK, unless=_GROUPS + " newsletter list"),
        _p("beneficiary id", WEAK),
        _p("beneficiary number", WEAK),
        # HIPAA names a patient's account numbers with the record and plan numbers; a bank account is not one.
        _p("patient account"),
        # An insurance policy's number identifies the insured (a health plan's is HIPAA's beneficiary number).
        _p("insurance policy", WEAK, unless=_DERIVED),
        _p("health insurance", WEAK, unless=_DERIVED + " provider company name"),
        _p("medicare number"),
        _p("medicaid number"),
        _p("medicare id"),
        _p("medicaid id"),
        _p("nhs number"),
    ),
    PiiClass.VEHICLE_ID: (
        _p("vin", unless=_DERIVED),
        _p("vehicle identification number"),
        _p("chassis number"),
        _p("license plate"),
        _p("number plate"),
        _p("plate number"),
    ),
    PiiClass.USERNAME: (
        _p("username", unless=_DERIVED),
        _p("user name", unless=_DERIVED),
        _p("login name"),
        _p("login id", WEAK),
        _p("login", WEAK, unless=_DERIVED + " attempt provider url page date time last first"),
        *(_p(f"{network} handle") for network in ("user", "social", "twitter", "instagram", "tiktok", "github")),
    ),
    PiiClass.USER_AGENT: (_p("user agent", unless=_DERIVED + " family version os"),),
    PiiClass.TAX_ID: (_p("tin"), _p("itin"), _p("ein"), _p("tax id"), _p("tax number"), _p("taxpayer")),
    PiiClass.CARD_NUMBER: (
        _p("card number", unless="last first bin " + _DERIVED),
        _p("cc number", unless="last first bin " + _DERIVED),
        _p("credit card", WEAK, unless="last first bin " + _DERIVED),
        _p("debit card", WEAK, unless="last first bin " + _DERIVED),
    ),
    PiiClass.BANK_ACCOUNT: (
        _p("account number", unless=_DERIVED),
        _p("bank account", unless=_DERIVED),
    ),
    PiiClass.IBAN: (_p("iban", unless=_DERIVED),),
    PiiClass.ROUTING_NUMBER: (_p("routing"), _p("transit number")),
    PiiClass.IP_ADDRESS: (_p("ip", unless=_DERIVED + " range block"), _p("remote address")),
    PiiClass.DATE_OF_BIRTH: (*_date_of("birth"), _p("born", WEAK)),
    PiiClass.GEO: (
        _p("latitude", unless="bucket rounded coarse"),
        _p("longitude", unless="bucket rounded coarse"),
        _p("geo point"),
        _p("geo location"),
        _p("coordinate"),
        _p("gps"),
    ),
    PiiClass.DEVICE_ID: (
        _p("device id", unless=_DERIVED + " " + _MERCHANTS_DEVICES),
        # A device's hardware serial number (HIPAA lists device serial numbers among its identifiers).
        *(_p(f"{device} serial", WEAK, unless=_DERIVED) for device in ("device", "hardware", "handset", "phone")),
        # Push tokens address one app install on one device: they follow its owner like a device id.
        *(_p(f"{kind} token", WEAK, unless=_DERIVED) for kind in _PUSH_SERVICES),
        # A MAC address, however the network is named (``wifi_mac``, ``bluetooth_mac``); not ``mac_os``.
        _p("mac", WEAK, unless=_DERIVED + " os key algorithm"),
        _p("advertising id", unless=_DERIVED),
        _p("ad id", unless=_DERIVED),
        _p("mac address"),
        _p("android id"),
        _p("vendor id", WEAK),
        _p("installation id", WEAK),
        _p("install id", WEAK),
        _p("cookie id", WEAK),
        # Web analytics' visitor ids are first- or third-party cookies: Snowplow's domain_userid and network_userid,
        # GA4's user_pseudo_id, Universal Analytics' client id (``ga_client_id``); Android's App Set ID.
        *(_p(f"{visitor} id", WEAK, unless=_NOT_THE_ID) for visitor in _VISITOR_IDS),
        _p("device user id", unless=_DERIVED + " " + _MERCHANTS_DEVICES),
        # A browser or device fingerprint follows a person; a file's or a key's fingerprint does not.
        _p("fingerprint", WEAK, unless=_NOT_A_PERSONS_PRINT),
    ),
    # Text people write. Whose and about what is the table's to say (see FREE_TEXT_NOUNS and _free_text_applies):
    # a product's description is catalogue copy, a ticket's description is what a customer wrote.
    PiiClass.FREE_TEXT: (
        *(_p(noun, WEAK, unless=_text_unless(noun)) for noun in FREE_TEXT_NOUNS),
        _p("free text"),
        _p("feedback text", WEAK),
        _p("about me", WEAK),
        # The title a person gives their note or review is part of what they wrote.
        *(_p(f"{noun} title", WEAK) for noun in ("note", "comment", "message", "review", "post", "feedback")),
    ),
    ForbiddenClass.CVV: (
        _p("cvv", unless=_DERIVED),
        _p("card verification", unless=_DERIVED),
        _p("security code", WEAK),
    ),
    ForbiddenClass.CARD_TRACK: (_p("track1"), _p("track2"), _p("track data"), _p("magstripe"), _p("magnetic stripe")),
    ForbiddenClass.PIN: (_p("pin", unless="zip postal " + _DERIVED), _p("pin block"), _p("pinblock")),
    PiiClass.CARD_EXPIRY: (
        _p("card expiry"),
        _p("cc expiry"),
        _p("card expiry date"),
        _p("card expiry month"),
        _p("card expiry year"),
        _p("expiry month", WEAK, unless="token session cookie"),
        _p("expiry year", WEAK, unless="token session cookie"),
    ),
}

#: Patterns read in prose (descriptions): longer phrases, so that "the user's IP address" counts and
#: "the number of IPs" does not.
DESCRIPTION_PATTERNS: dict[DetectedClass, tuple[tuple[str, ...], ...]] = {
    PiiClass.EMAIL: (("email", "address"),),
    PiiClass.PHONE: (("phone", "number"), ("telephone", "number")),
    # "full name of the language" is not a person: only first/last name phrases count in prose.
    PiiClass.PERSON_NAME: (("first", "name"), ("last", "name"), ("surname",)),
    PiiClass.ADDRESS: (("street", "address"), ("postal", "address"), ("postal", "code"), ("zip", "code")),
    PiiClass.NATIONAL_ID: (("social", "security", "number"), ("passport", "number")),
    PiiClass.CARD_NUMBER: (("card", "number"), ("primary", "account", "number")),
    PiiClass.BANK_ACCOUNT: (("bank", "account", "number"),),
    PiiClass.IP_ADDRESS: (("ip", "address"),),
    PiiClass.DATE_OF_BIRTH: (("date", "of", "birth"),),
    PiiClass.GEO: (("latitude",), ("longitude",)),
    PiiClass.DEVICE_ID: (("device", "id"), ("advertising", "id"), ("advertising", "identifier")),
}


def split_words(text: str) -> list[str]:
    """Raw lowercase words of ``text``: separators, camelCase and letter/digit boundaries split words."""
    words: list[str] = []
    for part in _SEPARATORS.split(text):
        if not part:
            continue
        # Most warehouse names are snake_case words: skip the boundary regexes where they cannot split anything.
        if not part.islower():
            part = _CAMEL_BOUNDARY.sub(" ", part)
        if not part.isalpha():
            part = _LETTER_DIGIT_BOUNDARY.sub(" ", part)
        words.extend(part.lower().split())
    return words


def _joined_digits(words: list[str]) -> list[str]:
    """Re-join tokens that only make sense with their digits (``track``+``1``, ``cvv``+``2``, ``last``+``4``)."""
    joined: list[str] = []
    for word in words:
        if word.isdigit() and joined and f"{joined[-1]}{word}" in _DIGIT_WORDS:
            joined[-1] = f"{joined[-1]}{word}"
        else:
            joined.append(word)
    return joined


_DIGIT_WORDS = frozenset({"track1", "track2", "cvv2", "cvc2", "ipv4", "ipv6", "ip4", "ip6", "zip5", "ssn4"})


#: Words whose final ``s`` is not a plural (``address``, ``status``, ``gps``, ``alias``).
_NOT_PLURAL_ENDINGS = ("ss", "us", "is", "as", "os", "ps")


def singular(word: str) -> str:
    """``word`` without a regular English plural ending: emails -> email, addresses -> address, cities -> city.

    Only regular forms: identifiers rarely carry irregular plurals, and words of three letters or fewer
    (``ids``, ``sms``) are left alone because their ``s`` is as often part of an abbreviation.
    """
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_NOT_PLURAL_ENDINGS):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    return word[:-1]


@cache
def tokenize(name: str) -> tuple[str, ...]:
    """Canonical tokens of a column name: ``cust_eml`` -> (customer, email); ``acctNo`` -> (account, number)."""
    tokens: list[str] = []
    for word in _joined_digits(split_words(_VENDOR_SUFFIX.sub("", name.strip()))):
        tokens.extend(_canonical(word))
    return tuple(tokens)


@cache
def _canonical(word: str) -> tuple[str, ...]:
    """One word's canonical tokens; cached because the words of a warehouse repeat far more than its names."""
    word = singular(word)
    return ABBREVIATIONS.get(word, (word,))


#: Classes whose values are text: a numeric or boolean column named ``comments`` holds a count, not comments.
TEXT_CLASSES = frozenset(
    {PiiClass.EMAIL, PiiClass.PERSON_NAME, PiiClass.ADDRESS, PiiClass.FREE_TEXT, PiiClass.IBAN, PiiClass.IP_ADDRESS,
     PiiClass.USERNAME, PiiClass.USER_AGENT, PiiClass.VEHICLE_ID}
)  # fmt: skip
# Text, compiled on first use (``re``'s cache): only a name that matched a class asks for its type (issue 16).
_NUMERIC_TYPE = r"^(tiny|small|big|huge)?int|^integer|^numeric|^decimal|^float|^double|^real|^number"
_BOOLEAN_TYPE = r"^bool"


def type_allows(pii_class: DetectedClass, data_type: str | None) -> bool:
    """Whether a column of ``data_type`` can hold values of ``pii_class`` (unknown types allow everything).

    Integer columns are *not* excluded for card, account, routing or national id numbers: warehouses store
    those as BIGINT all the time.
    """
    kind = (data_type or "").strip().lower()
    if re.match(_BOOLEAN_TYPE, kind):
        return False
    return not (re.match(_NUMERIC_TYPE, kind) and pii_class in TEXT_CLASSES)


def _contains_run(tokens: tuple[str, ...], run: tuple[str, ...]) -> bool:
    width = len(run)
    return any(tokens[i : i + width] == run for i in range(len(tokens) - width + 1))


#: Words that may follow a pattern without changing what the column holds (``phone_number``, ``address_line_1``).
_NEUTRAL_TAIL = frozenset(
    {"number", "address", "code", "line", "value", "raw", "text", "full", "primary", "secondary", "original",
     "normalized", "normalised", "clean", "cleaned", "str", "string", "data", "plain", "cleartext", "enc", "last",
     "first", "e", "intl", "international", "local", "national", "formatted", "port", "list"}
)  # fmt: skip


def _ends_name(tokens: tuple[str, ...], run: tuple[str, ...]) -> bool:
    """``run`` occurs as the head of the name: only neutral words (or digits) follow it.

    In an identifier the head noun comes last: ``ip_isp`` is an ISP, ``email_lang`` a language,
    ``latitude_accuracy`` an accuracy and ``bank_account_id`` an id, none of them the PII the first word names.
    """
    width = len(run)
    for i in range(len(tokens) - width + 1):
        if tokens[i : i + width] == run and all(t in _NEUTRAL_TAIL or t.isdigit() for t in tokens[i + width :]):
            return True
    return False


@dataclass(frozen=True)
class NameMatch:
    """A class the name (or description) points at, how strongly, and the pattern that matched."""

    pii_class: DetectedClass
    confidence: float
    pattern: str
    source: str  # "name" or "description"


@cache
def _patterns_by_token() -> dict[str, list[tuple[DetectedClass, NamePattern]]]:
    """Patterns indexed by their last token: a name can only match patterns whose last token it contains."""
    index: dict[str, list[tuple[DetectedClass, NamePattern]]] = {}
    for pii_class, patterns in PATTERNS.items():
        for pattern in patterns:
            index.setdefault(pattern.tokens[-1], []).append((pii_class, pattern))
    return index


#: First words that make a name a yes/no question (``has_comment``, ``is_mobile``): a flag holds no PII.
_FLAG_PREFIXES = frozenset({"is", "has", "was", "were", "did", "does", "can", "should", "will", "allow", "allows"})
#: Verbs that open a yes/no setting (``receives_info_emails``, ``accepts_marketing``, ``send_email``).
_FLAG_PREFIXES |= frozenset({"receive", "receives", "accept", "accepts", "want", "wants", "send", "sends", "enable",
                             "enabled", "disable", "disabled", "require", "requires", "need", "needs", "opted", "do",
                             "dont", "use", "uses", "show", "shows", "hide", "include", "includes"})  # fmt: skip
#: Words that make a name a count or an aggregate of the PII it names (``comment_count``, ``num_emails``).
_COUNT_WORDS = frozenset({"count", "cnt", "counts", "total", "tally"})


def holds_no_pii_value(tokens: tuple[str, ...]) -> bool:
    """A name that asks a yes/no question or counts something: its values are booleans or numbers.

    ``number`` first (``num_emails``, ``number_of_phones``) counts; ``number`` elsewhere is the PII's own
    number (``phone_number``).
    """
    if not tokens:
        return False
    if tokens[0] in _FLAG_PREFIXES or _COUNT_WORDS.intersection(tokens):
        return True
    return len(tokens) > 1 and tokens[0] == "number"


def _head(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The name without a trailing ``with ...`` clause: ``ip_with_port`` holds an IP address (and a port)."""
    if "with" in tokens[1:]:
        return tokens[: tokens.index("with", 1)]
    return tokens


@cache
def match_name(name: str) -> NameMatch | None:
    """The strongest class the column name points at, or None."""
    tokens = _head(tokenize(name))
    if holds_no_pii_value(tokens):
        return None
    match = _match_tokens(tokens)
    if match is None and (coded := _without_code_suffix(tokens)) is not None:
        # ``gender_concept_id``, ``race_source_value``: a code of a category is that category.
        match = _match_tokens(coded)
        return match if match is not None and match.pii_class in _CATEGORIES else None
    return match


#: Classes whose values are categories, so that a code standing for one (a concept id, a source value) is PII too.
_CATEGORIES = frozenset({PiiClass.GENDER, PiiClass.ETHNICITY})
#: Endings that turn a category into its code in a coded schema (OMOP's ``_concept_id``, ``_source_value``).
_CODE_SUFFIXES = (("source", "concept", "id"), ("concept", "id"), ("source", "value"), ("source", "code"), ("cd",))


def _without_code_suffix(tokens: tuple[str, ...]) -> tuple[str, ...] | None:
    for suffix in _CODE_SUFFIXES:
        if len(tokens) > len(suffix) and tokens[-len(suffix) :] == suffix:
            return tokens[: -len(suffix)]
    return None


def _match_tokens(tokens: tuple[str, ...]) -> NameMatch | None:
    index = _patterns_by_token()
    best = person_name_by_role(tokens)
    for pii_class, pattern in (entry for token in dict.fromkeys(tokens) for entry in index.get(token, ())):
        if not _ends_name(tokens, pattern.tokens) or pattern.unless.intersection(tokens):
            continue
        if pii_class in _PERSONAL_PARTS and not _qualified_by_a_person(tokens, pattern.tokens):
            continue
        if best is None or pattern.confidence > best.confidence:
            best = NameMatch(pii_class, pattern.confidence, " ".join(pattern.tokens), "name")
    return best


#: Classes whose words also describe things (a product's nickname, a message's age): a person's only unqualified
#: or qualified by a person's role.
_PERSONAL_PARTS = frozenset({PiiClass.PERSON_NAME, PiiClass.AGE})

#: Roles people play in records: a ``<role>_name`` (``agent_name``, ``approver_display_name``) is a person's.
PERSON_ROLES = frozenset(
    {"customer", "user", "member", "subscriber", "patient", "employee", "staff", "agent", "rep",
     "representative", "reviewer", "approver", "requester", "requestor", "assignee", "owner", "author", "creator",
     "editor", "sender", "recipient", "addressee", "payer", "payee", "beneficiary", "holder", "cardholder",
     "contact", "person", "guest", "passenger", "driver", "rider", "student", "teacher", "doctor", "physician",
     "nurse", "applicant", "candidate", "buyer", "seller", "signer", "signatory", "witness", "parent",
     "guardian", "spouse", "emergency", "manager", "supervisor", "lead", "traveler", "traveller", "attendee",
     "participant", "player", "billing", "shipping", "mother", "father", "child", "insured", "assistant",
     "social", "patron", "resident", "tenant", "visitor", "volunteer", "donor"}
)  # fmt: skip
#: Roles software plays as well as people, and the words that say it is software (a user agent's agent name).
SOFTWARE_ROLES = frozenset({"agent"})
SOFTWARE_WORDS = frozenset({"yauaa", "browser", "ua", "useragent", "bot", "crawler", "spider", "robot", "os"})

#: Words between a role and ``name`` that keep it a person's name (``reviewer_full_name``).
_NAME_PARTS = frozenset({"full", "first", "last", "middle", "display", "legal", "preferred", "given", "family"})
_NAME_PARTS |= frozenset({"nick", "short", "real", "maiden"})
#: ... and words that say which of the role's records the name is on (``billing_address_name``).
_BETWEEN_ROLE_AND_NAME = _NAME_PARTS | {"address", "detail", "details", "profile", "account"}


def person_name_by_role(tokens: tuple[str, ...]) -> NameMatch | None:
    """``<role> [name parts] name``: a person's name, whatever name parts sit between role and ``name``."""
    if "name" not in tokens or not _ends_name(tokens, ("name",)):
        return None
    end = len(tokens) - 1 - tokens[::-1].index("name")
    start = end
    while start > 0 and tokens[start - 1] in _BETWEEN_ROLE_AND_NAME:
        start -= 1
    if start == 0 or tokens[start - 1] not in PERSON_ROLES:
        return None
    if start == end and tokens[start - 1] == "user":
        return None  # a bare user_name is a login, not a person's name (see USERNAME)
    if tokens[start - 1] in SOFTWARE_ROLES and SOFTWARE_WORDS.intersection(tokens):
        return None  # yauaa__agent_name: the browser a user agent names
    return NameMatch(PiiClass.PERSON_NAME, STRONG, " ".join((tokens[start - 1], *tokens[start : end + 1])), "name")


#: Tables whose rows are people: their last word (``dim_customers``, ``stg_crm__contacts``, ``people``).
PEOPLE_TABLES = (PERSON_ROLES - {"billing", "shipping", "emergency", "holder", "account"}) | {"people", "lead"}


def _qualified_by_a_person(tokens: tuple[str, ...], run: tuple[str, ...]) -> bool:
    """A name part qualified by something other than a person's role is a thing's name (``product_nickname``).

    Parts that only people have (first, last, middle, maiden names) need no role.
    """
    if run[0] in {"first", "last", "middle", "maiden", "full"}:
        return True
    width = len(run)
    starts = [i for i in range(len(tokens) - width + 1) if tokens[i : i + width] == run]
    return any(i == 0 or tokens[i - 1] in PERSON_ROLES or tokens[i - 1] in _NAME_PARTS for i in starts)


#: Distinct descriptions whose verdict is remembered: projects repeat a column's description on every model that
#: carries the column (doc blocks, generated models), and a bound keeps a huge manifest's memory flat.
DESCRIPTIONS_REMEMBERED = 8192


@lru_cache(maxsize=DESCRIPTIONS_REMEMBERED)
def match_description(description: str) -> NameMatch | None:
    """The class a description names as the column's content, or None; weaker than a name match."""
    if not description:
        return None
    tokens = tuple(tokenize_prose(description))
    words = frozenset(tokens)
    if words.isdisjoint(_DESCRIPTION_WORDS) or not words.isdisjoint(_NEGATIONS):
        return None
    # In DESCRIPTION_PATTERNS' order, so that the first class that matches wins; a run is looked for in the
    # description's order only when the description holds all its words.
    for needed, run, match in _description_runs():
        if needed <= words and _contains_run(tokens, run):
            return match
    return None


@cache
def _description_runs() -> tuple[tuple[frozenset[str], tuple[str, ...], NameMatch], ...]:
    """Each of DESCRIPTION_PATTERNS' runs with its words as a set and its match, built once per process."""
    return tuple(
        (frozenset(run), run, NameMatch(pii_class, DESCRIPTION, " ".join(run), "description"))
        for pii_class, runs in DESCRIPTION_PATTERNS.items()
        for run in runs
    )


#: Every word of a description pattern: a description with none of them names no class.
_DESCRIPTION_WORDS = frozenset(word for runs in DESCRIPTION_PATTERNS.values() for run in runs for word in run)


#: Words that say a description talks *about* PII without the column holding it.
_NEGATIONS = frozenset({"hashed", "hash", "masked", "redacted", "anonymized", "anonymised", "pseudonymized"})
_NEGATIONS |= frozenset({"count", "whether", "truncated"})


def tokenize_prose(text: str) -> list[str]:
    """Lowercase words of prose, with the same abbreviations as names but no camelCase splitting."""
    tokens: list[str] = []
    for word in _SEPARATORS.split(text):
        if word:
            tokens.extend(_prose_word(word))
    return tokens


@lru_cache(maxsize=4 * DESCRIPTIONS_REMEMBERED)
def _prose_word(word: str) -> tuple[str, ...]:
    """One word's tokens in prose; cached because prose repeats its words far more than its sentences."""
    word = singular(word.lower())
    return ABBREVIATIONS.get(word, (word,)) if word in _PROSE_EXPANSIONS else (word,)


#: Only unambiguous abbreviations are expanded in prose ("no" and "long" are ordinary English words there).
_PROSE_EXPANSIONS = frozenset({"ipv4", "ipv6", "dob", "idfa", "gaid", "imei", "emailaddress", "ipaddress"})

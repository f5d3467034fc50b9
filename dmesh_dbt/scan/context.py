"""A column in its context: what its table, description, data type and sibling columns add to what its name says.

One decision, ``decide``, shared by ``scan``, ``check`` (DM009) and ``adopt``, so that the three never disagree on
whether a column looks like PII. The name says what a column holds; the context says whose it is and whether the
name's word means what it usually means:
- whose: ``name`` is a person's on ``customers`` and not on ``products``; ``phone`` on ``accounts``, ``vendors``
  or ``shops`` is a business's (``business_contact``, a class of its own so that the policy decides);
- which sense: ``cc`` and ``from_address`` are email addresses on a table of messages; ``description`` and
  ``message`` are text people write on a ticket, not on a product or a payment gateway's response;
- whether at all: a description that calls the column a flag or a count, or a type that cannot hold the class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from dmesh_dbt.pii import PiiClass
from dmesh_dbt.scan.names import (
    AMBIGUOUS_TEXT_NOUNS,
    DESCRIPTIONS_REMEMBERED,
    FREE_TEXT_NOUNS,
    PEOPLE_TABLES,
    PERSON_ROLES,
    SOFTWARE_ROLES,
    SOFTWARE_WORDS,
    STRONG,
    WEAK,
    NameMatch,
    match_description,
    match_name,
    tokenize,
    type_allows,
)


@dataclass(frozen=True)
class ColumnContext:
    """What is known of a column besides its values."""

    name: str
    table: str | None = None
    description: str = ""
    data_type: str | None = None
    #: The names of the other columns of the same table.
    siblings: tuple[str, ...] = ()


def decide(context: ColumnContext) -> NameMatch | None:
    """The class the column's name, read in its context, points at (or, weaker, its description); None if none."""
    if describes_a_flag_or_count(context.description):
        return None
    match = match_in_context(context.name, context.table)
    if match is None:
        match = covered_persons_identifier(context)
    if match is None:
        match = match_description(context.description)
    if match is None or not type_allows(match.pii_class, context.data_type):
        return None
    if match.pii_class in CONTACT_CLASSES and _description_says_a_business(context.description):
        return _as_business(match, "the description says a business's")
    if match.pii_class in _TEXT_ONLY and _describes_a_key(context.description):
        return None
    if match.pii_class is PiiClass.DEVICE_ID and _a_merchants_device(context):
        return None
    if match.pattern.startswith("payer ") and match.pii_class is PiiClass.PERSON_NAME and _about_health(context):
        return None  # in care and coverage the payer is the insurer: its name is a company's
    if match.pii_class in CONTACT_CLASSES and _row_of_a_business(context):
        return _as_business(match, "on a row that belongs to an account, not a person")
    return match


#: Classes that are text, never a key: a column described as the id of a record holds none of them.
_TEXT_ONLY = frozenset({PiiClass.FREE_TEXT, PiiClass.PERSON_NAME, PiiClass.ADDRESS})
# This pattern and the three below are kept as text and compiled on first use (``re``'s own cache): only a column
# whose name already matched a PII class gets to them, and compiling them at import cost every check 0.9 ms.
_A_KEY = r"(?i)^\s*\(?(the |an? )?(id|identifier) (of|for)\b"


#: Devices that follow a business or a product, not a person: a point-of-sale terminal, a regulated medical device.
_NOT_A_PERSONS_DEVICE = (
    r"\b(POS|point[- ]of[- ]sale|till|cash register|card reader|UDI(-DI)?|unique device identification)\b"
)


def _a_merchants_device(context: ColumnContext) -> bool:
    """A device the description calls a till or a regulated medical device, or on a sale that names the staff member
    and the premises it took place at (a point-of-sale record): the device is the business's."""
    if re.search(_NOT_A_PERSONS_DEVICE, context.description or ""):
        return True
    words = _sibling_key_words(context.siblings)
    return bool(words & _STAFF) and bool(words & _PREMISES)


#: Who works a till, and where a till stands, as the keys of a sale name them (``cashier_id``, ``store_id``).
_STAFF = frozenset({"staff", "employee", "cashier", "clerk", "associate"})
_PREMISES = frozenset({"location", "store", "register", "terminal", "outlet", "branch", "till"})


@cache
def _sibling_key_words(siblings: tuple[str, ...]) -> frozenset[str]:
    """The words of the sibling columns that are keys (``staff_member_id`` -> staff, member)."""
    return frozenset(t for name in siblings if (tokens := tokenize(name)) and tokens[-1] == "id" for t in tokens[:-1])


#: People a health plan covers or a clinical record is about, as identifiers name them.
_COVERED = frozenset({"holder", "insured", "enrollee", "dependent", "family", "household", "patient", "person"})
_COVERED |= frozenset({"member", "subscriber", "beneficiary"})
#: Words of tables and keys that say a schema is about care or health-plan coverage.
HEALTH_WORDS = frozenset(
    {"patient", "claim", "payer", "insurance", "insurer", "coverage", "eligibility", "enrollment", "medicare",
     "medicaid", "encounter", "admission", "diagnosis", "care", "clinical", "hospital", "clinic", "prescription"}
)  # fmt: skip


def covered_persons_identifier(context: ColumnContext) -> NameMatch | None:
    """In a schema about care or coverage, the identifier of a person it covers: ``policy_holder_id`` on claims,
    a family's or a person's identifier carried from the source system (``*_source_value``, OMOP's convention).

    Not the warehouse's own surrogate key of a person (``person_id``): only the source's identifier, or the id of a
    role only a plan has (holder, insured, enrollee, dependent, family, household)."""
    tokens = tokenize(context.name)
    if len(tokens) < 2 or tokens[-1] not in {"id", "number", "value"}:
        return None
    if tokens[-2:] == ("source", "value"):
        role = tokens[-3] if len(tokens) > 2 else ""
    else:
        role = tokens[-2] if tokens[-2] not in {"person", "patient"} else ""
    if role not in _COVERED or not _about_health(context):
        return None
    return NameMatch(PiiClass.HEALTH_ID, WEAK, f"{' '.join(tokens)} in a schema about care or coverage", "context")


def _about_health(context: ColumnContext) -> bool:
    if HEALTH_WORDS.intersection(table_tokens(context.table)):
        return True
    return bool(HEALTH_WORDS & _sibling_key_words(context.siblings))


def _describes_a_key(description: str) -> bool:
    """ "(ID of a file upload) ...", "The ID of the ...": the column is a key to another record."""
    return bool(description) and re.match(_A_KEY, description) is not None


#: Keys that say a row belongs to a business, and keys that say it belongs to a person.
_BUSINESS_KEYS = frozenset({("account", "id"), ("company", "id"), ("organization", "id"), ("vendor", "id")})
#: (Not the keys of the people who work the record, ``owner_id`` or ``created_by_id``: a CRM's orders have those.)
_PERSON_KEYS = frozenset(
    (role, "id")
    for role in ("customer", "contact", "person", "patient", "member", "subscriber", "user", "buyer", "guest", "lead",
                 "passenger", "student", "applicant", "candidate", "client", "shopper", "visitor", "consumer",
                 "requester", "requestor", "submitter", "reporter", "author", "sender", "recipient")
)  # fmt: skip


def _row_of_a_business(context: ColumnContext) -> bool:
    """A row keyed to an account (``account_id``) and to no person (no ``customer_id``, ``contact_id``): its address
    and phone are the account's, as on a CRM's orders. Not on a table of people, whose rows are the person."""
    tokens = table_tokens(context.table)
    if not context.siblings or (tokens and tokens[-1] in PEOPLE_TABLES):
        return False
    if _PERSONS_ON_BUSINESS.intersection(tokenize(context.name)[:-1]):
        return False
    keys = _sibling_keys(context.siblings)
    return bool(keys & _BUSINESS_KEYS) and not keys & _PERSON_KEYS


@cache
def _sibling_keys(siblings: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    return frozenset(tokens for name in siblings if len(tokens := tokenize(name)) == 2 and tokens[1] == "id")


#: Classes that are a person's contact details, and a business's when the row or the name is a business.
CONTACT_CLASSES = frozenset({PiiClass.PHONE, PiiClass.EMAIL, PiiClass.ADDRESS, PiiClass.GEO})

#: Last words of tables whose rows are businesses (``accounts``, ``dim_companies``, ``vendors``, ``shop``).
BUSINESS_TABLES = frozenset(
    {"account", "company", "organization", "organisation", "org", "vendor", "supplier", "merchant", "shop", "store",
     "business", "firm", "employer", "partner", "entity", "branch", "office", "agency", "institution", "brand",
     "dealer", "distributor", "retailer", "manufacturer"}
)  # fmt: skip
#: Words that make a contact detail a business's whatever the table (``company_phone``, ``hq_address``).
BUSINESS_QUALIFIERS = frozenset(
    {"company", "business", "corporate", "office", "hq", "headquarters", "organization", "organisation", "org",
     "vendor", "supplier", "merchant", "shop", "store", "firm", "employer", "main", "switchboard"}
)  # fmt: skip
#: Roles that keep a contact detail a person's even on a table of businesses (``owner_email`` on ``accounts``).
_PERSONS_ON_BUSINESS = PERSON_ROLES - {"contact", "billing", "shipping", "lead"}

#: Last words of tables of messages, where ``from``, ``to``, ``cc``, ``bcc``, ``sender`` are email addresses.
MESSAGE_TABLES = frozenset(
    {"email", "message", "mail", "ticket", "conversation", "chat", "thread", "inbox", "notification", "sms",
     "comment", "reply", "letter", "correspondence", "sent", "dropped", "delivered", "bounce", "bounced", "open",
     "click"}
)  # fmt: skip
_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply", "sender", "recipient", "addressee"})
_HEADER_TAIL = frozenset({"address", "email", "list", "to", "line", "header", "field"})

#: Last words of tables of catalogue and configuration: their text is copy written about things, not people.
CATALOGUE_TABLES = frozenset(
    {"product", "variant", "plan", "price", "coupon", "discount", "promotion", "campaign", "program", "template",
     "property", "option", "form", "field", "metafield", "collection", "catalog", "catalogue", "category", "tag",
     "vocabulary", "concept", "domain", "relationship", "definition", "role", "brand", "group", "team", "schedule",
     "holiday", "setting", "config", "configuration", "type", "status", "rule", "subscription", "list", "segment",
     "sku", "application", "source", "log", "audit", "metadata", "media", "image", "page", "app"}
)  # fmt: skip
#: Things whose text is catalogue copy wherever it is kept (``product_description`` on a dispute).
_CATALOGUE_THINGS = frozenset(
    {"product", "variant", "plan", "price", "coupon", "discount", "promotion", "campaign", "program", "template",
     "form", "metafield", "collection", "catalog", "catalogue", "category", "sku", "app", "page", "image", "media"}
)  # fmt: skip
#: Tables whose rows record a conversation: only there does a bare ``message`` mean text a person wrote.
_CONVERSATION_WORDS = MESSAGE_TABLES | {"chat", "review", "feedback", "post", "note", "survey", "response"}
_CONVERSATION_WORDS -= {"open", "click"}
#: Tables whose rows are documents a person holds: a bare ``name`` on them is the holder's (a card's name).
_HELD_DOCUMENTS = frozenset({"card", "passport", "license", "licence", "membership"})


#: Words that end a table's name without saying what its rows are (``email_template_history``, ``product_2``).
_TABLE_SUFFIXES = frozenset(
    {"history", "snapshot", "scd", "archive", "current", "latest", "tmp", "temp", "v", "raw", "daily", "weekly",
     "monthly", "base", "staging", "stg", "view", "table", "tbl"}
)  # fmt: skip


@cache
def table_tokens(table: str | None) -> tuple[str, ...]:
    """The table's words up to the noun that says what a row is: ``email_template_history`` -> (email, template)."""
    tokens = tokenize(table) if table else ()
    end = len(tokens)
    while end > 1 and (tokens[end - 1] in _TABLE_SUFFIXES or tokens[end - 1].isdigit()):
        end -= 1
    return tokens[:end]


def match_in_context(name: str, table: str | None) -> NameMatch | None:
    """``match_name``, read with what the table's name tells."""
    if not _table_may_decide(name):
        return None  # most columns: no table makes anything of the name, so its words are not even read
    return _match_in_table(name, table_tokens(table))


@cache
def _table_may_decide(name: str) -> bool:
    """Whether any table could give ``name`` a class: the name matches a pattern, or it passes the gate with which
    ``_message_header`` or ``_bare_word_on_its_table`` begins. Those functions read nothing their gates turn away,
    so skipping the table for every other name cannot lose a finding."""
    tokens = tokenize(name)
    return match_name(name) is not None or _is_header(tokens) or _is_table_word(tokens)


@cache
def _match_in_table(name: str, table_tokens_: tuple[str, ...]) -> NameMatch | None:
    """Cached by the table's words, not its name: a warehouse repeats its column names on tables that differ only
    by a suffix or a number (``payments_0001``, ``orders_history``), and only the words decide."""
    tokens = tokenize(name)
    header = _message_header(tokens, table_tokens_)
    if header is not None:
        return header
    match = match_name(name)
    if match is None:
        return _bare_word_on_its_table(tokens, table_tokens_)
    if match.pattern.split()[0] in SOFTWARE_ROLES and SOFTWARE_WORDS.intersection(table_tokens_):
        return None  # an agent's name on a table of user agents is a browser's
    if match.pii_class is PiiClass.FREE_TEXT and not _free_text_applies(tokens, match, table_tokens_):
        return None
    if match.pii_class is PiiClass.BANK_ACCOUNT and _own_record_number(tokens, table_tokens_):
        return None
    if match.pii_class in CONTACT_CLASSES and _a_business(tokens, table_tokens_):
        return _as_business(match, "of a business")
    return match


def _message_header(tokens: tuple[str, ...], table: tuple[str, ...]) -> NameMatch | None:
    """On a table of messages, a header role (``cc``, ``from_address``, ``reply_to``, ``sender``) is an address and
    ``from_name`` a person's name."""
    if not _is_header(tokens) or not table or not MESSAGE_TABLES.intersection(table):
        return None
    rest = tokens[1:]
    if rest and rest[-1] == "name" and all(t in _HEADER_TAIL for t in rest[:-1]):
        return NameMatch(PiiClass.PERSON_NAME, STRONG, f"{' '.join(tokens)} on a table of messages", "context")
    if all(t in _HEADER_TAIL for t in rest):
        return NameMatch(PiiClass.EMAIL, STRONG, f"{' '.join(tokens)} on a table of messages", "context")
    return None


def _bare_word_on_its_table(tokens: tuple[str, ...], table: tuple[str, ...]) -> NameMatch | None:
    """Words that are a person's only on a table of people (``name``, ``nickname``, ``alias``), and a city on a table
    of addresses."""
    if not _is_table_word(tokens) or not table:
        return None  # the gate _table_may_decide reads too: a word added below must pass it
    people = table[-1] in PEOPLE_TABLES
    said = f"{' '.join(tokens)} on a table of people"
    if _is_bare_name(tokens) and (people or (tokens == ("name",) and table[-1] in _HELD_DOCUMENTS)):
        return NameMatch(PiiClass.PERSON_NAME, STRONG, said, "context")
    if tokens == ("alias",) and people:
        return NameMatch(PiiClass.USERNAME, WEAK, said, "context")
    if tokens == ("city",) and table[-1] == "address":
        # On a table of addresses the city is part of each row's address; elsewhere, alone, it is coarse.
        return NameMatch(PiiClass.ADDRESS, WEAK, "city on a table of addresses", "context")
    return None


def _is_header(tokens: tuple[str, ...]) -> bool:
    """``cc``, ``from_address``, ``reply_to``: a message header's role, which only a table of messages decides."""
    return bool(tokens) and tokens[0] in _HEADERS


#: Whole names that only a table decides besides bare names: an alias on people, a city on addresses.
_TABLE_WORDS = frozenset({("alias",), ("city",)})


def _is_table_word(tokens: tuple[str, ...]) -> bool:
    """A name ``_bare_word_on_its_table`` may classify, given the right table."""
    return bool(tokens) and (_is_bare_name(tokens) or tokens in _TABLE_WORDS)


_NAME_WORDS = frozenset({"full", "display", "legal", "preferred", "nick", "short", "real"})


def _is_bare_name(tokens: tuple[str, ...]) -> bool:
    """``name``, ``display_name``, ``nickname``: a name with nothing that says whose."""
    return tokens[-1] == "name" and all(t in _NAME_WORDS for t in tokens[:-1])


def _free_text_applies(tokens: tuple[str, ...], match: NameMatch, table: tuple[str, ...]) -> bool:
    """Text on a catalogue or configuration table is copy about things; a bare ``message`` is a person's only on a
    table of conversations (elsewhere a gateway's or a carrier's status message)."""
    if table and table[-1] in CATALOGUE_TABLES:
        return False
    if _CATALOGUE_THINGS.intersection(tokens[:-1]):
        return False  # evidence_product_description: copy about a product wherever it is kept
    noun = match.pattern.split()[-1]
    qualifiers = _without_vendor_prefix(tokens[: tokens.index(noun)] if noun in tokens else ())
    if noun in AMBIGUOUS_TEXT_NOUNS and any(q not in PERSON_ROLES and q not in _TEXT_WORDS for q in qualifiers):
        return False  # flow_description, jsonPayload.fields.body: a thing's text
    if noun in {"message", "body"} and not qualifiers:
        # A bare message or body is a person's on a conversation (elsewhere a gateway's or a carrier's status).
        return bool(table) and bool(_CONVERSATION_WORDS.intersection(table) or table[-1] in PEOPLE_TABLES)
    return match.pattern != "about me" or not table or table[-1] in PEOPLE_TABLES


#: Words for text people write, which may qualify one another (``note_text``, ``comment_body``, ``message_subject``).
_TEXT_WORDS = frozenset(FREE_TEXT_NOUNS) | {"free", "ticket", "email", "chat", "review", "post", "reply"}
#: First words some vendors put before every field (HubSpot's ``property_``, ``custom_``): not a qualifier.
_VENDOR_PREFIXES = frozenset({"property", "custom", "prop", "attr", "attribute", "field", "cf", "x"})


def _without_vendor_prefix(tokens: tuple[str, ...]) -> tuple[str, ...]:
    return tokens[1:] if tokens and tokens[0] in _VENDOR_PREFIXES else tokens


def _own_record_number(tokens: tuple[str, ...], table: tuple[str, ...]) -> bool:
    """``account_number`` on a table of (CRM) accounts is the row's own number, not a bank account's."""
    return bool(table) and tokens == ("account", "number") and table[-1] == "account" and "bank" not in table


def _a_business(tokens: tuple[str, ...], table: tuple[str, ...]) -> bool:
    """A contact detail named as a business's, or on a table of businesses and not qualified by a person's role."""
    qualifiers = tokens[:-1]
    if BUSINESS_QUALIFIERS.intersection(qualifiers):
        return True
    if not table or table[-1] not in BUSINESS_TABLES:
        return False
    return not _PERSONS_ON_BUSINESS.intersection(tokens)


def _as_business(match: NameMatch, why: str) -> NameMatch:
    return NameMatch(PiiClass.BUSINESS_CONTACT, match.confidence, f"{match.pattern} {why}", match.source)


#: "the company's", "of this account", "of the lead's company": the description names a business as the owner.
_BUSINESS_OWNER = r"(company|business|shop|store|organi[sz]ation|merchant|vendor|supplier|account)"
_POSSESSIVE = rf"(?i)\b{_BUSINESS_OWNER}['’]s\b"
_OF_THE = rf"(?i)\bof (?:the |this |that |its )(?:(\w+)['’]s )?{_BUSINESS_OWNER}\b"


def _description_says_a_business(description: str) -> bool:
    if not description:
        return False
    if re.search(_POSSESSIVE, description):
        return True
    found = re.search(_OF_THE, description)
    if found is None:
        return False
    owner, thing = (found.group(1) or "").lower(), found.group(2).lower()
    return thing != "account" or not owner  # "of this account" is the account's; "of the host's account" a person's


#: Descriptions that say the column is a yes/no flag or a count, whatever its name.
_FLAG_OR_COUNT = re.compile(
    r"^\s*(\(deprecated\)\s*)?(boolean|whether|indicates whether|indicates if|true if|flag|the number of|number of"
    r"|count of|the count of|total number)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=DESCRIPTIONS_REMEMBERED)
def describes_a_flag_or_count(description: str) -> bool:
    return bool(description) and _FLAG_OR_COUNT.match(description) is not None

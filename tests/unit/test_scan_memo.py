"""The name and description signals remember what they decided (per distinct name, table words and description) and
read descriptions against precompiled runs: neither may ever change a verdict."""

from __future__ import annotations

import itertools
import random

from dmesh_dbt.scan import context, names
from dmesh_dbt.scan.context import ColumnContext, decide, table_tokens
from dmesh_dbt.scan.names import (
    DESCRIPTION,
    DESCRIPTION_PATTERNS,
    PATTERNS,
    PEOPLE_TABLES,
    SOFTWARE_WORDS,
    NameMatch,
    match_description,
    tokenize_prose,
)

#: Every cache of the two modules, cleared to read a column cold.
_CACHES = (
    names.tokenize,
    names._canonical,
    names.match_name,
    names.match_description,
    names._description_runs,
    names._prose_word,
    context.table_tokens,
    context._match_in_table,
    context._table_may_decide,
    context.describes_a_flag_or_count,
    context._sibling_key_words,
    context._sibling_keys,
)


def _cold() -> None:
    for cached in _CACHES:
        cached.cache_clear()


def _reference_tokenize_prose(text: str) -> list[str]:
    """Prose's tokens as they were read before words were remembered."""
    words = [names.singular(w.lower()) for w in names._SEPARATORS.split(text) if w]
    tokens: list[str] = []
    for word in words:
        tokens.extend(names.ABBREVIATIONS.get(word, (word,)) if word in names._PROSE_EXPANSIONS else (word,))
    return tokens


def _reference_match_description(description: str) -> NameMatch | None:
    """The description signal as it read before it was precompiled: every run, in order, over the tokens."""
    if not description:
        return None
    tokens = tuple(_reference_tokenize_prose(description))
    if names._NEGATIONS.intersection(tokens):
        return None
    for pii_class, runs in DESCRIPTION_PATTERNS.items():
        for run in runs:
            if any(tokens[i : i + len(run)] == run for i in range(len(tokens) - len(run) + 1)):
                return NameMatch(pii_class, DESCRIPTION, " ".join(run), "description")
    return None


def _descriptions(count: int) -> list[str]:
    """Sentences made of the patterns' words, negations, abbreviations, plurals and filler, in any order and case."""
    words = sorted({word for runs in DESCRIPTION_PATTERNS.values() for run in runs for word in run})
    words += sorted(names._NEGATIONS) + ["the", "of", "a", "user's", "addresses", "numbers", "IPs", "DOB", "ipv4"]
    words += ["emailAddress", "no", "long", "Phone-Number", "zip_code", "ID", "identifiers", "(PAN)", "card."]
    words += ["Cities", "IPv6", "IMEIs", "statuses"]
    rng = random.Random(16)
    sentences = ["", " ", "Email address.", "The IP address of the device.", "SHA-256 hash of the email address."]
    for _ in range(count):
        chosen = rng.choices(words, k=rng.randint(1, 9))
        sentences.append(rng.choice((" ", "_", ", ", " - ")).join(chosen))
    return sentences


def test_the_precompiled_description_signal_reads_as_the_run_by_run_loop() -> None:
    _cold()
    corpus = _descriptions(4000)
    expected = [_reference_match_description(text) for text in corpus]
    assert any(expected) and not all(expected)  # the corpus exercises both verdicts
    assert [match_description(text) for text in corpus] == expected  # cold, then partly remembered
    assert [match_description(text) for text in reversed(corpus)] == expected[::-1]  # remembered


def test_prose_reads_its_words_as_before() -> None:
    _cold()
    corpus = [*_descriptions(2000), "Cities, IPv4 ADDRESSES and the DOB of the emailAddress owners' statuses"]
    assert [tokenize_prose(text) for text in corpus] == [_reference_tokenize_prose(text) for text in corpus]


def test_a_bounded_cache_that_forgets_gives_the_same_verdicts() -> None:
    _cold()
    # More distinct descriptions than it keeps: the first ones are forgotten, then read again.
    corpus = [f"{text} (row {i})" for i, text in enumerate(_descriptions(names.DESCRIPTIONS_REMEMBERED + 500))]
    first = [match_description(text) for text in corpus]
    assert match_description.cache_info().currsize == names.DESCRIPTIONS_REMEMBERED
    assert [match_description(text) for text in corpus] == first


_NAMES = ("phone", "email", "description", "name", "cc", "account_number", "city", "agent_name", "member_id",
          "device_id", "comment_count", "payer_name", "pan", "customer_id", "message")  # fmt: skip
_TABLES = (None, "payments_0001", "payments_0002", "accounts", "accounts_history", "customers", "support_tickets",
           "email_messages", "products", "product_2", "claims", "pos_sales")  # fmt: skip
_TEXTS = ("", "Primary account number (PAN) of the card.", "The paying customer.", "Whether the email bounced.",
          "The company's phone number.", "ID of the ticket's author.", "Serial of the POS terminal.",
          "Identifier of the payment attempt.")  # fmt: skip
_SIBLINGS = ((), ("account_id", "phone"), ("customer_id", "account_id"), ("cashier_id", "store_id", "device_id"),
             ("policy_holder_id", "claim_id"))  # fmt: skip


def test_decide_warm_is_decide_cold() -> None:
    columns = [
        ColumnContext(name, table, text, data_type, siblings)
        for name, table, text, data_type, siblings in itertools.product(
            _NAMES, _TABLES, _TEXTS, (None, "bigint"), _SIBLINGS
        )
    ]
    cold = []
    for column in columns:
        _cold()
        cold.append(decide(column))
    assert any(cold) and not all(cold)
    order = list(range(len(columns)))
    random.Random(16).shuffle(order)
    warm = {i: decide(columns[i]) for i in order}  # tables that differ only by a number share a remembered verdict
    assert [warm[i] for i in range(len(columns))] == cold


def test_a_name_no_table_could_change_is_not_read_with_its_table() -> None:
    """``match_in_context`` skips the table for most names; every name and table gives what reading both gives."""
    _cold()
    runs = {"_".join(pattern.tokens) for patterns in PATTERNS.values() for pattern in patterns}
    heads = ("from", "to", "cc", "bcc", "reply_to", "from_name", "sender_email", "to_address", "recipient_list")
    bare = ("name", "display_name", "nickname", "full_name", "alias", "city", "agent_name", "product_name")
    other = ("payment_id", "amount_cents", "is_succeeded", "comment_count", "phone_model", "status", "", "_")
    tables = {None, "address", "addresses", "support_tickets", "email_messages", "card", "passport", "accounts"}
    tables |= {f"dim_{table}s" for table in (*sorted(PEOPLE_TABLES)[:12], *sorted(SOFTWARE_WORDS)[:6])}
    tables |= set(context.MESSAGE_TABLES) | set(context.BUSINESS_TABLES) | set(context.CATALOGUE_TABLES)
    for name in sorted(runs) + [*heads, *bare, *other]:
        for table in sorted(tables, key=str):
            assert context.match_in_context(name, table) == context._match_in_table(name, table_tokens(table)), (
                name,
                table,
            )


def test_the_table_only_readers_classify_nothing_their_gates_refuse() -> None:
    """``_table_may_decide`` skips the table on the same gates the two table-only readers begin with: a name they
    refuse gets nothing from any table, one they accept is read with it."""
    tables = [table_tokens(t) for t in ("email_messages", "customers", "card", "address", "accounts", None)]
    refused = ("amount", "customer_note", "city_code", "alias_id", "name_of_product", "subject")
    for name in refused:
        tokens = names.tokenize(name)
        assert not context._is_header(tokens) and not context._is_table_word(tokens), name
        for table in tables:
            assert context._message_header(tokens, table) is None, (name, table)
            assert context._bare_word_on_its_table(tokens, table) is None, (name, table)
    accepted = {"cc": "email_messages", "from_name": "email_messages", "nickname": "customers", "city": "address"}
    for name, table_name in accepted.items():
        tokens, table = names.tokenize(name), table_tokens(table_name)
        assert context._table_may_decide(name), name
        assert context._message_header(tokens, table) or context._bare_word_on_its_table(tokens, table), name

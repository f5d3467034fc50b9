"""The lineage cache: a repeated check reuses each node's lineage only when computed from all the same inputs,
and no cache file, however written, makes a PII column pass DM011 (fail closed)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from pathlib import Path

import orjson
import pytest
from msgspec.structs import replace

from dmesh_dbt.artifacts import Access, Project
from dmesh_dbt.lineage import ColumnRef, Input, Lineage, NodeLineage, cache_salt
from dmesh_dbt.lineage_cache import CACHE_FILE, LineageCache, key_path
from dmesh_dbt.policy.engine import DomainConfig, PolicyContext
from dmesh_dbt.policy.registry import RULES
from tests.lineage_projects import column, model, project, source

OUT = "model.payments.contacts"
STG = "model.payments.stg_customers"
LEAK = "contacts.contact carries email from raw.customers.email"


@pytest.fixture(autouse=True)
def _own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own user cache key (never the developer's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _project(
    out_sql: str = "select customer_id, email || '' as contact from {stg_customers}",
    raw_columns: tuple[str, ...] = ("customer_id", "email"),
    stg_sql: str = "select * from {raw.customers}",
) -> Project:
    """raw.customers (email classified) -> stg_customers -> contacts (public, `contact` unclassified)."""
    raw = source("customers", tuple(column(c, **({"pii": "email"} if c == "email" else {})) for c in raw_columns))
    stg = model("stg_customers", stg_sql, (raw.unique_id,))
    out = model("contacts", out_sql, (stg.unique_id,), (column("customer_id"), column("contact")), access=Access.PUBLIC)
    return project(raw, stg, out)


def _run(built: Project, target: Path, salt: str = "") -> tuple[LineageCache, list[str]]:
    """DM007 and DM011 as check runs them, with the cache in ``target``, saved after; DM011's messages."""
    cache = LineageCache.open(target, salt or cache_salt())
    ctx = PolicyContext(built, DomainConfig(name="payments"), date(2026, 12, 1), lineage_cache=cache)
    list(RULES["DM007"].check(ctx))
    messages = [v.message for v in RULES["DM011"].check(ctx)]
    cache.save()
    return cache, messages


def _nodes(built: Project, cache: LineageCache | None) -> dict[str, NodeLineage]:
    lineage = Lineage(built, cache)
    return {node_id: lineage.node(node_id) for node_id in (STG, OUT)}


def test_a_second_run_reads_every_node_from_the_cache_and_finds_the_same(tmp_path: Path) -> None:
    first, found = _run(_project(), tmp_path)
    assert (first.hits, first.misses) == (0, 2)  # per node its column lineage, which holds what DM007 reads too
    second, again = _run(_project(), tmp_path)
    assert (second.hits, second.misses) == (2, 0)
    assert again == found and any(LEAK in m for m in found)
    assert _nodes(_project(), LineageCache.open(tmp_path, cache_salt())) == _nodes(_project(), None)


def test_changed_sql_is_parsed_again_and_its_children_keep_their_entries(tmp_path: Path) -> None:
    _run(_project(), tmp_path)
    changed = _project(out_sql="select customer_id, 'x' as contact from {stg_customers}")
    cache, found = _run(changed, tmp_path)
    assert (cache.hits, cache.misses) == (1, 1)  # stg_customers unchanged; contacts parsed again
    assert found == []  # a constant carries no PII: the new SQL was read, not the cached lineage


def test_a_parent_column_list_that_changed_invalidates_the_child_even_with_the_same_sql(tmp_path: Path) -> None:
    _run(_project(out_sql="select * from {stg_customers}"), tmp_path)
    widened = _project(out_sql="select * from {stg_customers}", raw_columns=("customer_id", "email", "phone"))
    cache = LineageCache.open(tmp_path, cache_salt())
    lineage = Lineage(widened, cache)
    assert "phone" in lineage.node(OUT).output_columns()
    assert cache.hits == 0  # stg's `select *` expands to new columns; contacts reads them


def test_a_relation_name_the_manifest_now_resolves_invalidates(tmp_path: Path) -> None:
    """Same SQL, same parents: only the manifest's answer to a hard-coded name changed (it gained that relation)."""
    hard_coded = _project(out_sql="select customer_id, email as contact from other.raw.customers")
    _run(hard_coded, tmp_path)
    other = replace(
        source("other", (column("customer_id"), column("email"))),
        unique_id="source.payments.other.customers",
        relation_name='"other"."raw"."customers"',
    )
    gained = project(*hard_coded.sources, other, *hard_coded.models)
    cache = LineageCache.open(tmp_path, cache_salt())
    node = Lineage(gained, cache).node(OUT)
    assert (cache.hits, cache.misses) == (1, 1)  # stg_customers reused, contacts parsed again
    assert node.hops("contact") == (Input(ColumnRef(other.unique_id, "email")),)


def test_another_version_of_the_lineage_code_or_sqlglot_reads_nothing(tmp_path: Path) -> None:
    _run(_project(), tmp_path)
    cache, _ = _run(_project(), tmp_path, salt="another version")
    assert (cache.hits, cache.misses) == (0, 2)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a cache", b"dmesh-lineage-cache/1 " + b"0" * 64 + b"\n{", b"\x00\xff" * 100],
    ids=["empty", "garbage", "truncated", "binary"],
)
def test_a_corrupt_cache_is_ignored_without_error_and_rewritten(tmp_path: Path, content: bytes) -> None:
    (tmp_path / CACHE_FILE).write_bytes(content)
    cache, found = _run(_project(), tmp_path)
    assert (cache.hits, any(LEAK in m for m in found)) == (0, True)
    assert _run(_project(), tmp_path)[0].hits == 2  # rewritten whole


def _forge(target: Path, key: bytes, hops: object = (), field: str = "") -> None:
    """Rewrite the cache so contacts.contact derives from ``hops`` (nothing), or its entry's ``field`` is ``hops``,
    signed with ``key``."""
    path = target / CACHE_FILE
    header, body = path.read_bytes().split(b"\n", 1)
    document = orjson.loads(body)
    entry = document["entries"][f"lineage:{OUT}"]
    if field:
        entry[1][field] = hops
    else:
        entry[1]["columns"]["contact"] = hops
    body = orjson.dumps(document)
    mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    path.write_bytes(header[: -len(mac)] + mac + b"\n" + body)


def test_a_hand_edited_entry_does_not_verify_and_the_pii_column_still_fails(tmp_path: Path) -> None:
    _run(_project(), tmp_path)
    path = tmp_path / CACHE_FILE
    header, body = path.read_bytes().split(b"\n", 1)
    path.write_bytes(header + b"\n" + body.replace(b'"contact":[["', b'"contact":[["x'))
    cache, found = _run(_project(), tmp_path)
    assert cache.hits == 0 and any(LEAK in m for m in found)


def test_a_cache_signed_with_any_other_key_is_ignored(tmp_path: Path) -> None:
    """A cache committed to a domain's repository was signed (if at all) with a key not on this machine."""
    _run(_project(), tmp_path)
    _forge(tmp_path, b"k" * 32)
    cache, found = _run(_project(), tmp_path)
    assert cache.hits == 0 and any(LEAK in m for m in found)


def test_the_forgery_above_would_pass_with_the_users_key_so_the_key_is_what_refuses_it(tmp_path: Path) -> None:
    """The control for the test above: the same edit signed with this user's key is read (and hides the leak)."""
    _run(_project(), tmp_path)
    _forge(tmp_path, key_path().read_bytes())
    cache, found = _run(_project(), tmp_path)
    assert cache.hits == 2 and not any(LEAK in m for m in found)


def test_the_key_lives_outside_the_project_readable_only_by_its_user(tmp_path: Path) -> None:
    _run(_project(), tmp_path)
    assert key_path().is_file() and not key_path().is_relative_to(tmp_path / CACHE_FILE)
    assert key_path().stat().st_mode & 0o077 == 0


def test_the_key_never_shows_in_a_repr(tmp_path: Path) -> None:
    from rich.pretty import pretty_repr

    _run(_project(), tmp_path)
    cache = LineageCache.open(tmp_path, cache_salt())
    assert cache.key is not None and cache.stored  # a real key, and the entries the first run wrote
    for shown in (repr(cache), pretty_repr(cache), repr([cache])):
        assert repr(cache.key) not in shown and cache.key.hex() not in shown, shown
        assert f"entries={len(cache.stored)}" in shown


def test_no_cache_file_without_a_target_directory(tmp_path: Path) -> None:
    cache = LineageCache.open(tmp_path / "missing", cache_salt())
    Lineage(_project(), cache).node(OUT)
    cache.save()
    assert not (tmp_path / "missing").exists()


def test_an_unresolved_node_stays_unresolved_from_the_cache(tmp_path: Path) -> None:
    broken = _project(stg_sql="select from where")
    _run(broken, tmp_path)
    cache = LineageCache.open(tmp_path, cache_salt())
    lineage = Lineage(broken, cache)
    assert lineage.node(STG).unresolved is not None and cache.hits >= 1
    (derivation,) = lineage.trace(ColumnRef(OUT, "contact"))
    assert derivation.unresolved is not None


def test_a_relative_xdg_cache_home_never_puts_the_key_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A domain's checkout is the working directory in CI: a key there could be committed with a forged cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert key_path() == tmp_path / "home" / ".cache" / "dmesh-dbt" / "cache.key"


def test_a_column_that_reads_itself_fails_the_same_from_the_cache(tmp_path: Path) -> None:
    """A model reading its own relation: the loop is unresolved (PII) when parsed and when read from the cache."""
    raw = source("customers", (column("customer_id"), column("email", pii="email")))
    loop = model("loop", "select customer_id, email from {loop}", (raw.unique_id,))
    out = model(
        "contacts",
        "select customer_id, email as contact from {loop}",
        (loop.unique_id,),
        (column("customer_id"), column("contact")),
        access=Access.PUBLIC,
    )
    built = project(raw, loop, out)
    _, found = _run(built, tmp_path)
    second, again = _run(built, tmp_path)
    assert second.misses == 0 and again == found
    assert any("contacts.contact unresolved" in m and "loop.email loops back on itself" in m for m in found)


@pytest.mark.parametrize(
    "hops",
    [
        [["model.payments.stg_customers"]],
        [["model.payments.stg_customers", "email", "false"]],
        [["model.payments.stg_customers", 7, False]],
        [["model.payments.stg_customers", "email", False, "extra"]],
        ["model.payments.stg_customers"],
        [[None, "a reason"]],
        {"not": "a list"},
        1,
        -1,
        True,
        0.0,
    ],
    ids=[
        "short",
        "reduced-text",
        "column-number",
        "long",
        "flat",
        "node-null",
        "mapping",
        "parent-past-the-end",
        "parent-negative",
        "parent-bool",
        "parent-float",
    ],
)
def test_a_malformed_entry_even_signed_with_the_users_key_is_a_miss_and_parsed_again(
    tmp_path: Path, hops: object
) -> None:
    """Fail closed: an entry of any shape but the one written is never half read; the node is parsed again."""
    _, found = _run(_project(), tmp_path)
    _forge(tmp_path, key_path().read_bytes(), hops)
    cache, again = _run(_project(), tmp_path)
    assert (cache.hits, cache.misses) == (1, 1) and again == found and any(LEAK in m for m in again)


@pytest.mark.parametrize(
    "resolved",
    [[[["stg_customers"], 5]], [[["stg_customers", 3], None]], [["stg_customers", None]], [[["x"]]], "x"],
    ids=["found-number", "part-number", "parts-text", "short", "text"],
)
def test_malformed_resolutions_even_signed_with_the_users_key_are_a_miss(tmp_path: Path, resolved: object) -> None:
    _, found = _run(_project(), tmp_path)
    _forge(tmp_path, key_path().read_bytes(), resolved, field="resolved")
    cache, again = _run(_project(), tmp_path)
    assert (cache.hits, cache.misses) == (1, 1) and again == found


def test_a_column_passed_on_from_a_parent_is_stored_as_its_index_and_reordered_parents_are_a_miss(
    tmp_path: Path,
) -> None:
    """The compact entry names a parent by its place in ``depends_on``: the digest covers that order, so the same
    SQL with its parents listed the other way round is parsed again, never read as the other parent's column."""
    customers = source("customers", (column("customer_id"), column("email", pii="email")))
    orders = source("orders", (column("order_id"), column("customer_id")))
    sql = "select c.email, o.order_id from {raw.customers} as c join {raw.orders} as o using (customer_id)"

    def built(parents: tuple[str, ...]) -> Project:
        return project(customers, orders, model("joined", sql, parents))

    forward = built((customers.unique_id, orders.unique_id))
    cache = LineageCache.open(tmp_path, cache_salt())
    Lineage(forward, cache).node("model.payments.joined")
    cache.save()
    body = (tmp_path / CACHE_FILE).read_bytes().split(b"\n", 1)[1]
    entry = orjson.loads(body)["entries"]["lineage:model.payments.joined"][1]
    assert entry["columns"] == {"email": 0, "order_id": 1}
    backward = built((orders.unique_id, customers.unique_id))
    cache = LineageCache.open(tmp_path, cache_salt())
    node = Lineage(backward, cache).node("model.payments.joined")
    assert (cache.hits, cache.misses) == (0, 1)
    assert node == Lineage(backward).node("model.payments.joined")
    assert node.hops("email") == (Input(ColumnRef(customers.unique_id, "email")),)


def test_a_partial_reader_keeps_the_entries_it_did_not_read_and_check_prunes_them(tmp_path: Path) -> None:
    """scan follows lineage only (never DM007's relations of a model no public one reads): its save keeps what the
    next check needs, and only a check's save drops entries no run uses any more."""
    built = _with_private_model(_project())
    _run(built, tmp_path)
    partial = LineageCache.open(tmp_path, cache_salt())
    _nodes(built, partial)  # the column lineage of both traced nodes, not the private model's relations
    partial.save(prune=False)
    again, _ = _run(built, tmp_path)
    assert (again.hits, again.misses) == (3, 0)

    pruned = LineageCache.open(tmp_path, cache_salt())
    _nodes(built, pruned)
    pruned.save()
    after_prune, _ = _run(built, tmp_path)
    assert (after_prune.hits, after_prune.misses) == (2, 1)  # the relations entry went with the pruning save


def test_the_relations_of_a_model_no_public_one_reads_have_their_own_entry(tmp_path: Path) -> None:
    """DM007 reads every own model's unknown relations; a model upstream of no public one has no lineage entry to
    hold them (DM011 never follows it), so they are stored apart, and found again."""
    built = _with_private_model(_project(), sql="select customer_id from other.raw.customers")
    first, _ = _run(built, tmp_path)
    second, _ = _run(built, tmp_path)
    assert (first.misses, second.hits, second.misses) == (3, 3, 0)
    body = orjson.loads((tmp_path / CACHE_FILE).read_bytes().split(b"\n", 1)[1])["entries"]
    assert sorted(body) == sorted(["lineage:" + STG, "lineage:" + OUT, "relations:model.payments.audit"])
    assert Lineage(built, LineageCache.open(tmp_path, cache_salt())).unknown_relations("model.payments.audit") == (
        "other.raw.customers",
    )


def _with_private_model(built: Project, sql: str = "select * from {raw.customers}") -> Project:
    """``built`` with a private model ``audit`` reading raw.customers, which no public model reads."""
    raw = built.sources[0]
    return project(*built.sources, *built.models, model("audit", sql, (raw.unique_id,)))

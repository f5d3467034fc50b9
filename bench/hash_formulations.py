"""Benchmark: which HMAC-SHA256 formulation, and which published representation of a hash, each engine runs fastest.

The evidence behind the `hash` strategy's SQL (macros/masking/mask_hash.sql) and its 22-character base64url output.
On generated values like bench/masking.py's (an email and a card number per row), against the engine's bare
`sha256` over the same values:

* DuckDB: every formulation, timed in process CPU time on one thread (steady on a shared machine): the HMAC checked
  equal to Python's `hmac`, and each way of writing the published text (base64url of 128 bits: where to cut, how to
  map `+` `/` and drop `==`) equal to `hash_value`; then a consumer's full scan of a table of each representation
  (hex, base64url, binary, 128-bit truncations), as a DuckDB table and as an uncompressed Parquet snapshot.
* PostgreSQL (a throwaway cluster) and the BigQuery emulator (crucible, which runs DuckDB underneath, so its
  figures say little about BigQuery itself): the formulations each can express, wall time.

Rounds are interleaved; each figure is the median of --repeat rounds.
Run from the repository root: python bench/hash_formulations.py [--rows 1000000] [--engines duckdb,postgres,bigquery]
(postgres and bigquery start servers as the tests do; set DMESH_CRUCIBLE for the emulator). --engines picks parts.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.engines starts the servers
from dmesh_dbt.masking import hash_value, hmac_pads  # noqa: E402

KEY = "bench-domain-key-" + "d" * 32
IPAD, OPAD = hmac_pads(KEY)
HASHED_COLUMNS = ("email", "card_number")
Formulation = Callable[[str], str]
#: The representation dmesh publishes since 0.2.0 (macros/masking/mask_hash.sql), on every engine.
BASE64URL_128 = "  -> base64url of 128 bits, 22 characters (dmesh)"
#: Other formulations of the same text (DuckDB): each is checked equal to `hash_value` before it is timed.
BASE64URL_128_VARIANT = "     the same text:"
#: Values whose published hash (with KEY) has neither, or both, of base64url's `-` and `_`.
CHECKED_VALUES = ("abc", "v26")


def median_rounds(
    contenders: dict[str, Callable[[], object]], repeat: int, clock: Callable[[], float]
) -> dict[str, float]:
    """Each contender's median time over ``repeat`` interleaved rounds, run in alternate orders (a contender
    timed just after another that leaves the heap or caches in a given state is not always the same one)."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_number in range(repeat):
        for name in names if round_number % 2 == 0 else reversed(names):
            started = clock()
            contenders[name]()
            times[name].append(clock() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def print_throughput(title: str, values: int, seconds: dict[str, float]) -> None:
    print(title)
    bare = next(iter(seconds.values()))
    for name, spent in seconds.items():
        print(f"  {name:58s} {spent:7.2f} s {values / spent:11,.0f}/s  {bare / spent:5.2f}x bare")
    print()


def expected_hex(value: str) -> str:
    return hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def duckdb_formulations() -> dict[str, Formulation]:
    """Every formulation worth timing on DuckDB (2.0.1: no HMAC, and `sha256` returns hex only; `from_hex`,
    `substr` and `base64` are aliases of `unhex`, `substring` and `to_base64`, so they are not timed apart, and
    `concat` of two BLOBs returns their escaped VARCHAR text, not the BLOB `||` gives, so it is not an HMAC)."""
    pad = "(select {0} from keys where scope = 'domain')".format
    ipad, opad = pad("ipad"), pad("opad")

    def hmac_hex(value: str) -> str:
        return f"sha256({opad} || unhex(sha256({ipad} || encode({value}))))"

    def base64url_128(value: str, hex_32: str = "left({0}, 32)", cut_22: str = "left({0}, 22)") -> str:
        """The published text, with the two truncations written as given."""
        standard = cut_22.format(f"to_base64(unhex({hex_32.format(hmac_hex(value))}))")
        return f"replace(replace({standard}, '+', '-'), '/', '_')"

    def base64_16(value: str) -> str:
        return f"to_base64(unhex(left({hmac_hex(value)}, 32)))"

    return {
        "bare sha256(v), hex": lambda v: f"sha256({v})",
        "  bare sha256(encode(v)): over a BLOB": lambda v: f"sha256(encode({v}))",
        "sha256(opad || unhex(sha256(ipad || encode(v)))) (dmesh)": hmac_hex,
        "  pads cast from hex text per query": lambda v: (
            f"sha256({pad('from_hex(to_hex(opad))')} || unhex(sha256({pad('from_hex(to_hex(ipad))')} || encode({v}))))"
        ),
        "  inner over varchar (ASCII keys only)": lambda v: (
            f"sha256({opad} || unhex(sha256({pad('ipad_text')} || {v})))"
        ),
        "  -> binary, 32 bytes": lambda v: f"unhex({hmac_hex(v)})",
        "  -> base64url, 43 characters": lambda v: (
            f"rtrim(replace(replace(to_base64(unhex({hmac_hex(v)})), '+', '-'), '/', '_'), '=')"
        ),
        BASE64URL_128: base64url_128,
        f"{BASE64URL_128_VARIANT} substr(x, 1, n) at both cuts": lambda v: base64url_128(
            v, "substr({0}, 1, 32)", "substr({0}, 1, 22)"
        ),
        f"{BASE64URL_128_VARIANT} x[1:n] slices at both cuts": lambda v: base64url_128(v, "{0}[1:32]", "{0}[1:22]"),
        f"{BASE64URL_128_VARIANT} unhex all 64 digits, BLOB [1:16]": lambda v: (
            f"replace(replace(left(to_base64(unhex({hmac_hex(v)})[1:16]), 22), '+', '-'), '/', '_')"
        ),
        f"{BASE64URL_128_VARIANT} '/' replaced before '+'": lambda v: (
            f"replace(replace(left({base64_16(v)}, 22), '/', '_'), '+', '-')"
        ),
        f"{BASE64URL_128_VARIANT} replaces, then left 22": lambda v: (
            f"left(replace(replace({base64_16(v)}, '+', '-'), '/', '_'), 22)"
        ),
        f"{BASE64URL_128_VARIANT} a third replace drops '=='": lambda v: (
            f"replace(replace(replace({base64_16(v)}, '+', '-'), '/', '_'), '==', '')"
        ),
        f"{BASE64URL_128_VARIANT} rtrim '='": lambda v: (
            f"rtrim(replace(replace({base64_16(v)}, '+', '-'), '/', '_'), '=')"
        ),
        f"{BASE64URL_128_VARIANT} translate": lambda v: f"translate({base64_16(v)}, '+/=', '-_')",
        f"{BASE64URL_128_VARIANT} two regexp_replace": lambda v: (
            f"regexp_replace(regexp_replace(left({base64_16(v)}, 22), '\\+', '-', 'g'), '/', '_', 'g')"
        ),
        "  -> hex truncated to 128 bits, 32 characters": lambda v: f"left({hmac_hex(v)}, 32)",
        "  -> binary truncated to 128 bits, 16 bytes": lambda v: f"unhex(left({hmac_hex(v)}, 32))",
        "  -> uuid (128 bits)": lambda v: f"cast(left({hmac_hex(v)}, 32) as uuid)",
    }


RAW_ROWS_SQL = """
select i as event_id, 'customer' || i || '@example.com' as email,
       cast(4000000000000000 + i * 7919 as varchar) as card_number, i % 1000 as amount_cents
from range({rows}) as t(i)
"""


def bench_duckdb(rows: int, repeat: int, workdir: Path) -> None:
    connection = duckdb.connect(str(workdir / "formulations.duckdb"), config={"threads": 1})
    connection.execute("create temp table keys (scope varchar, ipad blob, opad blob, ipad_text varchar)")
    connection.execute("insert into keys values ('domain', ?, ?, ?)", [IPAD, OPAD, IPAD.decode("ascii")])
    connection.execute(f"create table raw as {RAW_ROWS_SQL.format(rows=rows)}")
    formulations = duckdb_formulations()
    dmesh = formulations["sha256(opad || unhex(sha256(ipad || encode(v)))) (dmesh)"]
    assert connection.execute(f"select {dmesh(repr('abc'))}").fetchone() == (expected_hex("abc"),)
    for name, formulation in formulations.items():
        if name == BASE64URL_128 or name.startswith(BASE64URL_128_VARIANT):
            texts = connection.execute(f"select {', '.join(formulation(repr(v)) for v in CHECKED_VALUES)}").fetchone()
            assert texts == tuple(hash_value(KEY, value) for value in CHECKED_VALUES), name

    def materialize(formulation: Formulation) -> Callable[[], object]:
        hashed = ", ".join(f"{formulation(column)} as {column}" for column in HASHED_COLUMNS)
        sql = f"create or replace temp table out as select event_id, amount_cents, {hashed} from raw"
        return lambda: connection.execute(sql)

    contenders = {name: materialize(formulation) for name, formulation in formulations.items()}
    seconds = median_rounds(contenders, repeat, time.process_time)
    print_throughput(f"DuckDB {duckdb.__version__}, 1 thread, CPU time", rows * len(HASHED_COLUMNS), seconds)


REPRESENTATIONS = {
    "raw values": None,
    "hex, 64 characters (dmesh 0.1.0)": "sha256('k' || {0})",
    "base64url, 43 characters": (
        "rtrim(replace(replace(to_base64(unhex(sha256('k' || {0}))), '+', '-'), '/', '_'), '=')"
    ),
    "base64url of 128 bits, 22 characters (dmesh)": (
        "translate(to_base64(unhex(left(sha256('k' || {0}), 32))), '+/=', '-_')"
    ),
    "binary, 32 bytes": "unhex(sha256('k' || {0}))",
    "hex truncated, 32 characters": "left(sha256('k' || {0}), 32)",
    "binary truncated, 16 bytes": "unhex(left(sha256('k' || {0}), 32))",
    "uuid (128 bits)": "cast(left(sha256('k' || {0}), 32) as uuid)",
}


def fetch_all(connection: duckdb.DuckDBPyConnection, sql: str) -> Callable[[], object]:
    return lambda: connection.execute(sql).fetchall()


def bench_duckdb_reads(rows: int, repeat: int, workdir: Path) -> None:
    """A consumer's full scan of each representation (a keyed digest reads like a bare one: only its shape counts)."""
    connection = duckdb.connect(str(workdir / "representations.duckdb"), config={"threads": 1})
    connection.execute(f"create table raw as {RAW_ROWS_SQL.format(rows=rows)}")
    relations: dict[str, tuple[str, str]] = {}
    for number, (name, template) in enumerate(REPRESENTATIONS.items()):
        columns = ", ".join(
            f"{template.format(column) if template else column} as {column}" for column in HASHED_COLUMNS
        )
        table = f"representation_{number}"
        connection.execute(f"create table {table} as select event_id, {columns}, amount_cents from raw")
        parquet = workdir / f"{table}.parquet"
        connection.execute(
            f"copy (select * from {table} order by all) to '{parquet}' (format parquet, compression uncompressed)"
        )
        relations[name] = (table, f"read_parquet('{parquet}')")
    connection.execute("checkpoint")
    scan = "select max(event_id), max(email), max(card_number), sum(amount_cents) from {0}".format
    for kind, index in (("DuckDB table", 0), ("Parquet snapshot", 1)):
        contenders = {name: fetch_all(connection, scan(pair[index])) for name, pair in relations.items()}
        seconds = median_rounds(contenders, repeat, time.process_time)
        raw = seconds["raw values"]
        print(f"consumer full scan of a {kind}, 1 thread, CPU time")
        for name, spent in seconds.items():
            print(f"  {name:46s} {spent:6.2f} s  {spent / raw:5.2f}x raw")
        print()


def bench_postgres(rows: int, repeat: int) -> None:
    from tests.engines import running_postgres

    key = "(select key from keys where scope = 'domain')"
    ipad, opad = "(select ipad from keys where scope = 'domain')", "(select opad from keys where scope = 'domain')"
    utf8 = "convert_to(cast({0} as text), 'UTF8')".format
    formulations: dict[str, Formulation] = {
        "bare sha256(v), hex": lambda v: f"encode(sha256({utf8(v)}), 'hex')",
        "pgcrypto hmac(bytea, bytea), hex (dmesh)": lambda v: f"encode(hmac({utf8(v)}, {key}, 'sha256'), 'hex')",
        "  hmac(text, text)": lambda v: (
            f"encode(hmac(cast({v} as text), (select convert_from(key, 'UTF8') from keys), 'sha256'), 'hex')"
        ),
        "  sha256(opad || sha256(ipad || v)), pads as bytea": lambda v: (
            f"encode(sha256({opad} || sha256({ipad} || {utf8(v)})), 'hex')"
        ),
        "  -> base64": lambda v: f"encode(hmac({utf8(v)}, {key}, 'sha256'), 'base64')",
        BASE64URL_128: lambda v: (
            f"translate(encode(substring(hmac({utf8(v)}, {key}, 'sha256') from 1 for 16), 'base64'), '+/=', '-_')"
        ),
        "  -> bytea, 32 bytes": lambda v: f"hmac({utf8(v)}, {key}, 'sha256')",
    }
    with running_postgres() as engine:
        connection = engine.connect()
        cursor = connection.cursor()
        cursor.execute("create extension pgcrypto")
        cursor.execute("create table keys (scope text, key bytea, ipad bytea, opad bytea)")
        cursor.execute("insert into keys values ('domain', %s, %s, %s)", (KEY.encode(), IPAD, OPAD))
        cursor.execute(
            "create table raw as select i as event_id, 'customer' || i || '@example.com' as email, "
            "(4000000000000000 + i::bigint * 7919)::text as card_number, i % 1000 as amount_cents "
            f"from generate_series(0, {rows - 1}) as i"
        )
        for name, formulation in formulations.items():
            if name.endswith("hex (dmesh)") or "hmac(text" in name or "pads as bytea" in name:
                cursor.execute(f"select {formulation(repr('abc'))}")
                assert cursor.fetchone() == (expected_hex("abc"),), name
        cursor.execute(f"select {formulations[BASE64URL_128](repr('abc'))}")
        assert cursor.fetchone() == (hash_value(KEY, "abc"),)

        def materialize(formulation: Formulation) -> Callable[[], object]:
            hashed = ", ".join(f"{formulation(column)} as {column}" for column in HASHED_COLUMNS)
            sql = f"drop table if exists out; create temp table out as select event_id, {hashed} from raw"
            return lambda: cursor.execute(sql)

        contenders = {name: materialize(formulation) for name, formulation in formulations.items()}
        seconds = median_rounds(contenders, repeat, time.perf_counter)
        print_throughput(f"PostgreSQL {connection.server_version}, wall time", rows * len(HASHED_COLUMNS), seconds)


def bench_bigquery_emulator(rows: int, repeat: int) -> None:
    from tests.engines import running_bigquery_emulator

    def hmac_bytes(value: str, pads: str = "keys", decode: str = "from_hex") -> str:
        pad = f"(select {decode}({{0}}) from b.{pads} where scope = 'domain')".format
        inner = f"sha256(concat({pad('ipad')}, cast(cast({value} as string) as bytes)))"
        return f"sha256(concat({pad('opad')}, {inner}))"

    formulations: dict[str, Formulation] = {
        "bare to_hex(sha256(v))": lambda v: f"to_hex(sha256({v}))",
        "to_hex(sha256(opad || sha256(ipad || v))), pads in hex (dmesh)": lambda v: f"to_hex({hmac_bytes(v)})",
        "  pads stored as BYTES": lambda v: f"to_hex({hmac_bytes(v, 'keys_bytes', '')})",
        "  -> base64url": lambda v: f"rtrim(replace(replace(to_base64({hmac_bytes(v)}), '+', '-'), '/', '_'), '=')",
        BASE64URL_128: lambda v: f"translate(to_base64(left({hmac_bytes(v)}, 16)), '+/=', '-_')",
        "  -> BYTES, 32": hmac_bytes,
    }
    with running_bigquery_emulator() as engine:
        client = engine.client()

        def run(sql: str) -> list[tuple[object, ...]]:
            return [tuple(row) for row in client.query(sql).result()]

        run("create schema if not exists b")
        run(
            "create or replace table b.keys as select 'domain' as scope, "
            f"'{IPAD.hex()}' as ipad, '{OPAD.hex()}' as opad"
        )
        run(
            "create or replace table b.keys_bytes as select 'domain' as scope, "
            f"from_hex('{IPAD.hex()}') as ipad, from_hex('{OPAD.hex()}') as opad"
        )
        run(
            "create or replace table b.raw as select i as event_id, concat('customer', cast(i as string), "
            "'@example.com') as email, cast(4000000000000000 + i * 7919 as string) as card_number "
            f"from unnest(generate_array(0, {rows - 1})) as i"
        )
        assert run(
            f"select {formulations['to_hex(sha256(opad || sha256(ipad || v))), pads in hex (dmesh)'](repr('abc'))}"
        ) == [(expected_hex("abc"),)]
        assert run(f"select {formulations[BASE64URL_128](repr('abc'))}") == [(hash_value(KEY, "abc"),)]

        def materialize(formulation: Formulation) -> Callable[[], object]:
            hashed = ", ".join(f"{formulation(column)} as {column}" for column in HASHED_COLUMNS)
            return lambda: run(f"create or replace table b.out as select event_id, {hashed} from b.raw")

        contenders = {name: materialize(formulation) for name, formulation in formulations.items()}
        seconds = median_rounds(contenders, repeat, time.perf_counter)
        print_throughput("BigQuery emulator (crucible), wall time", rows * len(HASHED_COLUMNS), seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows (two hashed values each); default 1 M")
    parser.add_argument("--emulator-rows", type=int, default=200_000, help="rows on the BigQuery emulator")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; the median counts")
    parser.add_argument(
        "--engines",
        default="duckdb,duckdb-reads,postgres,bigquery",
        help="comma-separated parts to run: duckdb (formulations), duckdb-reads (representations), postgres, bigquery",
    )
    options = parser.parse_args()
    engines = set(options.engines.split(","))
    with tempfile.TemporaryDirectory(prefix="dmesh-bench-") as workdir:
        if "duckdb" in engines:
            bench_duckdb(options.rows, options.repeat, Path(workdir))
        if "duckdb-reads" in engines:
            bench_duckdb_reads(options.rows, options.repeat, Path(workdir))
    if "postgres" in engines:
        bench_postgres(options.rows, options.repeat)
    if "bigquery" in engines:
        bench_bigquery_emulator(options.emulator_rows, options.repeat)


if __name__ == "__main__":
    main()

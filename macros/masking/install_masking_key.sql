{#- Fill the key table from the masking key (run at on-run-start, through dmesh.on_run_start). The key travels as a
    bound query parameter where the adapter takes one (DuckDB, Postgres), so it appears in no compiled SQL, no
    run_results.json and no dbt.log; BigQuery's dbt adapter takes no parameters, so there it is a literal in the
    statement dbt logs (see docs/masking.md). Renders no SQL of its own. -#}
{% macro install_masking_key() %}
  {%- if not execute -%}
    {{ return('') }}
  {%- endif -%}
  {%- set relation = dmesh.masking_key_relation() -%}
  {%- do adapter.create_schema(relation) -%}
  {%- do adapter.dispatch('install_masking_key', 'dmesh')(relation, dmesh.masking_key()) -%}
  {{ return('') }}
{% endmacro %}

{% macro default__install_masking_key(relation, key) %}
  {{ dmesh.unsupported_adapter('install_masking_key') }}
{% endmacro %}

{#- HMAC-SHA256 pads (RFC 2104): the key, hashed when longer than the 64-byte block, zero-padded to 64 bytes and
    XORed with 0x36 (ipad) and 0x5c (opad). DuckDB XORs BITs, not BLOBs, hence the casts. -#}
{% macro duckdb__install_masking_key(relation, key) %}
  {%- set sql -%}
    create or replace table {{ relation }} as
    with supplied as (
        select encode(cast(? as varchar)) as raw_key
    ),
    block_sized as (
        select case when octet_length(raw_key) > 64 then unhex(sha256(raw_key)) else raw_key end as block_key
        from supplied
    ),
    padded as (
        select block_key || unhex(repeat('00', 64 - octet_length(block_key))) as padded_key
        from block_sized
    )
    select
        cast(xor(cast(padded_key as bit), cast(repeat('00110110', 64) as bit)) as blob) as ipad,
        cast(xor(cast(padded_key as bit), cast(repeat('01011100', 64) as bit)) as blob) as opad
    from padded
  {%- endset -%}
  {%- do adapter.add_query(sql, bindings=[key], auto_begin=false) -%}
{% endmacro %}

{#- pgcrypto's hmac() takes the key itself. The table keeps its identity (delete + insert, no drop), because
    published views depend on it; nobody but its owner may read it. Commits the hook's transaction. -#}
{% macro postgres__install_masking_key(relation, key) %}
  {%- do run_query("create extension if not exists pgcrypto") -%}
  {%- do run_query("create table if not exists " ~ relation ~ " (key bytea not null)") -%}
  {%- do run_query("revoke all on table " ~ relation ~ " from public") -%}
  {%- do adapter.add_query(
      "delete from " ~ relation ~ "; insert into " ~ relation ~ " (key) values (convert_to(%s, 'UTF8'))",
      bindings=[key], auto_begin=false
  ) -%}
  {#- dbt tracks no transaction in hooks, but psycopg2 opened one: commit it in SQL. -#}
  {%- do run_query("commit") -%}
{% endmacro %}

{% macro bigquery__install_masking_key(relation, key) %}
  {%- set sql -%}
    create or replace table {{ relation }} as
    with supplied as (
        select cast({{ dmesh.sql_string(key) }} as bytes) as raw_key
    ),
    block_sized as (
        select if(byte_length(raw_key) > 64, sha256(raw_key), raw_key) as block_key
        from supplied
    ),
    padded as (
        select concat(block_key, repeat(b'\x00', 64 - byte_length(block_key))) as padded_key
        from block_sized
    )
    select
        padded_key ^ repeat(b'\x36', 64) as ipad,
        padded_key ^ repeat(b'\x5c', 64) as opad
    from padded
  {%- endset -%}
  {%- do run_query(sql) -%}
{% endmacro %}

{#- Before a published relation is written: make the keys readable on this connection. Only DuckDB needs it: there
    the keys live in a temporary table of the publishing connection (in memory, gone when the connection closes), never
    in the warehouse file; Postgres and BigQuery read the private key table on_run_start installed. -#}
{% macro load_masking_keys(scopes) %}
  {%- do adapter.dispatch('load_masking_keys', 'dmesh')(scopes) -%}
{% endmacro %}

{% macro default__load_masking_keys(scopes) %}
  {{ dmesh.unsupported_adapter('load_masking_keys') }}
{% endmacro %}

{% macro postgres__load_masking_keys(scopes) %}
{% endmacro %}

{% macro bigquery__load_masking_keys(scopes) %}
{% endmacro %}

{#- HMAC-SHA256 pads (RFC 2104): the key, hashed when longer than the 64-byte block, zero-padded to 64 bytes and
    XORed with 0x36 (ipad) and 0x5c (opad). DuckDB XORs BITs, not BLOBs, hence the casts. The keys are bound
    parameters: the statement dbt logs holds only `?`. -#}
{% macro duckdb__load_masking_keys(scopes) %}
  {%- set keys = dmesh.masking_keys(scopes) -%}
  {%- if not keys -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set supplied = [] -%}
  {%- for scope in keys -%}
    {%- do supplied.append("(" ~ dmesh.sql_string(scope) ~ ", encode(cast(? as varchar)))") -%}
  {%- endfor -%}
  {%- set sql -%}
    create or replace temporary table {{ dmesh.masking_keys_relation() }} as
    with supplied (scope, raw_key) as (
        values {{ supplied | join(', ') }}
    ),
    block_sized as (
        select scope, case when octet_length(raw_key) > 64 then unhex(sha256(raw_key)) else raw_key end as block_key
        from supplied
    ),
    padded as (
        select scope, block_key || unhex(repeat('00', 64 - octet_length(block_key))) as padded_key
        from block_sized
    )
    select
        scope,
        cast(xor(cast(padded_key as bit), cast(repeat('00110110', 64) as bit)) as blob) as ipad,
        cast(xor(cast(padded_key as bit), cast(repeat('01011100', 64) as bit)) as blob) as opad
    from padded
  {%- endset -%}
  {%- do adapter.add_query(sql, bindings=keys.values() | list, auto_begin=false) -%}
{% endmacro %}

{#- Make the masking keys (scope -> key, from dmesh.masking_keys()) available to the build, once, at on-run-start.
    The keys travel as bound query parameters where the adapter takes them (DuckDB, Postgres), so they appear in no
    compiled SQL, no run_results.json and no dbt.log; BigQuery's dbt adapter takes no parameters, so there they are
    literals in the statement dbt logs (see docs/masking.md). Also drops the single-key table `dmesh_masking_key` that
    earlier versions kept in the private schema, so an upgrade leaves no old key behind. Renders no SQL of its own. -#}
{% macro install_masking_keys(keys) %}
  {%- do adapter.dispatch('install_masking_keys', 'dmesh')(keys) -%}
{% endmacro %}

{% macro default__install_masking_keys(keys) %}
  {{ dmesh.unsupported_adapter('install_masking_keys') }}
{% endmacro %}

{#- DuckDB has no roles: whoever opens the warehouse file reads all of it, so no key may ever be written there. Each
    connection that publishes loads the keys into its own temporary table instead (dmesh.load_masking_keys). A key
    table left by an earlier version is dropped, but DuckDB does not zero the freed blocks: say what else to do. -#}
{% macro duckdb__install_masking_keys(keys) %}
  {%- set legacy = dmesh.legacy_masking_key_relation() -%}
  {%- if adapter.get_relation(legacy.database, legacy.schema, legacy.identifier) is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- do run_query("drop table " ~ legacy) -%}
  {%- do print("dmesh: WARNING: dropped " ~ legacy ~ ", where an earlier dmesh version kept the masking key: anyone "
      ~ "who could open this file could read it. Rotate DMESH_MASKING_KEY, and rebuild the file from scratch (delete "
      ~ target.path ~ "), since DuckDB keeps the dropped bytes in its free blocks.") -%}
{% endmacro %}

{#- pgcrypto's hmac() takes the key itself. The table keeps its identity (delete + insert, no drop), because published
    views depend on it; nobody but its owner may read it. Commits the hook's transaction. -#}
{% macro postgres__install_masking_keys(keys) %}
  {%- set relation = dmesh.masking_keys_relation() -%}
  {%- do run_query("create extension if not exists pgcrypto") -%}
  {%- do run_query("drop table if exists " ~ dmesh.legacy_masking_key_relation() ~ " cascade") -%}
  {%- do run_query("create table if not exists " ~ relation ~ " (scope text primary key, key bytea not null)") -%}
  {%- do run_query("revoke all on table " ~ relation ~ " from public") -%}
  {%- set statements = ["delete from " ~ relation] -%}
  {%- for scope in keys -%}
    {%- do statements.append("insert into " ~ relation ~ " (scope, key) values (" ~ dmesh.sql_string(scope)
        ~ ", convert_to(%s, 'UTF8'))") -%}
  {%- endfor -%}
  {%- do adapter.add_query(statements | join("; "), bindings=keys.values() | list, auto_begin=false) -%}
  {#- dbt tracks no transaction in hooks, but psycopg2 opened one: commit it in SQL. -#}
  {%- do run_query("commit") -%}
{% endmacro %}

{#- HMAC-SHA256 pads, as dmesh.hmac_pads_sql derives them; no rows when no column needs a key. -#}
{% macro bigquery__install_masking_keys(keys) %}
  {%- do run_query("drop table if exists " ~ dmesh.legacy_masking_key_relation()) -%}
  {%- set supplied = [] -%}
  {%- for scope, key in keys.items() -%}
    {%- do supplied.append("select " ~ dmesh.sql_string(scope) ~ " as scope, cast(" ~ dmesh.sql_string(key)
        ~ " as bytes) as raw_key") -%}
  {%- endfor -%}
  {%- set sql -%}
    create or replace table {{ dmesh.masking_keys_relation() }} as
    with supplied as (
        {{ supplied | join('\n        union all\n        ') if supplied else "select cast(null as string) as scope, cast(null as bytes) as raw_key limit 0" }}
    ),
    block_sized as (
        select scope, if(byte_length(raw_key) > 64, sha256(raw_key), raw_key) as block_key
        from supplied
    ),
    padded as (
        select scope, concat(block_key, repeat(b'\x00', 64 - byte_length(block_key))) as padded_key
        from block_sized
    )
    select
        scope,
        padded_key ^ repeat(b'\x36', 64) as ipad,
        padded_key ^ repeat(b'\x5c', 64) as opad
    from padded
  {%- endset -%}
  {%- do run_query(sql) -%}
{% endmacro %}

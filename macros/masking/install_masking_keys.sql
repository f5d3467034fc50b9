{#- Make the masking keys of `scopes` (those the project's hashed columns use) available to the build, once, at
    on-run-start, and refuse missing or weak ones before anything is built. Also drops the single-key table
    `dmesh_masking_key` earlier versions kept in the private schema, so an upgrade leaves no old key behind. Where
    the adapter takes bound parameters (DuckDB, Postgres) the keys come from the environment and travel as
    parameters, in no compiled SQL, run_results.json or dbt.log; BigQuery's dbt adapter takes none, so there the
    build never holds a key: `dmesh-dbt key install` provisions the key table beforehand. Renders no SQL. -#}
{% macro install_masking_keys(scopes) %}
  {%- do adapter.dispatch('install_masking_keys', 'dmesh')(scopes) -%}
{% endmacro %}

{% macro default__install_masking_keys(scopes) %}
  {{ dmesh.unsupported_adapter('install_masking_keys') }}
{% endmacro %}

{#- DuckDB has no roles: whoever opens the warehouse file reads all of it, so no key may ever be written there. Each
    connection that publishes loads the keys into its own temporary table instead (dmesh.load_masking_keys); here
    they are only checked. A key table left by an earlier version is dropped, but DuckDB does not zero the freed
    blocks: say what else to do. -#}
{% macro duckdb__install_masking_keys(scopes) %}
  {%- do dmesh.masking_keys(scopes) -%}
  {%- do dmesh.announce_development_keys(scopes) -%}
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
{% macro postgres__install_masking_keys(scopes) %}
  {%- set keys = dmesh.masking_keys(scopes) -%}
  {%- do dmesh.announce_development_keys(scopes) -%}
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

{#- The key table (scope, ipad, opad: the HMAC pads in hex) is `dmesh-dbt key install`'s: check that it holds every
    scope the build needs. -#}
{% macro bigquery__install_masking_keys(scopes) %}
  {%- do run_query("drop table if exists " ~ dmesh.legacy_masking_key_relation()) -%}
  {%- if not scopes -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set relation = dmesh.masking_keys_relation() -%}
  {%- set found = [] -%}
  {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is not none -%}
    {%- do found.extend(run_query("select scope from " ~ relation).columns[0].values()) -%}
  {%- endif -%}
  {%- set missing = [] -%}
  {%- for scope in scopes if scope not in found -%}
    {%- do missing.append(dmesh.masking_key_sources()[scope].env) -%}
  {%- endfor -%}
  {%- if missing -%}
    {{ exceptions.raise_compiler_error(
        "dmesh: the key table " ~ relation ~ " lacks the key of " ~ missing | join(' and ') ~ " for target '"
        ~ target.name ~ "': run `dmesh-dbt key install --target " ~ target.name ~ "` with " ~ missing | join(' and ')
        ~ " set (BigQuery builds never carry keys in SQL)"
    ) }}
  {%- endif -%}
{% endmacro %}

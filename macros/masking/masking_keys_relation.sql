{#- Where the build reads the keys (or, where the engine has no hmac, their HMAC pads): one row per scope.
    DuckDB: a temporary table of the publishing connection, in memory. Postgres and BigQuery: a table in the domain's
    private schema, which consumers are never granted; published views read it with their owner's rights. -#}
{% macro masking_keys_relation() %}
  {{ return(adapter.dispatch('masking_keys_relation', 'dmesh')()) }}
{% endmacro %}

{% macro default__masking_keys_relation() %}
  {{ return(api.Relation.create(database=target.database, schema=target.schema, identifier='dmesh_masking_keys')) }}
{% endmacro %}

{% macro duckdb__masking_keys_relation() %}
  {{ return(api.Relation.create(database='temp', schema='main', identifier='dmesh_masking_keys')) }}
{% endmacro %}

{#- The single-key table of earlier versions, dropped at on-run-start wherever it is found. -#}
{% macro legacy_masking_key_relation() %}
  {{ return(api.Relation.create(database=target.database, schema=target.schema, identifier='dmesh_masking_key')) }}
{% endmacro %}

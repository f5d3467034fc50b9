{#- Create the published relation as a `view` or `table` from `select_sql`, replacing what is there (also when the
    materialization changed since the last build). -#}
{% macro replace_published_relation(relation, materialization, select_sql) %}
  {%- set existing = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
  {%- if existing is not none and existing.type != materialization -%}
    {%- do adapter.drop_relation(existing) -%}
  {%- endif -%}
  {%- do adapter.dispatch('replace_published_relation', 'dmesh')(relation, materialization, select_sql) -%}
{% endmacro %}

{% macro default__replace_published_relation(relation, materialization, select_sql) %}
  {{ dmesh.unsupported_adapter('replace_published_relation') }}
{% endmacro %}

{% macro duckdb__replace_published_relation(relation, materialization, select_sql) %}
  {%- do run_query("create or replace " ~ materialization ~ " " ~ relation ~ " as\n" ~ select_sql) -%}
{% endmacro %}

{% macro bigquery__replace_published_relation(relation, materialization, select_sql) %}
  {%- do run_query("create or replace " ~ materialization ~ " " ~ relation ~ " as\n" ~ select_sql) -%}
{% endmacro %}

{#- Postgres has no CREATE OR REPLACE TABLE, and CREATE OR REPLACE VIEW refuses changed column types: drop and
    create inside the model's transaction, so readers never see the relation missing. CASCADE drops consumers'
    views on it, as rebuilding any dbt model does. -#}
{% macro postgres__replace_published_relation(relation, materialization, select_sql) %}
  {%- do run_query("drop " ~ materialization ~ " if exists " ~ relation ~ " cascade") -%}
  {%- do run_query("create " ~ materialization ~ " " ~ relation ~ " as\n" ~ select_sql) -%}
{% endmacro %}

{#- Create the published relation as a `view` or `table` from `select_sql`, replacing what is there (also when the
    materialization changed since the last build). -#}
{% macro replace_published_relation(relation, materialization, select_sql) %}
  {%- set existing_type = dmesh.published_relation_type(relation) -%}
  {%- if existing_type is not none and existing_type != materialization -%}
    {%- do adapter.drop_relation(relation.incorporate(type=existing_type)) -%}
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

{#- 'view', 'table', or none when the published relation does not exist yet. -#}
{% macro published_relation_type(relation) %}
  {{ return(adapter.dispatch('published_relation_type', 'dmesh')(relation)) }}
{% endmacro %}

{% macro default__published_relation_type(relation) %}
  {{ dmesh.unsupported_adapter('published_relation_type') }}
{% endmacro %}

{% macro duckdb__published_relation_type(relation) %}
  {%- set existing = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
  {{ return(none if existing is none else existing.type) }}
{% endmacro %}

{% macro bigquery__published_relation_type(relation) %}
  {%- set existing = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
  {{ return(none if existing is none else existing.type) }}
{% endmacro %}

{#- From the catalog: dbt-postgres caches a view found through its dependencies with no type ('external'). -#}
{% macro postgres__published_relation_type(relation) %}
  {%- set found = run_query(
      "select case when c.relkind = 'v' then 'view' else 'table' end from pg_class as c"
      ~ " join pg_namespace as n on n.oid = c.relnamespace"
      ~ " where n.nspname = " ~ dmesh.sql_string(relation.schema) ~ " and c.relname = " ~ dmesh.sql_string(relation.identifier)
      ~ " and c.relkind in ('r', 'v', 'p')"
  ) -%}
  {{ return(found.columns[0].values()[0] if found.rows | length > 0 else none) }}
{% endmacro %}

{#- Consumers (var `dmesh_consumer_roles`: Postgres roles, or BigQuery principals such as
    "group:analysts@example.com") are granted the published schema and its relations, and nothing else: the private
    schema, where the raw models and the key table live, gets no grant. -#}
{% macro consumer_roles() %}
  {%- set roles = var('dmesh_consumer_roles', []) -%}
  {%- if roles is string or roles is mapping -%}
    {{ exceptions.raise_compiler_error("dmesh: var dmesh_consumer_roles must be a list of roles, not " ~ roles) }}
  {%- endif -%}
  {{ return(roles) }}
{% endmacro %}

{#- Once per run, at on-run-start (parallel models granting one schema would collide). -#}
{% macro grant_published_schema(schema_relation, roles) %}
  {%- do adapter.dispatch('grant_published_schema', 'dmesh')(schema_relation, roles) -%}
{% endmacro %}

{% macro default__grant_published_schema(schema_relation, roles) %}
  {{ dmesh.unsupported_adapter('grant_published_schema') }}
{% endmacro %}

{#- DuckDB has no roles: whoever opens the file reads everything, so ship consumers the published schema only. -#}
{% macro duckdb__grant_published_schema(schema_relation, roles) %}
{% endmacro %}

{% macro postgres__grant_published_schema(schema_relation, roles) %}
  {%- for role in roles -%}
    {%- do run_query("grant usage on schema " ~ adapter.quote(schema_relation.schema) ~ " to " ~ adapter.quote(role)) -%}
  {%- endfor -%}
{% endmacro %}

{#- BigQuery: read access to the published dataset (IAM). -#}
{% macro bigquery__grant_published_schema(schema_relation, roles) %}
  {%- for principal in roles -%}
    {%- do run_query("grant `roles/bigquery.dataViewer` on schema " ~ adapter.quote(schema_relation.database) ~ "."
        ~ adapter.quote(schema_relation.schema) ~ " to " ~ dmesh.sql_string(principal)) -%}
  {%- endfor -%}
{% endmacro %}

{#- After each published relation is (re)created. -#}
{% macro grant_published(relation, roles) %}
  {%- do adapter.dispatch('grant_published', 'dmesh')(relation, roles) -%}
{% endmacro %}

{% macro default__grant_published(relation, roles) %}
  {{ dmesh.unsupported_adapter('grant_published') }}
{% endmacro %}

{% macro duckdb__grant_published(relation, roles) %}
{% endmacro %}

{#- A recreated relation has lost its grants: grant SELECT again. -#}
{% macro postgres__grant_published(relation, roles) %}
  {%- for role in roles -%}
    {%- do run_query("grant select on " ~ relation ~ " to " ~ adapter.quote(role)) -%}
  {%- endfor -%}
{% endmacro %}

{#- The dataset grant covers the relation; a published view must also be authorized on the private dataset, so it
    reads the raw model and the key table for consumers who cannot. -#}
{% macro bigquery__grant_published(relation, roles) %}
  {%- if roles and relation.type == 'view' -%}
    {%- do adapter.grant_access_to(relation, 'view', none, {'project': target.database, 'dataset': target.schema}) -%}
  {%- endif -%}
{% endmacro %}

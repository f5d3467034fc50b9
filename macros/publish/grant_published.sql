{#- Grant consumers (var `dmesh_consumer_roles`) the published relation and nothing else: the private schema,
    where the raw model and the key table live, gets no grant. -#}
{% macro grant_published(relation, roles) %}
  {%- if roles is string -%}
    {{ exceptions.raise_compiler_error("dmesh: var dmesh_consumer_roles must be a list of roles, not the string '" ~ roles ~ "'") }}
  {%- endif -%}
  {%- do adapter.dispatch('grant_published', 'dmesh')(relation, roles) -%}
{% endmacro %}

{% macro default__grant_published(relation, roles) %}
  {{ dmesh.unsupported_adapter('grant_published') }}
{% endmacro %}

{#- DuckDB has no roles: whoever opens the file reads everything, so ship consumers the published schema only. -#}
{% macro duckdb__grant_published(relation, roles) %}
{% endmacro %}

{% macro postgres__grant_published(relation, roles) %}
  {%- for role in roles -%}
    {%- do run_query("grant usage on schema " ~ adapter.quote(relation.schema) ~ " to " ~ adapter.quote(role)) -%}
    {%- do run_query("grant select on " ~ relation ~ " to " ~ adapter.quote(role)) -%}
  {%- endfor -%}
{% endmacro %}

{#- BigQuery: each principal ("group:analysts@example.com") may read the published relation; a published view is
    also authorized on the private dataset, so it reads the raw model and key table for consumers who cannot. -#}
{% macro bigquery__grant_published(relation, roles) %}
  {%- for principal in roles -%}
    {%- do run_query("grant `roles/bigquery.dataViewer` on table " ~ relation ~ " to " ~ dmesh.sql_string(principal)) -%}
  {%- endfor -%}
  {%- if roles and relation.type == 'view' -%}
    {%- do adapter.grant_access_to(relation, 'view', none, {'project': target.database, 'dataset': target.schema}) -%}
  {%- endif -%}
{% endmacro %}

{#- A string as an escaped SQL string literal, so text from YAML or the environment never breaks out of its quotes. -#}
{% macro sql_string(value) -%}
  {{ return(adapter.dispatch('sql_string', 'dmesh')(value)) }}
{%- endmacro %}

{% macro default__sql_string(value) -%}
  {{ dmesh.unsupported_adapter('sql_string') }}
{%- endmacro %}

{#- Standard SQL: a quote is doubled; backslashes are literal (Postgres' standard_conforming_strings is on). -#}
{% macro duckdb__sql_string(value) -%}
  '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro postgres__sql_string(value) -%}
  '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- BigQuery string literals take backslash escapes. -#}
{% macro bigquery__sql_string(value) -%}
  '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") | replace("\n", "\\n") | replace("\r", "\\r") }}'
{%- endmacro %}

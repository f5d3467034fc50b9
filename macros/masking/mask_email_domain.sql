{#- email_domain: only what follows the last '@' (NULL when there is none). -#}
{% macro mask_email_domain(expression, data_type=none) -%}
  {{ return(adapter.dispatch('mask_email_domain', 'dmesh')(expression)) }}
{%- endmacro %}

{% macro default__mask_email_domain(expression) -%}
  {{ dmesh.unsupported_adapter('mask_email_domain') }}
{%- endmacro %}

{% macro duckdb__mask_email_domain(expression) -%}
  nullif(regexp_extract(cast({{ expression }} as varchar), '@([^@]*)$', 1), '')
{%- endmacro %}

{% macro postgres__mask_email_domain(expression) -%}
  substring(cast({{ expression }} as text) from '@([^@]*)$')
{%- endmacro %}

{% macro bigquery__mask_email_domain(expression) -%}
  regexp_extract(cast({{ expression }} as string), r'@([^@]*)$')
{%- endmacro %}

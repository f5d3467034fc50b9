{#- True when `expression` (a string) is 13 to 19 digits: the shape of a primary account number (PAN). -#}
{% macro is_card_number_shaped(expression) -%}
  {{ return(adapter.dispatch('is_card_number_shaped', 'dmesh')(expression)) }}
{%- endmacro %}

{% macro default__is_card_number_shaped(expression) -%}
  {{ dmesh.unsupported_adapter('is_card_number_shaped') }}
{%- endmacro %}

{% macro duckdb__is_card_number_shaped(expression) -%}
  regexp_full_match({{ expression }}, '[0-9]{13,19}')
{%- endmacro %}

{% macro postgres__is_card_number_shaped(expression) -%}
  ({{ expression }} ~ '^[0-9]{13,19}$')
{%- endmacro %}

{% macro bigquery__is_card_number_shaped(expression) -%}
  regexp_contains({{ expression }}, r'^[0-9]{13,19}$')
{%- endmacro %}

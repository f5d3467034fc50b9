{#- redact: the constant '[REDACTED]' (as a string); NULL stays NULL, so consumers still see which rows had a value. -#}
{% macro mask_redact(expression, data_type=none) -%}
  case when {{ expression }} is null then null else cast('[REDACTED]' as {{ dbt.type_string() }}) end
{%- endmacro %}

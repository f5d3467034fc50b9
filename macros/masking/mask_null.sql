{#- null: NULL of the column's own type, so the published relation keeps the contract's column types. -#}
{% macro mask_null(expression, data_type) -%}
  cast(null as {{ data_type }})
{%- endmacro %}

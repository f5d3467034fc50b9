{#- date_year / date_month: truncate a date or timestamp to the first day of its year or month, keeping its type.
    dbt's cross-database date_trunc knows each engine's spelling; the cast restores the column's type
    (Postgres' date_trunc turns a date into a timestamp). -#}
{% macro mask_date_year(expression, data_type) -%}
  cast({{ dbt.date_trunc('year', expression) }} as {{ data_type }})
{%- endmacro %}

{% macro mask_date_month(expression, data_type) -%}
  cast({{ dbt.date_trunc('month', expression) }} as {{ data_type }})
{%- endmacro %}

{#- geo_coarse: round a latitude or longitude to 1 decimal (about 11 km), keeping its type. Rounded as NUMERIC
    because Postgres has no round(double precision, int). -#}
{% macro mask_geo_coarse(expression, data_type) -%}
  cast(round(cast({{ expression }} as numeric), 1) as {{ data_type }})
{%- endmacro %}

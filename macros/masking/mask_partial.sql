{#- partial: keep the last 4 characters and replace the rest with '*'; a value of 4 characters or fewer is starred
    whole, since its last 4 would be all of it. Portable: REPEAT, RIGHT and LENGTH are alike on every engine. -#}
{% macro mask_partial(expression, data_type=none) -%}
  {%- set text = "cast(" ~ expression ~ " as " ~ dbt.type_string() ~ ")" -%}
  case
    when {{ expression }} is null then null
    when length({{ text }}) <= 4 then repeat('*', length({{ text }}))
    else concat(repeat('*', length({{ text }}) - 4), right({{ text }}, 4))
  end
{%- endmacro %}

{#- The SQL expression that publishes `expression` (a column of type `data_type`) masked by `strategy`. -#}
{% macro mask_column(expression, strategy, data_type) %}
  {%- set strategies = dmesh.masking_strategies() -%}
  {%- if strategy not in strategies -%}
    {{ exceptions.raise_compiler_error("dmesh: unknown masking strategy '" ~ strategy ~ "': use one of "
        ~ (strategies.keys() | sort | join(', '))) }}
  {%- endif -%}
  {{ return(strategies[strategy](expression, data_type)) }}
{% endmacro %}

{#- The SQL expression that publishes `expression` (a column of type `data_type`) masked by `strategy`; `key_scope`
    ('domain' or 'mesh') chooses the key of `hash`, the one keyed strategy. -#}
{% macro mask_column(expression, strategy, data_type, key_scope='domain') %}
  {%- set strategies = dmesh.masking_strategies() -%}
  {%- if strategy not in strategies -%}
    {{ exceptions.raise_compiler_error("dmesh: unknown masking strategy '" ~ strategy ~ "': use one of "
        ~ (strategies.keys() | sort | join(', '))) }}
  {%- endif -%}
  {%- if strategy == 'hash' -%}
    {{ return(dmesh.mask_hash(expression, data_type, key_scope)) }}
  {%- endif -%}
  {{ return(strategies[strategy](expression, data_type)) }}
{% endmacro %}

{#- A column's meta: dbt keeps `meta:` and `config: meta:` apart in the graph; both are the user's words. -#}
{% macro column_meta(column) %}
  {%- set meta = {} -%}
  {%- do meta.update(column.get('meta') or {}) -%}
  {%- do meta.update((column.get('config') or {}).get('meta') or {}) -%}
  {{ return(meta) }}
{% endmacro %}

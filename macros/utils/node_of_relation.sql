{#- The graph node (model, seed or snapshot) built as `relation`: what a generic test needs to read its meta. -#}
{% macro node_of_relation(relation) %}
  {%- for node in graph.nodes.values() if node.resource_type in ['model', 'seed', 'snapshot'] -%}
    {%- if (node.schema | lower) == (relation.schema | lower) and (node.alias | lower) == (relation.identifier | lower) -%}
      {{ return(node) }}
    {%- endif -%}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error("dmesh: no model, seed or snapshot of this project is built as " ~ relation) }}
{% endmacro %}

{#- Fail before anything is built when any column of a model, seed or snapshot carries a forbidden PII class
    (cvv, card_track, pin), an unknown class or strategy, or an incomplete mask_exception. Lists every problem. -#}
{% macro assert_masking_policy() %}
  {%- set problems = [] -%}
  {%- for node in graph.nodes.values() if node.resource_type in ['model', 'seed', 'snapshot'] -%}
    {%- for column in node.columns.values() -%}
      {%- set problem = dmesh.column_masking(node.name, column).problem -%}
      {%- if problem -%}
        {%- do problems.append(problem) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- if problems -%}
    {{ exceptions.raise_compiler_error(
        "dmesh: the project breaks the mesh PII policy (" ~ problems | length ~ " problem"
        ~ ("s" if problems | length > 1 else "") ~ "):\n  - " ~ problems | join("\n  - ")
    ) }}
  {%- endif -%}
{% endmacro %}

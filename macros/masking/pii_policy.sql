{#- The mesh policy as the domain's dbt vars carry it: `dmesh_pii_classes` (class -> default strategy) and
    `dmesh_forbidden_pii_classes`. `dmesh-dbt init` renders both from the toolkit's mesh_policy.yml, so the
    macros and the Python tools read one vocabulary. -#}
{% macro pii_policy() %}
  {%- set classes = var('dmesh_pii_classes', none) -%}
  {%- if classes is not mapping -%}
    {{ exceptions.raise_compiler_error(
        "dmesh: the dbt var dmesh_pii_classes (PII class -> masking strategy) is not set: add it to the vars of "
        ~ "dbt_project.yml (dmesh-dbt init renders it from the mesh policy)"
    ) }}
  {%- endif -%}
  {{ return({'classes': classes, 'forbidden': var('dmesh_forbidden_pii_classes', [])}) }}
{% endmacro %}

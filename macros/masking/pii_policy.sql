{#- The mesh policy as the domain's dbt vars carry it: `dmesh_pii_classes` (class -> default strategy),
    `dmesh_forbidden_pii_classes` and `dmesh_joinable_pii_classes` (hashed with the mesh key; without the var none is,
    so every hash stays with the domain's own key). `dmesh-dbt init` renders both from the toolkit's mesh_policy.yml, so the
    macros and the Python tools read one vocabulary. -#}
{% macro pii_policy() %}
  {%- set classes = var('dmesh_pii_classes', none) -%}
  {%- if classes is not mapping -%}
    {{ exceptions.raise_compiler_error(
        "dmesh: the dbt var dmesh_pii_classes (PII class -> masking strategy) is not set: add it to the vars of "
        ~ "dbt_project.yml (dmesh-dbt init renders it from the mesh policy)"
    ) }}
  {%- endif -%}
  {{ return({
      'classes': classes,
      'forbidden': var('dmesh_forbidden_pii_classes', []),
      'joinable': var('dmesh_joinable_pii_classes', []),
  }) }}
{% endmacro %}

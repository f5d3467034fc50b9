{#- The mesh policy the masking macros apply: `dmesh_pii_classes` (class -> default strategy),
    `dmesh_forbidden_pii_classes` and `dmesh_joinable_pii_classes` (hashed with the mesh key; without the var none is,
    so every hash stays with the domain's own key) when the project (or the platform, through --vars) sets them,
    else the mesh vocabulary the package carries (mesh_vocabulary), so the macros and the Python tools read one
    vocabulary. -#}
{% macro pii_policy() %}
  {%- set vocabulary = dmesh.mesh_vocabulary() -%}
  {%- set classes = var('dmesh_pii_classes', vocabulary['classes']) -%}
  {%- if classes is not mapping -%}
    {{ exceptions.raise_compiler_error(
        "dmesh: the dbt var dmesh_pii_classes must map each PII class to a masking strategy; fix it in the vars "
        ~ "of dbt_project.yml, or remove it to use the mesh vocabulary"
    ) }}
  {%- endif -%}
  {{ return({
      'classes': classes,
      'forbidden': var('dmesh_forbidden_pii_classes', vocabulary['forbidden']),
      'joinable': var('dmesh_joinable_pii_classes', []),
  }) }}
{% endmacro %}

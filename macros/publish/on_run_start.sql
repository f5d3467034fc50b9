{#- The domain's on-run-start hook: refuse to build a project whose PII meta breaks the mesh policy, install the
    masking key, and create the published schema (here, once: models publishing in parallel would race to create it).
    Renders no SQL of its own. -#}
{% macro on_run_start() %}
  {%- if not execute -%}
    {{ return('') }}
  {%- endif -%}
  {%- do dmesh.assert_masking_policy() -%}
  {%- do dmesh.install_masking_key() -%}
  {%- do adapter.create_schema(api.Relation.create(database=target.database, schema=dmesh.published_schema())) -%}
  {{ return('') }}
{% endmacro %}

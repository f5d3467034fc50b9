{#- The domain's on-run-start hook: refuse to build a project whose PII meta breaks the mesh policy, create the
    published schema and grant consumers its use (here, once: models publishing in parallel would race to create and
    grant it), refuse missing or weak masking keys, say loudly when `dev` hashes with a public development key, and
    install the keys. Renders no SQL of its own. -#}
{% macro on_run_start() %}
  {%- if not execute -%}
    {{ return('') }}
  {%- endif -%}
  {%- do dmesh.assert_masking_policy() -%}
  {%- set published_schema = api.Relation.create(database=target.database, schema=dmesh.published_schema()) -%}
  {%- do adapter.create_schema(published_schema) -%}
  {%- do dmesh.grant_published_schema(published_schema, dmesh.consumer_roles()) -%}
  {#- Last: on Postgres it commits the hook's transaction, the schema and its grants with it. -#}
  {%- do dmesh.install_masking_keys(dmesh.used_key_scopes(dmesh.public_models())) -%}
  {{ return('') }}
{% endmacro %}

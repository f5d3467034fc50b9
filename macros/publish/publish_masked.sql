{#- Post-hook of public models (the domain template applies it to models/marts): create or replace the model's
    published relation, masked, and grant it to the consumer roles. A model that is not public is left alone.
    Renders no SQL of its own; its statements run (and are logged) as it goes. -#}
{% macro publish_masked() %}
  {%- if not execute or model.resource_type != 'model' or model.access != 'public' -%}
    {{ return('') }}
  {%- endif -%}
  {%- set materialization = dmesh.published_materialization(model) -%}
  {%- set published = dmesh.published_relation(model).incorporate(type=materialization) -%}
  {%- do dmesh.load_masking_keys(dmesh.used_key_scopes([model])) -%}
  {%- set select_sql = dmesh.masked_select(model, this) -%}
  {%- do dmesh.replace_published_relation(published, materialization, select_sql) -%}
  {%- do dmesh.grant_published(published, dmesh.consumer_roles()) -%}
  {%- do log("dmesh: published " ~ this ~ " masked as " ~ materialization ~ " " ~ published, info=true) -%}
  {{ return('') }}
{% endmacro %}

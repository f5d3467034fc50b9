{#- The masking key: the environment variable DMESH_MASKING_KEY, else the dbt var `dmesh_masking_key`. Only the
    `dev` target may fall back to the public development key below (with a warning): its hashes protect nothing.
    Any other target without a key fails the run before anything is built. Call only while executing. -#}
{% macro masking_key() %}
  {%- set key = env_var('DMESH_MASKING_KEY', '') or var('dmesh_masking_key', '') -%}
  {%- if key -%}
    {{ return(key | string) }}
  {%- endif -%}
  {%- if target.name == 'dev' -%}
    {%- do exceptions.warn(
        "dmesh: DMESH_MASKING_KEY is not set, so target 'dev' hashes with the public development key; "
        ~ "its hashes are not secret. Set DMESH_MASKING_KEY before masking real data."
    ) -%}
    {{ return(dmesh.development_masking_key()) }}
  {%- endif -%}
  {{ exceptions.raise_compiler_error(
      "dmesh: no masking key for target '" ~ target.name ~ "': set the environment variable DMESH_MASKING_KEY "
      ~ "(or the dbt var dmesh_masking_key); only the 'dev' target may use the public development key"
  ) }}
{% endmacro %}

{#- Public on purpose (docs/masking.md, dmesh_dbt.masking.DEVELOPMENT_MASKING_KEY): dev builds hash reproducibly. -#}
{% macro development_masking_key() %}
  {{ return('dmesh-development-key-not-secret') }}
{% endmacro %}

{#- Where the key (or, where the engine has no hmac, its HMAC pads) lives: a one-row table in the domain's private
    schema. Published views read it with their owner's rights; consumers are never granted it. -#}
{% macro masking_key_relation() %}
  {{ return(api.Relation.create(database=target.database, schema=target.schema, identifier='dmesh_masking_key')) }}
{% endmacro %}

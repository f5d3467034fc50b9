{#- The masking keys, by scope (dmesh_dbt.masking.KEY_SOURCES spells the same table for the Python tools):
      domain  the producing domain's own key, which no other domain holds: `hash` uses it by default
      mesh    the key every domain shares, for the classes the mesh policy marks joinable (var dmesh_joinable_pii_classes)
    Each comes from its environment variable, else its dbt var. Only the `dev` target may fall back to a public
    development key (on_run_start says so loudly); every other target refuses a missing or weak key before anything is
    built. Call only while executing: the key never enters compiled SQL. -#}
{% macro masking_key_sources() %}
  {{ return({
      'domain': {'env': 'DMESH_MASKING_KEY', 'var': 'dmesh_masking_key', 'name': 'masking key',
                 'development_key': 'dmesh-development-key-not-secret'},
      'mesh': {'env': 'DMESH_MESH_KEY', 'var': 'dmesh_mesh_key', 'name': 'mesh key',
               'development_key': 'dmesh-development-mesh-key-not-secret'},
  }) }}
{% endmacro %}

{#- The key of `scope` as configured (environment variable, else dbt var), or '' when neither is set. -#}
{% macro configured_masking_key(scope) %}
  {%- set source = dmesh.masking_key_sources()[scope] -%}
  {{ return((env_var(source.env, '') or var(source.var, '')) | string) }}
{% endmacro %}

{% macro masking_key(scope='domain') %}
  {%- set source = dmesh.masking_key_sources()[scope] -%}
  {%- set key = dmesh.configured_masking_key(scope) -%}
  {%- if target.name == 'dev' -%}
    {{ return(key or source.development_key) }}
  {%- endif -%}
  {%- if not key -%}
    {{ exceptions.raise_compiler_error(
        "dmesh: no " ~ source.name ~ " for target '" ~ target.name ~ "': set the environment variable " ~ source.env
        ~ " (or the dbt var " ~ source.var ~ "); only the 'dev' target may use the public development key"
    ) }}
  {%- endif -%}
  {%- set problem = dmesh.weak_key_problem(key, source.env) -%}
  {%- if problem -%}
    {{ exceptions.raise_compiler_error(problem) }}
  {%- endif -%}
  {{ return(key) }}
{% endmacro %}

{#- Public on purpose (docs/masking.md, dmesh_dbt.masking.DEVELOPMENT_MASKING_KEY): dev builds hash reproducibly. -#}
{% macro development_masking_key(scope='domain') %}
  {{ return(dmesh.masking_key_sources()[scope].development_key) }}
{% endmacro %}

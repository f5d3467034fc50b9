{#- Which key a `hash` of a column of `pii_class` uses: the shared mesh key for the classes the mesh policy marks
    joinable (their hashes join across domains), else the producing domain's own key, so that no other domain can
    reverse the hash by hashing every candidate value. dmesh_dbt.masking.key_scope() is the same rule. -#}
{% macro key_scope(pii_class) %}
  {{ return('mesh' if pii_class in dmesh.pii_policy().joinable else 'domain') }}
{% endmacro %}

{#- The scopes whose keys publishing `nodes` needs: those of their hashed columns. -#}
{% macro used_key_scopes(nodes) %}
  {%- set scopes = [] -%}
  {%- for node in nodes -%}
    {%- for column in node.columns.values() -%}
      {%- set masking = dmesh.column_masking(node.name, column) -%}
      {%- if masking.strategy == 'hash' and masking.exception is none and masking.key_scope not in scopes -%}
        {%- do scopes.append(masking.key_scope) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(scopes | sort) }}
{% endmacro %}

{#- The public models of the project, whose published relations the build may write. -#}
{% macro public_models() %}
  {{ return(graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
      | selectattr('access', 'equalto', 'public') | list) }}
{% endmacro %}

{#- scope -> key, for each of `scopes`, from the environment. Outside `dev`, a mesh key equal to the domain key is
    refused: every domain holds the mesh key, so it would reverse the domain's hashes. -#}
{% macro masking_keys(scopes) %}
  {%- set keys = {} -%}
  {%- for scope in scopes -%}
    {%- do keys.update({scope: dmesh.masking_key(scope)}) -%}
  {%- endfor -%}
  {%- if target.name != 'dev' and dmesh.configured_masking_key('mesh')
        and dmesh.configured_masking_key('mesh') == dmesh.configured_masking_key('domain') -%}
    {{ exceptions.raise_compiler_error(
        "dmesh: DMESH_MESH_KEY equals DMESH_MASKING_KEY on target '" ~ target.name ~ "': every domain holds the mesh "
        ~ "key, so give DMESH_MASKING_KEY a secret of the domain's own (e.g. the output of `openssl rand -hex 32`)"
    ) }}
  {%- endif -%}
  {{ return(keys) }}
{% endmacro %}

{#- Say loudly, on every run, which scopes hash with a public development key (`dev` only; masking_key() refuses
    them elsewhere). print() because `dbt --quiet` hides warnings, and the demo runs quiet. -#}
{% macro announce_development_keys(scopes) %}
  {%- for scope in scopes if target.name == 'dev' and not dmesh.configured_masking_key(scope) -%}
    {%- set source = dmesh.masking_key_sources()[scope] -%}
    {%- set message = "dmesh: WARNING: " ~ source.env ~ " is not set, so target 'dev' hashes with the public "
        ~ "development " ~ source.name ~ "; its hashes are not secret. Set " ~ source.env ~ " before masking real data." -%}
    {%- do print(message) -%}
    {%- do log(message) -%}
  {%- endfor -%}
{% endmacro %}

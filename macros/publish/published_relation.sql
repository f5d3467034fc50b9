{#- Where a public model is published: the domain's published schema (var `dmesh_published_schema`, default
    `<target schema>_published`), under the model's relation name: its alias, which dbt defaults to the model's
    name, plus `_v<version>` for a versioned model. Following the alias keeps a product's published name when
    its owner versions it the dbt way (v1 with `config: {alias: <old name>}`), so consumers keep reading it.
    dmesh_dbt.masking.published_identifier() spells the same name for the Python tools. -#}
{% macro published_relation(node) %}
  {%- set version = node.get('version') -%}
  {%- set default = node.name if version is none or version == '' else node.name ~ '_v' ~ version -%}
  {%- set identifier = node.get('alias') or default -%}
  {{ return(api.Relation.create(database=node.database, schema=dmesh.published_schema(), identifier=identifier)) }}
{% endmacro %}

{% macro published_schema() %}
  {{ return(var('dmesh_published_schema', target.schema ~ '_published')) }}
{% endmacro %}

{#- `view` (always fresh; masking paid on every read) or `table` (masking paid once per build): the model's
    `meta: {dmesh: {published_materialization: ...}}`, else the var `dmesh_published_materialization`, else view.
    DuckDB always publishes a table: a view would need the key at read time, and DuckDB has no private place to keep
    it (whoever opens the file reads all of it), so a requested view becomes a table, and the build says so. -#}
{% macro published_materialization(node) %}
  {%- set model_meta = (node.config.get('meta') or {}).get('dmesh') or {} -%}
  {%- set requested = model_meta.get('published_materialization') or var('dmesh_published_materialization', none) -%}
  {%- if requested is not none and requested not in ['view', 'table'] -%}
    {{ exceptions.raise_compiler_error(
        "dmesh: model " ~ node.name ~ " asks for published_materialization '" ~ requested ~ "': use view or table"
    ) }}
  {%- endif -%}
  {{ return(adapter.dispatch('published_materialization', 'dmesh')(node, requested)) }}
{% endmacro %}

{% macro default__published_materialization(node, requested) %}
  {{ return(requested or 'view') }}
{% endmacro %}

{% macro duckdb__published_materialization(node, requested) %}
  {%- if requested == 'view' -%}
    {%- do log("dmesh: " ~ node.name ~ " is published as a table, not the view it asks for: on DuckDB a view would "
        ~ "need the masking key at read time", info=true) -%}
  {%- endif -%}
  {{ return('table') }}
{% endmacro %}

{#- SELECT every column of `source` (the model's relation), each PII column masked by its strategy, unless an
    approved mask_exception publishes it as is (logged). The relation's real columns are projected one by one,
    each matched to its YAML entry by the warehouse's own name rules (dmesh.column_key), so none is forgotten and
    a stray blank, quote or case in YAML cannot unmask one. Fails the build, naming model and column, when a real
    column has no YAML entry, when a documented PII column is not in the relation, or when two entries name one
    column. -#}
{% macro masked_select(node, source) %}
  {%- set model_name = node.name ~ ('.v' ~ node.version if node.get('version') not in [none, ''] else '') -%}
  {%- set documented = dmesh.documented_columns(model_name, node) -%}
  {%- set found = [] -%}
  {%- set expressions = [] -%}
  {%- for column in adapter.get_columns_in_relation(source) -%}
    {%- set key = dmesh.column_key(column.name) -%}
    {%- if key not in documented -%}
      {{ exceptions.raise_compiler_error("dmesh: model " ~ model_name ~ ": column " ~ column.name ~ " of the relation "
          ~ "has no documented column in its YAML: add `- name: " ~ column.name ~ "` to the model's columns, with "
          ~ "`meta: {pii: <class>}` when it holds personal data, or drop it from the model's SQL") }}
    {%- endif -%}
    {%- do found.append(key) -%}
    {%- do expressions.append(dmesh.published_column(model_name, documented[key], column)) -%}
  {%- endfor -%}
  {%- for key, entry in documented.items() if key not in found -%}
    {%- set masking = dmesh.column_masking(model_name, entry) -%}
    {%- if masking.pii_class is not none -%}
      {{ exceptions.raise_compiler_error("dmesh: model " ~ model_name ~ ": documented PII column " ~ entry.name
          ~ " (" ~ masking.pii_class ~ ") is not in the relation: spell its YAML name as the model's SQL names the "
          ~ "column, or drop the entry") }}
    {%- endif -%}
  {%- endfor %}
select
    {{ expressions | join(',\n    ') }}
from {{ source }}
{%- endmacro %}

{#- The model's YAML columns by dmesh.column_key of the name the warehouse gives each; two entries that name one
    column fail the build (which of them would decide the masking is anyone's guess). -#}
{% macro documented_columns(model_name, node) %}
  {%- set documented = {} -%}
  {%- for column in node.columns.values() -%}
    {%- set key = dmesh.column_key(dmesh.warehouse_column_name(column.name, column.get('quote'))) -%}
    {%- if key in documented -%}
      {{ exceptions.raise_compiler_error("dmesh: model " ~ model_name ~ ": YAML columns '" ~ documented[key].name
          ~ "' and '" ~ column.name ~ "' name the same column of the relation: keep one entry") }}
    {%- endif -%}
    {%- do documented.update({key: column}) -%}
  {%- endfor -%}
  {{ return(documented) }}
{% endmacro %}

{#- One column of the published SELECT: as is, or masked by the strategy its YAML entry asks for. -#}
{% macro published_column(model_name, entry, column) %}
  {%- set quoted = adapter.quote(column.name) -%}
  {%- set masking = dmesh.column_masking(model_name, entry) -%}
  {%- if masking.problem -%}
    {{ exceptions.raise_compiler_error("dmesh: " ~ masking.problem) }}
  {%- elif masking.strategy is none -%}
    {{ return(quoted) }}
  {%- elif masking.exception -%}
    {%- do log("dmesh: " ~ model_name ~ "." ~ column.name ~ " (" ~ masking.pii_class ~ ") is published UNMASKED: "
        ~ "exception approved by " ~ masking.exception.approver ~ ": " ~ masking.exception.reason, info=true) -%}
    {{ return(quoted) }}
  {%- endif -%}
  {{ return(dmesh.mask_column(quoted, masking.strategy, column.data_type, masking.key_scope) | trim ~ " as " ~ quoted) }}
{% endmacro %}

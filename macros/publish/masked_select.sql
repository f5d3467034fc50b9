{#- SELECT every column of `source` (the model's relation), each PII column masked by its strategy, unless an
    approved mask_exception publishes it as is (logged). Columns come from the relation itself, so none is
    forgotten; their YAML meta decides the masking. -#}
{% macro masked_select(node, source) %}
  {%- set documented = {} -%}
  {%- for name, column in node.columns.items() -%}
    {%- do documented.update({name | lower: column}) -%}
  {%- endfor -%}
  {%- set expressions = [] -%}
  {%- for column in adapter.get_columns_in_relation(source) -%}
    {%- set quoted = adapter.quote(column.name) -%}
    {%- set masking = dmesh.column_masking(node.name, documented.get(column.name | lower) or {'name': column.name}) -%}
    {%- if masking.problem -%}
      {{ exceptions.raise_compiler_error("dmesh: " ~ masking.problem) }}
    {%- elif masking.strategy is none -%}
      {%- do expressions.append(quoted) -%}
    {%- elif masking.exception -%}
      {%- do log("dmesh: " ~ node.name ~ "." ~ column.name ~ " (" ~ masking.pii_class ~ ") is published UNMASKED: exception "
          ~ "approved by " ~ masking.exception.approver ~ ": " ~ masking.exception.reason, info=true) -%}
      {%- do expressions.append(quoted) -%}
    {%- else -%}
      {%- do expressions.append(dmesh.mask_column(quoted, masking.strategy, column.data_type) | trim ~ " as " ~ quoted) -%}
    {%- endif -%}
  {%- endfor %}
select
    {{ expressions | join(',\n    ') }}
from {{ source }}
{%- endmacro %}

{#- The body of every dmesh `default__` macro: a compilation error naming the adapter and what to add. -#}
{% macro unsupported_adapter(macro_name) -%}
  {{ exceptions.raise_compiler_error(
      "dmesh does not support the '" ~ adapter.type() ~ "' adapter: " ~ macro_name ~ " has bodies for duckdb, postgres "
      ~ "and bigquery only; add a " ~ adapter.type() ~ "__" ~ macro_name ~ " macro (and this engine to the dmesh tests)"
  ) }}
{%- endmacro %}

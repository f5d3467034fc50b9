{#- Column names as the warehouse matches them. dbt's contract check renders a YAML column name into SQL as
    written (quoted only with `quote: true`) and compares the names the warehouse hands back, so a YAML name is
    SQL: blanks around it go, quotes make it exact, PostgreSQL folds an unquoted name to lower case. DuckDB and
    BigQuery then treat names that differ only in case as one column; PostgreSQL does not.
    dmesh_dbt.masking.warehouse_column_name() and column_key() are the same rules for the Python tools. -#}

{#- The name the warehouse gives a column that YAML calls `name` (`quote`: the column's `quote: true`). -#}
{% macro warehouse_column_name(name, quote=false) %}
  {%- if quote -%}
    {{ return(name) }}
  {%- endif -%}
  {%- set rules = dmesh.identifier_rules() -%}
  {%- set text = name | trim -%}
  {%- set mark = rules.quote -%}
  {%- if text | length >= 2 and text.startswith(mark) and text.endswith(mark) -%}
    {{ return(text[1:-1].replace(mark ~ mark, mark)) }}
  {%- endif -%}
  {{ return(text | lower if rules.folds_unquoted_to_lower else text) }}
{% endmacro %}

{#- The key under which two real column names are one column in the warehouse. -#}
{% macro column_key(name) %}
  {{ return(name if dmesh.identifier_rules().case_sensitive else name | lower) }}
{% endmacro %}

{% macro identifier_rules() %}
  {{ return(adapter.dispatch('identifier_rules', 'dmesh')()) }}
{% endmacro %}

{#- DuckDB: "quoted" names keep their case, but no two columns may differ in case only. -#}
{% macro default__identifier_rules() %}
  {{ return({'quote': '"', 'folds_unquoted_to_lower': false, 'case_sensitive': false}) }}
{% endmacro %}

{% macro postgres__identifier_rules() %}
  {{ return({'quote': '"', 'folds_unquoted_to_lower': true, 'case_sensitive': true}) }}
{% endmacro %}

{% macro bigquery__identifier_rules() %}
  {{ return({'quote': '`', 'folds_unquoted_to_lower': false, 'case_sensitive': false}) }}
{% endmacro %}

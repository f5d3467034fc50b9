{#- Why `key` (the value of the environment variable `variable`) must not mask data outside the `dev` target, or none:
    fewer than 32 bytes, surrounding whitespace (a pasted newline), or a public development key. One line naming the
    variable and the fix; dmesh_dbt.masking.weak_key_problem() is the same rule, word for word. -#}
{% macro weak_key_problem(key, variable) %}
  {%- set fix = "set " ~ variable ~ " to a random secret of 32 bytes or more, e.g. the output of `openssl rand -hex 32`" -%}
  {%- set development_keys = dmesh.masking_key_sources().values() | map(attribute='development_key') | list -%}
  {%- if key in development_keys -%}
    {{ return("dmesh: " ~ variable ~ " is a public development key, which protects nothing on target '"
        ~ target.name ~ "': " ~ fix) }}
  {%- endif -%}
  {%- if key != key.strip() -%}
    {{ return("dmesh: " ~ variable ~ " starts or ends with whitespace (a pasted newline?) on target '"
        ~ target.name ~ "': " ~ fix ~ ", without surrounding whitespace") }}
  {%- endif -%}
  {%- set size = key.encode('utf-8') | length -%}
  {%- if size < 32 -%}
    {{ return("dmesh: " ~ variable ~ " is too weak for target '" ~ target.name ~ "' (" ~ size
        ~ " bytes, fewer than 32): " ~ fix) }}
  {%- endif -%}
  {{ return(none) }}
{% endmacro %}

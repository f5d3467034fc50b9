{#- True when the digit string `expression` (at most 19 digits) passes the Luhn checksum that card numbers carry.
    Portable SQL: the 19 positions are unrolled, and a digit's value is its position in '0123456789' (never a
    cast, which would fail on a stray character before the shape check filters it out). -#}
{% macro luhn_valid(expression) -%}
  {%- set reversed = "reverse(" ~ expression ~ ")" -%}
  mod(
    {%- for position in range(1, 20) %}
    {%- set digit = "(strpos('0123456789', substr(" ~ reversed ~ ", " ~ position ~ ", 1)) - 1)" %}
    {{ '+ ' if not loop.first }}case
      when length({{ expression }}) < {{ position }} then 0
      {%- if position is even %}
      when {{ digit }} * 2 > 9 then {{ digit }} * 2 - 9
      else {{ digit }} * 2
      {%- else %}
      else {{ digit }}
      {%- endif %}
    end
    {%- endfor %}
  , 10) = 0
{%- endmacro %}

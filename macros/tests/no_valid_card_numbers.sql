{#- Column test on a public model: its published relation holds no value in this column that is a checksum-valid
    card number (13 to 19 digits, spaces and dashes ignored, passing Luhn). Fails with one row per such value. -#}
{% test no_valid_card_numbers(model, column_name) %}
  {%- set published = dmesh.published_relation(dmesh.node_of_relation(model)) if execute else model -%}
  {%- set digits = "replace(replace(cast(" ~ adapter.quote(column_name) ~ " as " ~ dbt.type_string() ~ "), ' ', ''), '-', '')" %}
select card_digits
from (select {{ digits }} as card_digits from {{ published }}) as published_values
where {{ dmesh.is_card_number_shaped('card_digits') }}
  and {{ dmesh.luhn_valid('card_digits') }}
{% endtest %}

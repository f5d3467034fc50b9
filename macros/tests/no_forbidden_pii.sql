{#- Model-level test: fails with one row per column of the model classified as a forbidden PII class (cvv,
    card_track, pin: PCI DSS sensitive authentication data, which no model may carry, masked or not).
    dmesh.on_run_start already refuses such a project; this test guards projects built without that hook. -#}
{% test no_forbidden_pii(model) %}
  {%- set offending = [] -%}
  {%- if execute -%}
    {%- set forbidden = dmesh.pii_policy().forbidden -%}
    {%- for column in dmesh.node_of_relation(model).columns.values() -%}
      {%- set pii_class = dmesh.column_meta(column).get('pii') -%}
      {%- if pii_class in forbidden -%}
        {%- do offending.append((column.name, pii_class)) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if offending %}
    {%- for column_name, pii_class in offending %}
select {{ dmesh.sql_string(column_name) }} as column_name, {{ dmesh.sql_string(pii_class) }} as pii_class
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
  {%- else %}
select 'none' as column_name, 'none' as pii_class from (select 1 as checked) as nothing where 1 = 0
  {%- endif %}
{% endtest %}

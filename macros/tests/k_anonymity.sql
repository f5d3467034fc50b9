{#- Model-level test on a public model: in its published relation, every combination of the declared
    quasi-identifiers is shared by at least `k` rows. Fails with one row per smaller group. Portable SQL. -#}
{% test k_anonymity(model, quasi_identifiers, k=5) %}
  {%- if quasi_identifiers is string or quasi_identifiers | length == 0 -%}
    {{ exceptions.raise_compiler_error("dmesh.k_anonymity: quasi_identifiers must be a non-empty list of column names") }}
  {%- endif -%}
  {%- if k is not number or k < 2 or k != k | int -%}
    {{ exceptions.raise_compiler_error("dmesh.k_anonymity: k must be a whole number of at least 2, not " ~ k) }}
  {%- endif -%}
  {%- set published = dmesh.published_relation(dmesh.node_of_relation(model)) if execute else model -%}
  {%- set columns = [] -%}
  {%- for name in quasi_identifiers -%}
    {%- do columns.append(adapter.quote(name)) -%}
  {%- endfor %}
select {{ columns | join(', ') }}, count(*) as group_size
from {{ published }}
group by {{ columns | join(', ') }}
having count(*) < {{ k | int }}
{% endtest %}

{#- How one column of a node is published. Returns a mapping:
      column     the column name
      pii_class  its PII class, or none when it is not PII (no `pii:` or `pii: none`)
      strategy   the masking strategy (`meta.mask`, else the class default), or none
      key_scope  the key a `hash` of the column uses: 'mesh' for a joinable class, else 'domain' (dmesh.key_scope)
      exception  the approved `mask_exception` ({reason, approver}) that publishes it unmasked, or none
      problem    a one-line message when the column's meta breaks the policy, else none
    It never raises, so a caller can collect every problem of a project before failing. -#}
{% macro column_masking(node_name, column) %}
  {%- set meta = dmesh.column_meta(column) -%}
  {%- set policy = dmesh.pii_policy() -%}
  {%- set where = "column " ~ node_name ~ "." ~ column.name -%}
  {%- set result = {'column': column.name, 'pii_class': none, 'strategy': none, 'key_scope': none, 'exception': none,
      'problem': none} -%}
  {%- set pii_class = meta.get('pii') -%}
  {%- if pii_class is none or pii_class == 'none' -%}
    {{ return(result) }}
  {%- endif -%}
  {%- do result.update({'pii_class': pii_class}) -%}

  {%- if pii_class in policy.forbidden -%}
    {%- do result.update({'problem': where ~ " is classified '" ~ pii_class ~ "', which no model may carry (PCI DSS "
        ~ "sensitive authentication data): drop the column"}) -%}
    {{ return(result) }}
  {%- endif -%}
  {%- if pii_class not in policy.classes -%}
    {%- do result.update({'problem': where ~ " has unknown PII class '" ~ pii_class ~ "': use one of "
        ~ (policy.classes.keys() | sort | join(', '))}) -%}
    {{ return(result) }}
  {%- endif -%}

  {%- set strategy = meta.get('mask') or policy.classes[pii_class] -%}
  {%- if strategy not in dmesh.masking_strategies() -%}
    {%- do result.update({'problem': where ~ " asks for unknown masking strategy '" ~ strategy ~ "': use one of "
        ~ (dmesh.masking_strategies().keys() | sort | join(', '))}) -%}
    {{ return(result) }}
  {%- endif -%}
  {%- do result.update({'strategy': strategy, 'key_scope': dmesh.key_scope(pii_class)}) -%}

  {%- set exception = meta.get('mask_exception') -%}
  {%- if exception is not none -%}
    {%- if exception is not mapping or not exception.get('reason') or not exception.get('approver') -%}
      {%- do result.update({'problem': where ~ " has a mask_exception without both a reason and an approver: write "
          ~ "mask_exception: {reason: ..., approver: ...}"}) -%}
    {%- else -%}
      {%- do result.update({'exception': {'reason': exception.reason | string, 'approver': exception.approver | string}}) -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(result) }}
{% endmacro %}

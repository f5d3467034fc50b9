{#- The masking strategies the package implements, by name: each is a macro(expression, data_type) returning the
    SQL expression of the masked value. Python's dmesh_dbt.pii.Strategy names the same set (a test keeps them equal). -#}
{% macro masking_strategies() %}
  {{ return({
      'hash': dmesh.mask_hash,
      'redact': dmesh.mask_redact,
      'partial': dmesh.mask_partial,
      'email_domain': dmesh.mask_email_domain,
      'date_year': dmesh.mask_date_year,
      'date_month': dmesh.mask_date_month,
      'geo_coarse': dmesh.mask_geo_coarse,
      'null': dmesh.mask_null,
  }) }}
{% endmacro %}

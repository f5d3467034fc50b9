{#- The mesh vocabulary the `dmesh` package carries as its default: PII class -> default masking strategy, and
    the classes no model may carry. A copy of dmesh_dbt/data/mesh_policy.yml (a unit test keeps them equal), so a
    project needs no pasted var; the vars `dmesh_pii_classes` and `dmesh_forbidden_pii_classes` still override it. -#}
{% macro mesh_vocabulary() %}
  {{ return({
      'classes': {
          'email': 'hash',
          'phone': 'hash',
          'person_name': 'redact',
          'address': 'redact',
          'national_id': 'hash',
          'tax_id': 'hash',
          'card_number': 'hash',
          'card_expiry': 'redact',
          'bank_account': 'hash',
          'iban': 'hash',
          'routing_number': 'partial',
          'ip_address': 'hash',
          'date_of_birth': 'date_year',
          'geo': 'geo_coarse',
          'device_id': 'hash',
          'free_text': 'redact',
          'gender': 'redact',
          'age': 'redact',
          'ethnicity': 'redact',
          'date_of_death': 'date_year',
          'user_agent': 'redact',
          'health_id': 'hash',
          'vehicle_id': 'hash',
          'drivers_license': 'hash',
          'username': 'hash',
          'business_contact': 'hash',
      },
      'forbidden': ['card_track', 'cvv', 'pin'],
  }) }}
{% endmacro %}

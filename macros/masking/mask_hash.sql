{#- hash: keyed HMAC-SHA256 of the value's text, lowercase hex (64 characters). Keyed, never a bare digest
    (PCI DSS v4.0 req. 3.5.1.1), and deterministic, so equal values hash equally in every domain that shares the
    masking key and masked keys still join. The key is read from the key table `install_masking_key` fills
    at on-run-start, never spliced into the SQL; NULL stays NULL. -#}
{% macro mask_hash(expression, data_type=none) -%}
  {{ return(adapter.dispatch('mask_hash', 'dmesh')(expression)) }}
{%- endmacro %}

{% macro default__mask_hash(expression) -%}
  {{ dmesh.unsupported_adapter('mask_hash') }}
{%- endmacro %}

{#- DuckDB has sha256 but no hmac: HMAC = H(opad || H(ipad || m)) over BLOBs, the pads precomputed in the key table. -#}
{% macro duckdb__mask_hash(expression) -%}
  {%- set key = dmesh.masking_key_relation() -%}
  sha256(
    (select opad from {{ key }})
    || unhex(sha256((select ipad from {{ key }}) || encode(cast({{ expression }} as varchar))))
  )
{%- endmacro %}

{#- pgcrypto's hmac(); install_masking_key creates the extension. -#}
{% macro postgres__mask_hash(expression) -%}
  {%- set key = dmesh.masking_key_relation() -%}
  encode(hmac(convert_to(cast({{ expression }} as text), 'UTF8'), (select key from {{ key }}), 'sha256'), 'hex')
{%- endmacro %}

{#- BigQuery: the same construction over BYTES (SHA256 and CONCAT only, which the emulator also runs). -#}
{% macro bigquery__mask_hash(expression) -%}
  {%- set key = dmesh.masking_key_relation() -%}
  to_hex(sha256(concat(
    (select opad from {{ key }}),
    sha256(concat((select ipad from {{ key }}), cast(cast({{ expression }} as string) as bytes)))
  )))
{%- endmacro %}

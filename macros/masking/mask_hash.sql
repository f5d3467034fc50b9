{#- hash: keyed HMAC-SHA256 of the value's text, its first 16 bytes (128 bits) in base64url without padding:
    22 characters of A-Z a-z 0-9 - _ (docs/masking.md, "Choosing the representation": a consumer reads it at raw
    speed, where 64 hex characters cost 1.3-1.6x). Keyed, never a bare digest (PCI DSS v4.0 req. 3.5.1.1), and
    deterministic. `key_scope` picks the key (dmesh.key_scope): the domain's own (default), or the mesh key for
    joinable classes, so equal values hash equally in every domain and masked keys still join. The key is read from
    dmesh.masking_keys_relation(), never spliced into the SQL; NULL stays NULL. Every engine encodes alike: base64
    of the 16 bytes, its two letters `+` `/` mapped to base64url's `-` `_` and the `==` padding dropped, so a value
    hashes to the same text everywhere and `dmesh_dbt.masking.hash_value` reproduces it. -#}
{% macro mask_hash(expression, data_type=none, key_scope='domain') -%}
  {{ return(adapter.dispatch('mask_hash', 'dmesh')(expression, key_scope)) }}
{%- endmacro %}

{% macro default__mask_hash(expression, key_scope='domain') -%}
  {{ dmesh.unsupported_adapter('mask_hash') }}
{%- endmacro %}

{#- The key row of `key_scope`, as a scalar subquery on `column`. -#}
{% macro masking_key_column(column, key_scope) -%}
  (select {{ column }} from {{ dmesh.masking_keys_relation() }} where scope = {{ dmesh.sql_string(key_scope) }})
{%- endmacro %}

{#- DuckDB has sha256 but no hmac: HMAC = H(opad || H(ipad || m)) over BLOBs, the pads precomputed per connection.
    sha256 returns hex: its first 32 digits are the 16 bytes published. On DuckDB, `left` and two `replace`s cost
    less than `translate`, and no other way of writing the same text measured costs less
    (bench/hash_formulations.py). -#}
{% macro duckdb__mask_hash(expression, key_scope='domain') -%}
  replace(replace(left(to_base64(unhex(left(sha256(
    {{ dmesh.masking_key_column('opad', key_scope) }}
    || unhex(sha256({{ dmesh.masking_key_column('ipad', key_scope) }} || encode(cast({{ expression }} as varchar))))
  ), 32))), 22), '+', '-'), '/', '_')
{%- endmacro %}

{#- pgcrypto's hmac(); on_run_start creates the extension. -#}
{% macro postgres__mask_hash(expression, key_scope='domain') -%}
  translate(encode(substring(hmac(convert_to(cast({{ expression }} as text), 'UTF8'), {{ dmesh.masking_key_column('key', key_scope) }}, 'sha256') from 1 for 16), 'base64'), '+/=', '-_')
{%- endmacro %}

{#- BigQuery: the same construction over BYTES (SHA256 and CONCAT only, which the emulator also runs); the pads are
    stored in hex, as `dmesh-dbt key install` loads them. -#}
{% macro bigquery__mask_hash(expression, key_scope='domain') -%}
  translate(to_base64(left(sha256(concat(
    from_hex({{ dmesh.masking_key_column('opad', key_scope) }}),
    sha256(concat(from_hex({{ dmesh.masking_key_column('ipad', key_scope) }}), cast(cast({{ expression }} as string) as bytes)))
  )), 16)), '+/=', '-_')
{%- endmacro %}

"""dmesh_dbt.keys: the keys as the Python tools resolve them (the macros' rule) and the key table's rows."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from dmesh_dbt.errors import ConfigError, UsageError
from dmesh_dbt.keys import install_keys, key_table_csv, resolve_masking_keys
from dmesh_dbt.masking import DEVELOPMENT_MASKING_KEY, KeyScope, hmac_pads
from dmesh_dbt.project import Target

DOMAIN_KEY, MESH_KEY = "d" * 32, "m" * 32


def test_both_keys_resolve_from_the_environment() -> None:
    keys = resolve_masking_keys("prod", {"DMESH_MASKING_KEY": DOMAIN_KEY, "DMESH_MESH_KEY": MESH_KEY})
    assert keys == {KeyScope.DOMAIN: DOMAIN_KEY, KeyScope.MESH: MESH_KEY}


def test_the_mesh_key_is_optional_and_the_domain_key_is_not() -> None:
    assert resolve_masking_keys("prod", {"DMESH_MASKING_KEY": DOMAIN_KEY}) == {KeyScope.DOMAIN: DOMAIN_KEY}
    with pytest.raises(ConfigError, match="no masking key for target 'prod': set the environment variable"):
        resolve_masking_keys("prod", {"DMESH_MESH_KEY": MESH_KEY})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DMESH_MASKING_KEY": "short"}, "DMESH_MASKING_KEY is too weak for target 'prod' (5 bytes"),
        ({"DMESH_MASKING_KEY": DEVELOPMENT_MASKING_KEY}, "DMESH_MASKING_KEY is a public development key"),
        ({"DMESH_MASKING_KEY": DOMAIN_KEY, "DMESH_MESH_KEY": MESH_KEY + "\n"}, "DMESH_MESH_KEY starts or ends with"),
        ({"DMESH_MASKING_KEY": DOMAIN_KEY, "DMESH_MESH_KEY": DOMAIN_KEY}, "DMESH_MESH_KEY equals DMESH_MASKING_KEY"),
    ],
)
def test_weak_keys_are_refused_outside_dev(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve_masking_keys("prod", environ)
    assert resolve_masking_keys("dev", environ)  # dev may use anything, as the macros allow


def test_the_key_table_holds_the_hmac_pads_in_hex_never_the_key() -> None:
    data = key_table_csv({KeyScope.MESH: MESH_KEY, KeyScope.DOMAIN: DOMAIN_KEY})
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert [row[0] for row in rows] == ["domain", "mesh"]
    assert rows[0][1:] == [pad.hex() for pad in hmac_pads(DOMAIN_KEY)]
    assert DOMAIN_KEY.encode() not in data and MESH_KEY.encode() not in data


def test_key_install_is_for_bigquery_targets_only() -> None:
    duckdb = Target("dev", "duckdb", {"type": "duckdb"}, "payments", Path("warehouse.duckdb"))
    with pytest.raises(UsageError, match="its build installs the keys itself from DMESH_MASKING_KEY"):
        install_keys(duckdb, {KeyScope.DOMAIN: DOMAIN_KEY})

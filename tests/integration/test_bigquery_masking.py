"""The example domain of `dmesh-dbt init`, built with dbt-bigquery (`--target prod`) against the BigQuery emulator.

One real `dbt build`, asserted many ways: it passes, every public model is published masked, no raw PII value
reaches a published relation, hashes are the keyed HMAC Python computes, the manifest maps PII classes to policy
tags, and every compiled SQL file and every statement dbt ran is valid BigQuery SQL. What the emulator cannot
enforce (NOT NULL, policy tags) is checked in the manifest and the compiled DDL instead (docs/engines.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from dmesh_dbt.masking import MaskingKeys, column_masking, hash_column_value, published_schema
from dmesh_dbt.pii import PiiClass, Strategy
from tests.engines import BIGQUERY_PROJECT, BigQueryEngine
from tests.helpers import init_domain, masking_keys_env, run_cli, run_dbt
from tests.integration.masking_leaks import find_leaks, key_material, raw_pii_values

DOMAIN = "payments"
KEYS_ENV = masking_keys_env("bq-proof")
KEYS = MaskingKeys(domain=KEYS_ENV["DMESH_MASKING_KEY"], mesh=KEYS_ENV["DMESH_MESH_KEY"])
# A platform team's taxonomy: one policy tag per PII class (the emulator accepts and drops them).
POLICY_TAGS = {
    pii.value: [f"projects/{BIGQUERY_PROJECT}/locations/us/taxonomies/dmesh/policyTags/{pii.value}"] for pii in PiiClass
}


@dataclass(frozen=True)
class BuiltDomain:
    project: Path
    engine: BigQueryEngine
    manifest: dict[str, Any]

    @property
    def public_models(self) -> list[dict[str, Any]]:
        nodes = self.manifest["nodes"].values()
        return [n for n in nodes if n["resource_type"] == "model" and n["access"] == "public"]

    def published_table(self, model: dict[str, Any]) -> str:
        # The example's public models are unversioned: each is published under its own name.
        return f"{self.engine.project}.{published_schema(model['schema'])}.{model['alias']}"

    def private_table(self, model: dict[str, Any]) -> str:
        return f"{self.engine.project}.{model['schema']}.{model['alias']}"

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.engine.query(f"select * from `{table}`")


@pytest.fixture(scope="module")
def built(bigquery_engine: BigQueryEngine, tmp_path_factory: pytest.TempPathFactory) -> BuiltDomain:
    project = init_domain(tmp_path_factory.mktemp("bigquery"), DOMAIN)
    env = bigquery_engine.dbt_env(dataset=DOMAIN)
    installed = run_cli("key", "install", "--target", "prod", cwd=project, env=env | KEYS_ENV)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    dbt_vars = json.dumps({"dmesh_policy_tags": POLICY_TAGS})
    build = ("build", "--target", "prod", "--no-partial-parse", "--log-format-file", "json", "--vars", dbt_vars)
    run_dbt(project, *build, env=env)
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return BuiltDomain(project, bigquery_engine, manifest)


def masked_columns(model: dict[str, Any]) -> dict[str, Strategy]:
    maskings = (column_masking(model["name"], name, column["meta"]) for name, column in model["columns"].items())
    return {m.column: m.strategy for m in maskings if m.masked and m.strategy is not None}


def test_build_passes_and_runs_every_node(built: BuiltDomain) -> None:
    results = json.loads((built.project / "target" / "run_results.json").read_text())["results"]
    failed = [(r["unique_id"], r["status"]) for r in results if r["status"] not in {"success", "pass"}]
    assert results and failed == []


def test_every_public_model_is_published_with_all_its_columns(built: BuiltDomain) -> None:
    assert {m["name"] for m in built.public_models} == {"customers", "payments"}
    client = built.engine.client()
    for model in built.public_models:
        published = client.get_table(built.published_table(model))
        assert [field.name for field in published.schema] == list(model["columns"])
        assert len(built.rows(built.published_table(model))) == len(built.rows(built.private_table(model)))


def values_in_dataset(built: BuiltDomain, dataset: str) -> Iterator[tuple[str, str, str]]:
    """(relation, column, value as text) for every non-null value of every relation in ``dataset``."""
    for table in built.engine.client().list_tables(f"{built.engine.project}.{dataset}"):
        for row in built.rows(f"{built.engine.project}.{dataset}.{table.table_id}"):
            yield from ((table.table_id, column, str(value)) for column, value in row.items() if value is not None)


def test_no_raw_pii_value_appears_in_any_published_relation(built: BuiltDomain) -> None:
    raw = raw_pii_values(built.project)
    assert len(raw) > 100, "the example seeds should carry plenty of PII"
    # The detector works: the private dataset holds the raw values.
    assert find_leaks(raw, values_in_dataset(built, DOMAIN))
    for dataset in {published_schema(model["schema"]) for model in built.public_models}:
        assert find_leaks(raw, values_in_dataset(built, dataset)) == []


def test_hashed_columns_are_the_keyed_hmac_python_computes(built: BuiltDomain) -> None:
    for model in built.public_models:
        hashed = [name for name, strategy in masked_columns(model).items() if strategy is Strategy.HASH]
        assert hashed, f"{model['name']} has no hashed column to check"
        private = built.rows(built.private_table(model))
        published = built.rows(built.published_table(model))
        for column in hashed:
            masking = column_masking(model["name"], column, model["columns"][column]["meta"])
            raw = [str(row[column]) for row in private if row[column] is not None]
            expected = {hash_column_value(masking, KEYS, value) for value in raw}
            assert {row[column] for row in published if row[column] is not None} == expected, column


def test_manifest_maps_pii_classes_to_policy_tags_that_dbt_applies(built: BuiltDomain) -> None:
    tagged, expected = {}, {}
    for model in built.public_models:
        for name, column in model["columns"].items():
            if pii := column["meta"].get("pii"):
                tagged[f"{model['name']}.{name}"] = column.get("policy_tags")
                expected[f"{model['name']}.{name}"] = POLICY_TAGS[pii]
        # dbt-bigquery sets policy tags on a table only through persist_docs for columns; without it they stay
        # in the manifest and never reach BigQuery. (The emulator drops them either way.)
        assert model["config"]["persist_docs"].get("columns") is True, model["name"]
    assert len(tagged) >= 10
    assert tagged == expected


def test_not_null_contracts_reach_the_bigquery_ddl(built: BuiltDomain) -> None:
    # The emulator accepts NOT NULL but does not enforce it; real BigQuery does, from this DDL.
    for model in built.public_models:
        ddl = next((built.project / "target" / "run").glob(f"**/{model['name']}.sql")).read_text().lower()
        for name, column in model["columns"].items():
            if any(c["type"] == "not_null" for c in column["constraints"]):
                assert f"{name} {column['data_type'].lower()} not null" in ddl


def statements_dbt_ran(project: Path) -> list[str]:
    """Every SQL statement the build sent to BigQuery, from its JSON lines in the log file (`--log-format-file json`;
    `dbt deps`, run by init, wrote text lines before them)."""
    lines = (project / "logs" / "dbt.log").read_text().splitlines()
    events = (json.loads(line) for line in lines if line.startswith("{"))
    return [event["data"]["sql"] for event in events if event["info"]["name"] == "SQLQuery"]


def parses_as_bigquery(sql: str) -> bool:
    try:
        statements = sqlglot.parse(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.ParseError:
        return False
    # sqlglot falls back to an opaque Command for a statement it cannot parse: that is a failure too.
    return not any(isinstance(statement, exp.Command) for statement in statements)


def test_every_compiled_file_and_statement_run_is_valid_bigquery_sql(built: BuiltDomain) -> None:
    target = built.project / "target"
    files = sorted(target.glob("compiled/**/*.sql")) + sorted(target.glob("run/**/*.sql"))
    sources = {str(path.relative_to(target)): path.read_text() for path in files}
    # The published views are created by the post-hook, not written under target/: take them from the log.
    statements = statements_dbt_ran(built.project)
    publishing = [sql for sql in statements if "create or replace" in sql and f"`{DOMAIN}_published`" in sql]
    assert len(files) > 20 and len(publishing) == len(built.public_models)
    sources |= {f"statement {number} in logs/dbt.log": sql for number, sql in enumerate(statements)}
    assert [name for name, sql in sources.items() if not parses_as_bigquery(sql)] == []


def test_no_key_material_appears_in_any_file_under_the_project(built: BuiltDomain) -> None:
    # `dmesh-dbt key install` loaded the pads through the client library; the build only read them, so neither
    # logs/dbt.log (every statement sent to BigQuery) nor target/ holds a key or a pad.
    material = [value for key in KEYS_ENV.values() for value in key_material(key).values()]
    files = [path for path in built.project.rglob("*") if path.is_file() and "dbt_packages" not in path.parts]
    assert any(path.name == "dbt.log" for path in files)
    assert [str(path) for path in files if any(value in path.read_bytes() for value in material)] == []

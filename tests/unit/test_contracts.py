"""ODCS v3 contracts: what we export validates against the standard's schema and reads back unchanged."""

from __future__ import annotations

import copy

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from dmesh_dbt.contracts import (
    ContractColumn,
    ProductContract,
    ProductRef,
    Relation,
    Server,
    contract_document,
    logical_type,
    parse_contract,
    parse_product_ref,
    render_contract,
    validation_errors,
)
from dmesh_dbt.errors import RegistryError, UsageError

CONTRACT = ProductContract(
    domain="payments",
    product="customers",
    model_version="1",
    latest_version="2",
    release="1.2.0",
    description="One row per customer.",
    owner="payments-team@example.com",
    team_description="Card payments and their customers.",
    tier="silver",
    relation=Relation("payments", "payments_published", "customers"),
    materialization="table",
    server=Server("dev", "duckdb", {"database": "/data/payments/warehouse.duckdb", "schema": "payments_published"}),
    columns=(
        ContractColumn("customer_id", "BIGINT", "Surrogate key.", required=True, unique=True, primary_key=True),
        ContractColumn("email", "VARCHAR", "Contact email, keyed hash.", required=True, pii="email", masking="hash"),
        ContractColumn("date_of_birth", "DATE", "Year of birth.", pii="date_of_birth", masking="date_year"),
        ContractColumn("signed_up_at", "TIMESTAMP", "When the customer signed up."),
    ),
    freshness={"warn_after": {"count": 24, "period": "hour"}, "error_after": {"count": 48, "period": "hour"}},
    availability="99.5%",
)


def test_an_exported_contract_validates_against_the_odcs_schema_and_model() -> None:
    document = contract_document(CONTRACT)
    assert validation_errors(document) == []
    parsed = OpenDataContractStandard.model_validate(document)
    assert parsed.apiVersion == "v3.1.0" and parsed.kind == "DataContract"


def test_the_contract_says_what_a_consumer_relies_on() -> None:
    document = yaml.safe_load(render_contract(CONTRACT))
    assert document["id"] == "payments.customers.v1"
    assert document["version"] == "1.2.0"
    assert document["team"]["members"] == [{"username": "payments-team@example.com", "role": "owner"}]
    assert document["servers"] == [
        {
            "server": "dev",
            "type": "duckdb",
            "environment": "dev",
            "database": "/data/payments/warehouse.duckdb",
            "schema": "payments_published",
        }
    ]
    (table,) = document["schema"]
    assert (table["physicalName"], table["physicalType"]) == ("customers", "table")
    key, email, birth, _ = table["properties"]
    assert key.items() >= {"primaryKey": True, "primaryKeyPosition": 1, "required": True, "unique": True}.items()
    assert key["logicalType"] == "integer" and key["classification"] == "internal"
    assert email["classification"] == "restricted" and email["tags"] == ["pii:email"]
    assert {"property": "masking", "value": "hash"} in email["customProperties"]
    assert (birth["physicalType"], birth["logicalType"]) == ("DATE", "date")
    assert {"property": "latency", "value": 48, "unit": "h"} in document["slaProperties"]
    assert {"property": "availability", "value": "99.5%"} in document["slaProperties"]


def test_a_contract_reads_back_to_what_was_exported() -> None:
    assert parse_contract(render_contract(CONTRACT)) == CONTRACT


def test_rendering_is_deterministic_so_republishing_is_a_no_op() -> None:
    assert render_contract(CONTRACT) == render_contract(copy.deepcopy(CONTRACT))


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: d.update(apiVersion="v9"), 'apiVersion: "v9" is not one of'),
        (lambda d: d.update(kind="Contract"), 'kind: "Contract" is not one of'),
        (lambda d: d["servers"][0].update(type="excel"), 'servers/0/type: "excel" is not one of'),
        (lambda d: d["servers"][0].pop("database"), '"database" is a required property'),
        (lambda d: d["schema"][0]["properties"][0].update(required="yes"), '"yes" is not of type "boolean"'),
        (lambda d: d.pop("id"), '"id" is a required property'),
    ],
)
def test_documents_that_break_the_standard_are_refused_with_the_reason(mutate: object, problem: str) -> None:
    document = contract_document(CONTRACT)
    assert callable(mutate)
    mutate(document)
    assert any(problem in line for line in validation_errors(document)), validation_errors(document)
    with pytest.raises(RegistryError, match="is not a valid ODCS v3 contract"):
        parse_contract(yaml.safe_dump(document))


def test_a_contract_that_is_not_yaml_is_refused() -> None:
    with pytest.raises(RegistryError, match="not valid YAML"):
        parse_contract("a: [b")


@pytest.mark.parametrize(
    ("physical", "logical"),
    [
        ("BIGINT", "integer"),
        ("INT64", "integer"),
        ("integer", "integer"),
        ("varchar(20)", "string"),
        ("STRING", "string"),
        ("TEXT", "string"),
        ("double precision", "number"),
        ("FLOAT64", "number"),
        ("NUMERIC(38,9)", "number"),
        ("DATE", "date"),
        ("TIMESTAMP WITH TIME ZONE", "timestamp"),
        ("DATETIME", "timestamp"),
        ("BOOLEAN", "boolean"),
        ("VARCHAR[]", "array"),
        ("STRUCT(a INT)", "object"),
        ("GEOGRAPHY", None),
    ],
)
def test_physical_types_map_to_odcs_logical_types(physical: str, logical: str | None) -> None:
    assert logical_type(physical) == logical


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("payments.customers", ProductRef("payments", "customers")),
        ("payments.customers@2", ProductRef("payments", "customers", "2")),
        ("payments.customers@v2", ProductRef("payments", "customers", "2")),
    ],
)
def test_product_refs_parse(text: str, ref: ProductRef) -> None:
    assert parse_product_ref(text) == ref


@pytest.mark.parametrize("text", ["payments", "Payments.customers", "payments.customers@", "a.b.c"])
def test_bad_product_refs_say_the_expected_form(text: str) -> None:
    with pytest.raises(UsageError, match=r"is not DOMAIN\.PRODUCT\[@VERSION\]"):
        parse_product_ref(text)

"""Adversarial releases on real dbt + DuckDB: raw PII hidden inside masked output, and domains that try to switch
the boundary rules off. Every attempt must be refused with a message naming what and where, never the value."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.engines import PostgresEngine
from tests.helpers import init_domain, masking_keys_env, run_cli, run_dbt

#: A public model whose every column but the key smuggles raw PII past name-based masking.
LEAKY_SQL = """
-- Nothing here is classified as PII, and no column derives from a classified one (column lineage, DM011, sees
-- those): the values are typed in, as a careless or hostile domain could, so only the release inspection sees them.
select
    customers.customer_id,
    cast(to_json(struct_pack(m := 'ana.lima@example.org')) as varchar) as payload,
    struct_pack(mail := 'ana.lima@example.org') as profile,
    'ana.lima@example.org / Ana Lima' as label,
    'paid with 4539148803436467' as extra,
    'GB82 WEST 1234 5698 7654 32' as ref_code,
    ['203.0.113.7'] as origin
from {{ ref('stg_customers') }} as customers
"""

LEAKY_YAML = """
models:
  - name: customer_notes
    description: Notes about customers (a leak in disguise).
    columns:
      - {name: customer_id, description: Key., data_type: bigint, data_tests: [unique, not_null]}
      - {name: payload, description: JSON payload., data_type: varchar}
      - {name: profile, description: A struct., data_type: "struct(mail varchar)"}
      - {name: label, description: A label., data_type: varchar}
      - {name: extra, description: Extra details., data_type: varchar}
      - {name: ref_code, description: A reference., data_type: varchar}
      - {name: origin, description: Origins., data_type: "varchar[]"}
"""

#: (column, pattern) the inspector must name for ``customer_notes``.
EXPECTED_LEAKS = [
    ("payload", "email"),
    ("profile", "email"),
    ("label", "email"),
    ("extra", "card_number"),
    ("ref_code", "iban"),
    ("origin", "ip_address"),
]


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = init_domain(tmp_path_factory.mktemp("leaky"), "payments")
    marts = project / "models" / "marts"
    (marts / "customer_notes.sql").write_text(LEAKY_SQL)
    (marts / "_customer_notes.yml").write_text(LEAKY_YAML)
    run_dbt(project, "build")
    return project


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def test_publish_refuses_raw_pii_inside_masked_output_and_writes_nothing(leaky: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    result = run_cli("publish", "--registry", str(registry), cwd=leaky)
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "not publishing: the release inspection (DM012) finds raw PII" in message
    for column, pattern in EXPECTED_LEAKS:
        assert f"customer_notes.{column} holds raw {pattern}" in message, (column, pattern, message)
    # Nothing but the leaky model leaks: the example products publish clean.
    assert "customers." not in message.replace("customer_notes.", "")
    for raw in ("@example.", "GB82", "203.0.113."):
        assert raw not in message
    assert _files(registry) == []


def test_check_sample_reports_the_same_leaks_as_dm012(leaky: Path) -> None:
    result = run_cli("check", "--sample-rows", "50", "--format", "json", cwd=leaky)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    found = {
        (f["column"], f["message"].split(" holds raw ")[1].split()[0])
        for f in report["findings"]
        if f["rule"] == "DM012"
    }
    assert found == set(EXPECTED_LEAKS)
    assert all(f["model"] == "customer_notes" for f in report["findings"] if f["rule"] == "DM012")


def test_scan_reports_the_leaks_and_fails(leaky: Path) -> None:
    result = run_cli("scan", "--sample-rows", "50", "--format", "json", cwd=leaky)
    assert result.returncode == 1, result.stdout + result.stderr
    leaks = {(k["product"], k["column"], k["pattern"]) for k in json.loads(result.stdout)["published_leaks"]}
    assert leaks == {("customer_notes", column, pattern) for column, pattern in EXPECTED_LEAKS}


# --- locked means locked ------------------------------------------------------------------------------------------


@pytest.fixture
def domain(tmp_path: Path) -> Path:
    """An example domain, parsed but not built (check needs only the manifest)."""
    return init_domain(tmp_path, "payments")


def _set_dmesh_yml(project: Path, **sections: object) -> None:
    path = project / "dmesh.yml"
    document = yaml.safe_load(path.read_text())
    document.update(sections)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


WAIVER = {"model": "customers", "reason": "we know", "approver": "lead@example.com", "expires": "2099-01-01"}


@pytest.mark.parametrize(
    ("sections", "rule"),
    [
        ({"policy": {"DM001": "off"}}, "DM001"),
        ({"policy": {"DM006": "warning"}}, "DM006"),
        ({"policy": {"DM007": "off"}}, "DM007"),
        ({"waivers": [{"rule": "DM006", **WAIVER}]}, "DM006"),
        ({"waivers": [{"rule": "DM001", **WAIVER}]}, "DM001"),
    ],
    ids=["DM001 off", "DM006 downgraded", "DM007 off", "DM006 waived", "DM001 waived"],
)
def test_a_domain_cannot_switch_off_or_waive_a_locked_rule(
    domain: Path, sections: dict[str, object], rule: str
) -> None:
    _set_dmesh_yml(domain, **sections)
    result = run_cli("check", cwd=domain)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert rule in message and "which the mesh policy locks (dmesh_dbt/data/mesh_policy.yml)" in message


def test_disabling_the_contract_of_a_public_model_is_an_unwaivable_dm001_error(domain: Path) -> None:
    marts = domain / "models" / "marts" / "_marts.yml"
    marts.write_text(
        marts.read_text().replace(
            "  - name: customers\n", "  - name: customers\n    config:\n      contract: {enforced: false}\n", 1
        )
    )
    result = run_cli("check", "--format", "json", cwd=domain)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert any(f["rule"] == "DM001" and f["model"] == "customers" and f["severity"] == "error" for f in findings)
    _set_dmesh_yml(domain, waivers=[{"rule": "DM001", **WAIVER}])
    assert run_cli("check", cwd=domain).returncode == 2


def test_the_platform_policy_file_changes_rules_and_its_digest_is_in_every_report(domain: Path, tmp_path: Path) -> None:
    policy = tmp_path / "platform" / "mesh_policy.yml"
    policy.parent.mkdir()
    policy.write_text(
        textwrap.dedent(
            """\
            rules: {DM003: off, DM001: error}
            locked: [DM001, DM005, DM006, DM007, DM009, DM010, DM012, BC013, BC020, BC021]
            """
        )
    )
    digest = hashlib.sha256(policy.read_bytes()).hexdigest()
    # Drop a description: the shipped policy fails DM003, the platform's turns it off.
    marts = domain / "models" / "marts" / "_marts.yml"
    marts.write_text(marts.read_text().replace("description: Surrogate key of the customer.", 'description: ""', 1))
    shipped = run_cli("check", "--format", "json", cwd=domain)
    assert shipped.returncode == 1 and '"DM003"' in shipped.stdout
    assert json.loads(shipped.stdout)["policy"]["source"] == "dmesh_dbt/data/mesh_policy.yml"

    result = run_cli("check", "--format", "json", cwd=domain, env={"DMESH_POLICY_FILE": str(policy)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["policy"] == {"source": str(policy.resolve()), "sha256": digest}
    text = run_cli("check", "--policy", str(policy), cwd=domain)
    assert f"policy: {policy.resolve()} (sha256 {digest})" in " ".join(text.stdout.split())

    # A domain that keeps its own "mesh policy" in its repository unlocks nothing.
    inside = domain / "mesh_policy.yml"
    inside.write_text("rules: {DM001: off}\nlocked: []\n")
    refused = run_cli("check", "--policy", str(inside), cwd=domain)
    assert refused.returncode == 2 and "lies inside the domain project" in refused.stderr


# --- PostgreSQL: the same inspection through the target's own connection (dbt show) ----------------------------

LEAKY_SQL_POSTGRES = """
select
    customers.customer_id,
    cast(json_build_object('m', cast('ana.lima@example.org' as text)) as text) as payload,
    jsonb_build_object('mail', cast('ana.lima@example.org' as text)) as profile,
    cast('ana.lima@example.org / Ana Lima' as text) as label,
    cast('paid with 4539148803436467' as text) as extra,
    cast('GB82 WEST 1234 5698 7654 32' as text) as ref_code,
    cast('login from 203.0.113.7' as text) as origin
from {{ ref('stg_customers') }} as customers
"""

LEAKY_YAML_POSTGRES = (
    LEAKY_YAML.replace("varchar", "text").replace('"struct(mail text)"', "jsonb").replace('"text[]"', "text")
)


@pytest.mark.postgres
def test_publish_on_postgres_refuses_the_same_leaks(postgres_engine: PostgresEngine, tmp_path: Path) -> None:
    engine = postgres_engine.create_database("inspect_mesh")
    env = {"DMESH_TARGET": "postgres", "DMESH_REGISTRY": str(tmp_path / "registry")} | masking_keys_env("inspect")
    env |= engine.dbt_env("payments")
    project = init_domain(tmp_path, "payments")
    marts = project / "models" / "marts"
    (marts / "customer_notes.sql").write_text(LEAKY_SQL_POSTGRES)
    (marts / "_customer_notes.yml").write_text(LEAKY_YAML_POSTGRES)
    run_dbt(project, "build", env=env)
    result = run_cli("publish", cwd=project, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    for column, pattern in EXPECTED_LEAKS:
        assert f"customer_notes.{column} holds raw {pattern}" in message, (column, pattern, message)
    assert "customers." not in message.replace("customer_notes.", "")
    assert _files(tmp_path / "registry") == []

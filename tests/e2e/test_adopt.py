"""`dmesh-dbt adopt` on a plain dbt project that `init` did not make, in the shapes real projects have: no marts/
folder; column types kept only in `config.meta`; profiles only in ~/.dbt (a fresh HOME); a public model that
exists only under a var; the project's own `flags:`; a nested `integration_tests/` project with a seed of the same
name; a sources-only package installed through packages.yml; long wrapped descriptions and odd YAML spacing.

Adopt's edits are only added lines; PII classes come from names, sampled values and lineage; then `dbt build`,
`check`, `publish` and a consumer's build pass, and what the consumer reads is masked. `scan --write` on the same
project writes where dbt reads each node's properties and nowhere else."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from dmesh_dbt.toolkit import dbt_package_dir
from tests.helpers import VENV_BIN

VARS = ("--vars", "{with_promo: true}")
PUBLIC = ("--public", "customers promo_customers")
GROUP = ("--group", "shop_products")

# A groups file the team already has: adopt appends its group after this one, moving nothing.
GROUPS = """version: 2

groups:
  - name: support    # the desk's own models
    owner: {name: Support desk}
"""

# Six people: enough sampled values (5 at least) for `reach`, whose name says nothing, to be found by its values.
SEED = """id,full_name,email,ssn,signup_date,reach
1,Ada Lovelace,ada@analytical.test,123-45-6789,2024-01-05,ada.l@post.test
2,Alan Turing,alan@bletchley.test,234-56-7890,2024-02-11,alan.t@post.test
3,Grace Hopper,grace@cobol.test,345-67-8901,2024-03-17,grace.h@post.test
4,Edsger Dijkstra,edsger@goto.test,456-78-9012,2024-04-02,edsger.d@post.test
5,Barbara Liskov,barbara@clu.test,567-89-0123,2024-05-23,barbara.l@post.test
6,Donald Knuth,don@tex.test,678-90-1234,2024-06-30,don.k@post.test
"""

# Odd spacing (`key :`, extra blanks), comments, quotes, a plain description wrapped over three lines (a ruamel
# dump joins it into one) and a folded one; types kept only in `config.meta`, block and flow. All of it must
# survive byte for byte, but the one-line flow `config:` of promo_customers, which gains items inside its braces.
# `signed_up_on` is left out: adopt adds it from the warehouse.
PROPERTIES = """version: 2

models:
  # The customer table every team reads.
  - name: customers
    description: >
      One row per customer who ever signed up, with the contact details the
      support desk uses; this description is long on purpose and wrapped over
      three lines, as real projects write them.
    columns:
      - name: customer_id
        description :   Surrogate key of the customer.
        data_tests : [unique, not_null]
        config:
          meta:
            type: integer   # the team's own note of the type
      - name: full_name
        description: "Name as given at sign-up."
      - name: email
        description: 'Contact email address.'   # lowercased upstream
        config: {meta: {type: varchar}}
      - name: account_ref
        description: The reference the support desk quotes on the phone, taken over from
          the old system unchanged; what it holds there is something
          nobody here wrote down.
      - name: reach
        description: Where a newsletter goes.
      - name: display
        description: How the desk greets the customer.

  - name: promo_customers     # exists only with --vars '{with_promo: true}'
    config: {materialized: table}   # flow style: adopt adds its config inside the braces
    description: Customers in this quarter's promotion.
    columns:
      - name: customer_id
        description: Surrogate key of the customer.
        data_tests: [unique, not_null]
      - name: email
        description: Contact email address.
  - name: order_counts
    description: Orders per customer (internal).
"""

NESTED_SEEDS = """version: 2
seeds:
  - name: raw_customers   # the nested project's seed, same name as the outer one's
    description: Fixture of the integration tests.
"""

CRM_SOURCES = """version: 2
sources:
  - name: crm
    schema: main
    tables:
      - name: contacts
        identifier: raw_contacts
        columns:
          - name: phone
            description: Phone number of the contact.
"""

FILES = {
    "dbt_project.yml": 'name: shop\nversion: "1.0.0"\nconfig-version: 2\nprofile: shop\n\n'
    "flags:\n  partial_parse: false\n  send_anonymous_usage_stats: false\n\n"
    "models:\n  shop:\n    +materialized: table\n\n"
    "seeds:\n  shop:\n    raw_customers:\n      +column_types: {id: integer, signup_date: date}\n",
    "packages.yml": "packages:\n  - local: ../crm_sources   # the CRM team's sources, nothing else\n",
    "seeds/raw_customers.csv": SEED,
    "seeds/raw_contacts.csv": "id,phone\n1,+1 202 555 0101\n",
    "models/staging/stg_customers.sql": "select id as customer_id, full_name, email, ssn,\n"
    "  cast(signup_date as date) as signup_date, reach\nfrom {{ ref('raw_customers') }}\n",
    # The source's table is a seed here: dbt must build it first.
    "models/staging/stg_contacts.sql": "-- depends_on: {{ ref('raw_contacts') }}\n"
    "select id as contact_id, phone from {{ source('crm', 'contacts') }}\n",
    "models/customers.sql": "select customer_id, full_name, email, ssn as account_ref, full_name as display,\n"
    "  signup_date as signed_up_on, reach\nfrom {{ ref('stg_customers') }}\n",
    "models/promo_customers.sql": "{{ config(enabled=var('with_promo', false)) }}\n"
    "select customer_id, email from {{ ref('customers') }} where customer_id < 3\n",
    "models/order_counts.sql": "select customer_id, 1 as orders from {{ ref('customers') }}\n",
    "models/schema.yml": PROPERTIES,
    "models/_groups.yml": GROUPS,
    "integration_tests/dbt_project.yml": 'name: shop_integration_tests\nversion: "1.0.0"\nprofile: shop\n',
    "integration_tests/seeds/schema.yml": NESTED_SEEDS,
}

PROFILES = """shop:
  target: dev
  outputs:
    dev: {type: duckdb, path: "{{ env_var('SHOP_DIR') }}/warehouse.duckdb"}
ops:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('OPS_DIR') }}/warehouse.duckdb"
"""


@dataclass(frozen=True)
class Mesh:
    root: Path
    env: dict[str, str]

    @property
    def shop(self) -> Path:
        return self.root / "shop"

    @property
    def ops(self) -> Path:
        return self.root / "ops"

    def run(self, program: str, *args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """``dbt`` or ``dmesh-dbt`` as the team runs it: profiles from ~/.dbt, no --profiles-dir."""
        result = subprocess.run(
            [str(VENV_BIN / program), *args], cwd=cwd, env=self.env, capture_output=True, text=True, check=False
        )
        if ok:
            assert result.returncode == 0, f"{program} {' '.join(args)}:\n{result.stdout[-4000:]}\n{result.stderr}"
        return result


def user_files(project: Path) -> dict[Path, str]:
    """Every YAML file under ``project`` but what dbt wrote (target/, package-lock.yml) or installed."""
    return {
        path: path.read_text()
        for path in sorted(project.rglob("*.yml"))
        if path.is_file()
        and path.name != "package-lock.yml"
        and not {"target", "dbt_packages"} & set(path.relative_to(project).parts)
    }


def only_insertions(before: str, after: str) -> list[str]:
    """The inserted lines; fails if any line of ``before`` changed, moved or went."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    added = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), (tag, before.splitlines()[a0:a1], after.splitlines()[b0:b1])
        if tag == "insert":
            added.extend(after.splitlines()[b0:b1])
    return added


def make_shop(root: Path) -> Mesh:
    """The plain projects and a HOME whose ~/.dbt holds the only profiles.yml."""
    for name, text in FILES.items():
        (root / "shop" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "shop" / name).write_text(text)
    (root / "crm_sources" / "models").mkdir(parents=True)
    (root / "crm_sources" / "dbt_project.yml").write_text('name: crm_sources\nversion: "1.0.0"\nconfig-version: 2\n')
    (root / "crm_sources" / "models" / "sources.yml").write_text(CRM_SOURCES)
    (root / "home" / ".dbt").mkdir(parents=True)
    (root / "home" / ".dbt" / "profiles.yml").write_text(PROFILES)
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_PROFILES_DIR", "COLUMNS", "LINES")}
    env.update(HOME=str(root / "home"), DO_NOT_TRACK="1", SHOP_DIR=str(root / "shop"), OPS_DIR=str(root / "ops"))
    return Mesh(root, env)


@dataclass(frozen=True)
class Adopted:
    mesh: Mesh
    before: dict[Path, str]
    packages: dict[Path, str]
    dry: str
    report: str
    dry_json: dict[str, object]


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> Adopted:
    mesh = make_shop(tmp_path_factory.mktemp("adopt"))
    mesh.run("dbt", "deps", cwd=mesh.shop)
    mesh.run("dbt", "build", *VARS, cwd=mesh.shop)
    before = user_files(mesh.shop)
    git = ("git", "-c", "user.name=shop", "-c", "user.email=shop@acme.test")
    subprocess.run([*git, "init", "-q"], cwd=mesh.shop, check=True)
    subprocess.run([*git, "add", *(str(p) for p in before)], cwd=mesh.shop, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the team's project"], cwd=mesh.shop, check=True)
    packages = {p: p.read_text() for p in (mesh.shop / "dbt_packages").rglob("*.yml")}
    owner = ("--owner", "shop-team@acme.test")
    dry = mesh.run("dmesh-dbt", "adopt", *PUBLIC, *GROUP, *owner, *VARS, "--dry-run", cwd=mesh.shop)
    dry_json = mesh.run("dmesh-dbt", "adopt", *PUBLIC, *VARS, "--dry-run", "--format", "json", cwd=mesh.shop)
    assert user_files(mesh.shop) == before, "--dry-run wrote"
    report = mesh.run("dmesh-dbt", "adopt", *PUBLIC, *GROUP, *owner, *VARS, cwd=mesh.shop)
    return Adopted(mesh, before, packages, dry.stdout, report.stdout, json.loads(dry_json.stdout))


def test_dry_run_prints_the_diff(adopted: Adopted) -> None:
    assert "+++ b/models/schema.yml" in adopted.dry and "+++ b/dmesh.yml" in adopted.dry
    assert "+        data_type: varchar" in adopted.dry


def test_dry_run_as_json_holds_files_diffs_classes_types_and_blockers(adopted: Adopted) -> None:
    document = adopted.dry_json
    assert (document["domain"], document["dry_run"], document["ready"]) == ("shop", True, False)
    assert document["public_models"] == ["customers", "promo_customers"]
    files = {f["path"]: f for f in document["files"]}  # type: ignore[attr-defined]
    assert files["dmesh.yml"]["status"] == "created" and files["models/schema.yml"]["status"] == "updated"
    assert "+        data_type: varchar" in files["models/schema.yml"]["diff"]
    classified = {(c["model"], c["column"]): c for c in document["classified"]}  # type: ignore[attr-defined]
    assert classified["customers", "display"]["class"] == "person_name"
    assert classified["customers", "display"]["evidence"] == "lineage 'stg_customers.full_name'"
    assert classified["customers", "reach"]["evidence"].startswith("6/6 values valid")
    assert ("customers", "customer_id") not in classified
    types = {(t["model"], t["column"]): t["data_type"] for t in document["types"]}  # type: ignore[attr-defined]
    assert types["customers", "signed_up_on"] == "date" and types["promo_customers", "email"] == "varchar"
    # Without --owner the placeholder blocks first; the dry run's own line comes last.
    blockers = document["blockers"]
    assert "owner is the placeholder" in blockers[0] and blockers[-1].startswith("dry run")  # type: ignore[index]


def test_docs_show_the_real_dry_run(adopted: Adopted) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "adopt.md").read_text()
    shown_bundle = re.search(r"env_var\('DMESH_PACKAGE_DIR', '([^']+)'\)", doc)
    assert shown_bundle is not None
    assert adopted.dry.replace(str(dbt_package_dir()), shown_bundle.group(1)) in doc


FLOW_CONFIG = "    config: {materialized: table}   # flow style: adopt adds its config inside the braces"


def test_git_diff_shows_only_added_lines_but_the_flow_config_that_gains_items(adopted: Adopted) -> None:
    diff = subprocess.run(
        ["git", "diff", "--unified=0", "--no-color"], cwd=adopted.mesh.shop, capture_output=True, text=True, check=True
    ).stdout
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert removed == [FLOW_CONFIG]
    assert (
        '+    config: {materialized: table, access: public, contract: {enforced: true}, post_hook: ["{{ '
        'dmesh.publish_masked() }}"], group: shop_products}   # flow style: adopt adds its config inside the braces'
    ) in diff.splitlines()


def test_the_user_yaml_only_gains_lines(adopted: Adopted) -> None:
    after = user_files(adopted.mesh.shop)
    schema = adopted.mesh.shop / "models" / "schema.yml"
    flow_line = next(line for line in after[schema].splitlines() if line.endswith("adds its config inside the braces"))
    text = "\n".join(only_insertions(PROPERTIES.replace(FLOW_CONFIG, flow_line), after[schema]))
    assert text.count("access: public") == 1 and text.count("contract: {enforced: true}") == 1
    assert text.count("group: shop_products") == 1
    groups = only_insertions(GROUPS, after[adopted.mesh.shop / "models" / "_groups.yml"])
    assert groups == ["  - name: shop_products", "    owner:", '      email: "shop-team@acme.test"']
    assert "- name: signed_up_on" in text  # in the warehouse, not in the YAML: added with its type
    assert "order_counts" not in text  # not selected: untouched
    for path, old in adopted.before.items():
        only_insertions(old if path != schema else PROPERTIES.replace(FLOW_CONFIG, flow_line), after[path])
    nested = adopted.mesh.shop / "integration_tests" / "seeds" / "schema.yml"
    assert after[nested] == NESTED_SEEDS
    assert {p: p.read_text() for p in adopted.packages} == adopted.packages


def _columns(project: Path, model: str) -> dict[str, dict[str, object]]:
    document = yaml.safe_load((project / "models" / "schema.yml").read_text())
    entry = next(m for m in document["models"] if m["name"] == model)
    return {c["name"]: c for c in entry["columns"]}


def test_every_public_column_is_typed_from_the_warehouse(adopted: Adopted) -> None:
    for model in ("customers", "promo_customers"):
        columns = _columns(adopted.mesh.shop, model)
        assert all(c.get("data_type") for c in columns.values()), columns
    assert _columns(adopted.mesh.shop, "customers")["signed_up_on"]["data_type"] == "date"


def test_pii_classes_come_from_names_values_and_lineage_with_their_evidence(adopted: Adopted) -> None:
    columns = _columns(adopted.mesh.shop, "customers")

    def pii(name: str) -> object:
        column = columns[name]
        meta = {**(column.get("config") or {}).get("meta", {}), **(column.get("meta") or {})}  # type: ignore[union-attr]
        return meta.get("pii")

    assert (pii("full_name"), pii("email"), pii("customer_id")) == ("person_name", "email", None)
    # Their names say nothing: the sampled values are SSNs and addresses; `display` is stg_customers.full_name.
    assert (pii("account_ref"), pii("reach"), pii("display")) == ("national_id", "email", "person_name")
    text = (adopted.mesh.shop / "models" / "schema.yml").read_text()
    assert "# dmesh adopt: lineage 'stg_customers.full_name'; masked until a reviewer sets {pii: none" in text
    assert re.search(r"reach\n.*\n.*meta: \{pii: email\}  # dmesh adopt: 6/6 values valid", text)


def test_the_readiness_report_names_what_still_blocks(adopted: Adopted) -> None:
    assert "public models: customers, promo_customers" in adopted.report
    assert "DM003" in adopted.report and "signed_up_on" in adopted.report  # added, so not described yet


@pytest.fixture(scope="module")
def published(adopted: Adopted) -> Mesh:
    mesh = adopted.mesh
    adopted_files = {path: path.read_bytes() for path in user_files(mesh.shop)}
    again = mesh.run("dmesh-dbt", "adopt", *PUBLIC, *GROUP, *VARS, cwd=mesh.shop)
    assert "nothing to change" in again.stdout
    assert {path: path.read_bytes() for path in user_files(mesh.shop)} == adopted_files  # byte-identical
    schema = mesh.shop / "models" / "schema.yml"
    # The one thing a reviewer must write: the description of the column adopt found in the warehouse.
    schema.write_text(schema.read_text().replace("      - name: signed_up_on\n", "      - name: signed_up_on\n"
                                                 "        description: Day the customer signed up.\n"))  # fmt: skip
    mesh.run("dbt", "build", *VARS, cwd=mesh.shop)
    mesh.run("dmesh-dbt", "check", *VARS, cwd=mesh.shop)
    mesh.run("dmesh-dbt", "publish", "--registry", str(mesh.root / "registry"), *VARS, cwd=mesh.shop)
    return mesh


def test_dbt_builds_the_public_models_in_the_group_adopt_defined(published: Mesh) -> None:
    manifest = json.loads((published.shop / "target" / "manifest.json").read_text())
    group = manifest["groups"]["group.shop.shop_products"]
    assert group["owner"]["email"] == "shop-team@acme.test"
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert {n["name"] for n in models if n.get("group") == "shop_products"} == {"customers", "promo_customers"}
    assert "group.shop.support" in manifest["groups"]  # the team's own group stays


def test_a_second_adopt_changes_nothing_and_the_domain_publishes_masked(published: Mesh) -> None:
    with duckdb.connect(str(published.shop / "warehouse.duckdb"), read_only=True) as connection:
        rows = connection.execute("select * from main_published.customers").fetchall()
    shown = " ".join(str(value) for row in rows for value in row)
    assert len(rows) == 6
    for raw in ("ada@analytical.test", "123-45-6789", "Grace Hopper", "ada.l@post.test"):
        assert raw not in shown


def test_adopt_after_a_build_leaves_its_run_results_so_publish_still_passes(published: Mesh) -> None:
    shop = published.shop
    results = (shop / "target" / "run_results.json").read_bytes()
    published.run("dmesh-dbt", "adopt", *PUBLIC, *GROUP, *VARS, cwd=shop)  # its `dbt docs generate` writes aside
    assert (shop / "target" / "run_results.json").read_bytes() == results
    assert (shop / "target" / "catalog.json").is_file()  # where check's drift rule reads the warehouse
    published.run("dmesh-dbt", "publish", "--registry", str(published.root / "registry"), *VARS, cwd=shop)


def test_publish_after_docs_generate_says_the_run_results_are_not_a_builds(published: Mesh) -> None:
    shop = published.shop
    published.run("dbt", "docs", "generate", *VARS, cwd=shop)
    result = published.run("dmesh-dbt", "publish", "--registry", str(published.root / "registry"), *VARS,
                           cwd=shop, ok=False)  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    path = shop / "target" / "run_results.json"
    assert f"{path} is from `dbt docs generate`, not a build: run `dbt build` and publish again" in result.stderr
    assert "success" not in result.stderr


def test_a_consumer_with_profiles_in_home_builds_on_the_masked_product(published: Mesh) -> None:
    mesh, ops = published, published.ops
    (ops / "models").mkdir(parents=True)
    (ops / "dbt_project.yml").write_text('name: ops\nversion: "1.0.0"\nconfig-version: 2\nprofile: ops\n')
    (ops / "dmesh.yml").write_text("domain: ops\nowner: ops-team@acme.test\n")
    (ops / "models" / "mailing.sql").write_text(
        "{{ config(materialized='table') }}\nselect customer_id, email, reach from {{ source('shop', 'customers') }}\n"
    )
    mesh.run("dmesh-dbt", "consume", "shop.customers", "--registry", str(mesh.root / "registry"), cwd=ops)
    assert "shop" in (mesh.root / "home" / ".dbt" / "profiles.yml").read_text().split("ops:")[1]  # attached there
    mesh.run("dbt", "build", cwd=ops)
    with duckdb.connect(str(ops / "warehouse.duckdb"), read_only=True) as connection:
        rows = connection.execute("select email, reach from main.mailing").fetchall()
    assert len(rows) == 6
    assert not {"ada@analytical.test", "ada.l@post.test"} & {v for row in rows for v in row}


def test_scan_write_writes_where_dbt_reads_and_leaves_nested_projects_and_packages(published: Mesh) -> None:
    shop = published.shop
    before = user_files(shop)
    packages = {p: p.read_text() for p in (shop / "dbt_packages" / "crm_sources").rglob("*.yml")}
    result = published.run("dmesh-dbt", "scan", "--write", *VARS, "--format", "json", cwd=shop, ok=False)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: the package's source stays unwritten
    after = user_files(shop)
    for path, old in before.items():
        only_insertions(old, after[path])
    assert after[shop / "integration_tests" / "seeds" / "schema.yml"] == NESTED_SEEDS
    assert {p: p.read_text() for p in packages} == packages
    staging = yaml.safe_load((shop / "models" / "staging" / "_stg_customers.yml").read_text())
    assert {c["name"]: c["meta"]["pii"] for c in staging["models"][0]["columns"]}["ssn"] == "national_id"
    seeds = yaml.safe_load((shop / "seeds" / "_raw_customers.yml").read_text())
    assert seeds["seeds"][0]["name"] == "raw_customers"


def test_a_project_that_turns_write_json_off_still_gets_its_manifest_parsed(published: Mesh) -> None:
    shop = published.shop
    project_file = shop / "dbt_project.yml"
    project_file.write_text(project_file.read_text().replace("flags:\n", "flags:\n  write_json: false\n"))
    (shop / "target" / "manifest.json").unlink()
    result = published.run("dmesh-dbt", "check", *VARS, cwd=shop, ok=False)
    assert result.returncode == 0, result.stdout + result.stderr

"""`dmesh-dbt adopt` on a plain dbt project that `init` did not make: no marts/ folder, a seed and two models,
odd YAML spacing and a long wrapped description. The added lines are the only change; then `dbt build`, `check`
and `publish` pass and the published relation is masked."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import duckdb
import pytest

from dmesh_dbt.toolkit import dbt_package_dir
from tests.helpers import run_cli, run_dbt

SEED = """id,full_name,email,ssn,signup_date
1,Ada Lovelace,ada@analytical.test,123-45-6789,2024-01-05
2,Alan Turing,alan@bletchley.test,234-56-7890,2024-02-11
3,Grace Hopper,grace@cobol.test,345-67-8901,2024-03-17
"""

# Odd spacing (`key :`, extra blanks), a comment and a folded description wrapped over three lines: all of it
# must survive byte for byte.
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
      - name: full_name
        description: "Name as given at sign-up."
      - name: email
        description: 'Contact email address.'   # lowercased upstream
      - name: ssn
        description: Social security number.
  - name: order_counts
    description: Orders per customer (internal).
"""

FILES = {
    "dbt_project.yml": 'name: shop\nversion: "1.0.0"\nconfig-version: 2\nprofile: shop\n\n'
    "models:\n  shop:\n    +materialized: table\n",
    "profiles.yml": "shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n",
    "seeds/raw_customers.csv": SEED,
    "models/customers.sql": "select id as customer_id, full_name, email, ssn,\n"
    "  cast(signup_date as date) as signed_up_on\nfrom {{ ref('raw_customers') }}\n",
    "models/order_counts.sql": "select customer_id, 1 as orders from {{ ref('customers') }}\n",
    "models/schema.yml": PROPERTIES,
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plain project, built as its team builds it today."""
    project = tmp_path_factory.mktemp("adopt") / "shop"
    for name, text in FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    run_dbt(project, "build")
    return project


def _adopt(project: Path, *extra: str) -> str:
    result = run_cli("adopt", "--public", "customers", "--owner", "shop-team@acme.test", *extra, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _user_files(project: Path) -> dict[Path, str]:
    """The project's own YAML, not what dbt wrote (target/) or installed (dbt_packages/)."""
    return {
        path: path.read_text()
        for path in project.rglob("*.yml")
        if path.is_file() and not {"target", "dbt_packages"} & set(path.relative_to(project).parts)
    }


def _only_insertions(before: str, after: str) -> list[str]:
    """The inserted lines; fails if any line of ``before`` changed, moved or went."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    added = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), (tag, before.splitlines()[a0:a1], after.splitlines()[b0:b1])
        if tag == "insert":
            added.extend(after.splitlines()[b0:b1])
    return added


@pytest.fixture(scope="module")
def adopted(shop: Path) -> tuple[Path, str, str]:
    dry = _adopt(shop, "--dry-run")
    assert not (shop / "dmesh.yml").exists() and (shop / "models" / "schema.yml").read_text() == PROPERTIES
    report = _adopt(shop)
    return shop, dry, report


def test_dry_run_prints_the_diff_and_writes_nothing(adopted: tuple[Path, str, str]) -> None:
    _, dry, _ = adopted
    assert "+++ b/models/schema.yml" in dry and "+++ b/dmesh.yml" in dry
    assert "+        data_type: varchar" in dry


def test_docs_show_the_real_dry_run(adopted: tuple[Path, str, str]) -> None:
    _, dry, _ = adopted
    doc = (Path(__file__).resolve().parents[2] / "docs" / "adopt.md").read_text()
    shown_bundle = re.search(r"env_var\('DMESH_PACKAGE_DIR', '([^']+)'\)", doc)
    assert shown_bundle is not None
    assert dry.replace(str(dbt_package_dir()), shown_bundle.group(1)) in doc


def test_the_user_yaml_only_gains_lines(adopted: tuple[Path, str, str]) -> None:
    project, _, _ = adopted
    added = _only_insertions(PROPERTIES, (project / "models" / "schema.yml").read_text())
    text = "\n".join(added)
    assert "access: public" in text and "contract: {enforced: true}" in text
    assert "post_hook: [\"{{ dmesh.publish_masked() }}\"]" in text
    assert "meta: {pii: email}  # dmesh adopt: name 'email' (0.90)" in text
    assert "meta: {pii: national_id}" in text and "meta: {pii: person_name}" in text
    assert "- name: signed_up_on" in text  # in the warehouse, not in the YAML: added with its type
    assert "order_counts" not in text  # not selected: untouched


def test_the_readiness_report_names_what_still_blocks(adopted: tuple[Path, str, str]) -> None:
    _, _, report = adopted
    assert "public models: customers" in report
    assert "DM003" in report and "signed_up_on" in report  # the added column has no description yet


def test_a_second_run_changes_nothing(adopted: tuple[Path, str, str]) -> None:
    project, _, _ = adopted
    before = _user_files(project)
    again = _adopt(project)
    assert "nothing to change" in again
    assert before == _user_files(project)


def test_built_checked_published_and_masked(adopted: tuple[Path, str, str], tmp_path: Path) -> None:
    project, _, _ = adopted
    schema = project / "models" / "schema.yml"
    # The one thing a reviewer must write: the description of the column adopt found in the warehouse.
    schema.write_text(schema.read_text().replace("      - name: signed_up_on\n", "      - name: signed_up_on\n"
                                                 "        description: Day the customer signed up.\n"))  # fmt: skip
    run_dbt(project, "build")
    check = run_cli("check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    publish = run_cli("publish", "--registry", str(tmp_path / "registry"), cwd=project)
    assert publish.returncode == 0, publish.stdout + publish.stderr
    with duckdb.connect(str(project / "warehouse.duckdb"), read_only=True) as connection:
        rows = connection.execute("select * from main_published.customers").fetchall()
    published = " ".join(str(value) for row in rows for value in row)
    assert len(rows) == 3
    for raw in ("ada@analytical.test", "123-45-6789", "Grace Hopper", "234-56-7890"):
        assert raw not in published

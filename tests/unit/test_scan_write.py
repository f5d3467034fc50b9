"""`scan --write`: each classification lands in the file dbt recorded for its node, a new file beside a node that
has none, never in a nested project or an installed package; every line the user wrote stays byte for byte."""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from msgspec import structs

from dmesh_dbt.artifacts import Project, project_from_manifest
from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import guess_indentation
from dmesh_dbt.pii import ForbiddenClass, PiiClass
from dmesh_dbt.scan.detect import Suspect
from dmesh_dbt.scan.write import write_classifications

# Shapes real projects have: a comment, an anchor, odd spacing (`key :`), quoting, a plain description wrapped
# over three lines (a round-trip dump joins it into one), a folded one, flow-style meta under config.
MODELS_YML = """\
# Marts of the shop domain. Keep this comment.
x-types:
  string: &string varchar   # an anchor the columns reuse

models:
  - name: orders
    description : "One row per order."   # quoted on purpose
    columns:
      - name: order_id
        data_type :   bigint
      - name: buyer_email      # added in 2024
        description: The address the buyer typed at checkout, lower-cased by the shop
          backend before it is stored, and never validated beyond the presence of
          an at sign.
        data_type: *string
      - name: notes
        config:
          meta: {owner: ops}
      - name: contact
        meta:
          owner: crm
  - name: refunds
    description: >
      Refunds, one row per refund, folded over
      two lines.
"""

# Four-space indentation, as some teams write it.
SOURCES_YML = """\
sources:
    - name: crm
      tables:
          - name: contacts
            columns:
                - name: phone
"""

NESTED_SEEDS_YML = "seeds:\n  - name: raw_people\n    description: The nested project's own seed.\n"


def _node(kind: str, name: str, path: str, patch: str | None, package: str = "shop") -> dict[str, Any]:
    return {
        "unique_id": f"{kind}.{package}.{name}", "name": name, "resource_type": kind, "package_name": package,
        "schema": "main", "original_file_path": path, "patch_path": patch, "columns": {},
    }  # fmt: skip


def _project() -> Project:
    nodes = [
        _node("model", "orders", "models/orders.sql", "shop://models/_marts.yml"),
        _node("model", "refunds", "models/refunds.sql", "shop://models/_marts.yml"),
        _node("model", "shipments", "models/ops/shipments.sql", None),
        _node("seed", "raw_people", "seeds/raw_people.csv", None),
        _node("model", "stg_things", "models/stg_things.sql", "util://models/x.yml", package="util"),
    ]
    source = {
        "unique_id": "source.shop.crm.contacts", "source_name": "crm", "name": "contacts", "package_name": "shop",
        "original_file_path": "models/sources.yml", "columns": {},
    }  # fmt: skip
    document = {
        "metadata": {"project_name": "shop", "adapter_type": "duckdb"},
        "nodes": {n["unique_id"]: n for n in nodes},
        "sources": {source["unique_id"]: source},
    }
    return project_from_manifest(document)


def suspect(node_id: str, name: str, pii_class: PiiClass | ForbiddenClass, published: bool = False) -> Suspect:
    return Suspect(node_id, None, name, pii_class, 0.9, "email", "name", None, published=published)


def added_lines(before: str, after: str) -> list[str]:
    """The inserted lines; fails if any line of ``before`` changed, moved or went."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    added: list[str] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), (tag, before.splitlines()[a0:a1], after.splitlines()[b0:b1])
        if tag == "insert":
            added.extend(after.splitlines()[b0:b1])
    return added


def pii_of(path: Path, section: str, node: str, column: str) -> object:
    entry = next(e for e in yaml.safe_load(path.read_text())[section] if e["name"] == node)
    found = next(c for c in entry["columns"] if c["name"] == column)
    return {**(found.get("config") or {}).get("meta", {}), **(found.get("meta") or {})}.get("pii")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {
        "dbt_project.yml": "name: shop\n",
        "models/_marts.yml": MODELS_YML,
        "models/sources.yml": SOURCES_YML,
        "models/ops/shipments.sql": "select 1 as address\n",
        "seeds/raw_people.csv": "id,email\n",
        # A nested project with a seed of the same name: the issue's `integration_tests/` trap.
        "integration_tests/dbt_project.yml": "name: shop_tests\n",
        "integration_tests/seeds/seeds.yml": NESTED_SEEDS_YML,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_only_lines_are_added_and_each_class_lands_where_dbt_reads_it(project: Project, tmp_path: Path) -> None:
    result = write_classifications(
        tmp_path,
        _project(),
        [
            suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL),
            suspect("model.shop.orders", "notes", PiiClass.FREE_TEXT),
            suspect("model.shop.orders", "contact", PiiClass.PERSON_NAME),
            suspect("model.shop.orders", "ship_to", PiiClass.ADDRESS),  # in the warehouse, not in the YAML
            suspect("model.shop.refunds", "iban", PiiClass.IBAN),
        ],
    )
    marts = tmp_path / "models" / "_marts.yml"
    added = added_lines(MODELS_YML, marts.read_text())
    assert len(added) == 8, added
    assert all("dmesh scan: name 'email'" in line for line in added if "pii" in line)
    for column, pii in [("buyer_email", "email"), ("notes", "free_text"), ("contact", "person_name"),
                        ("ship_to", "address")]:  # fmt: skip
        assert pii_of(marts, "models", "orders", column) == pii
    assert pii_of(marts, "models", "refunds", "iban") == "iban"
    assert len(result.written) == 5 and not result.skipped


def test_sources_keep_their_four_space_indentation(project: Path) -> None:
    write_classifications(project, _project(), [suspect("source.shop.crm.contacts", "phone", PiiClass.PHONE)])
    after = (project / "models" / "sources.yml").read_text()
    assert [line.split("  #")[0] for line in added_lines(SOURCES_YML, after)] == [
        "                  meta: {pii: phone}"
    ]


def test_a_model_and_a_seed_without_yaml_get_a_file_beside_them_and_the_nested_project_is_untouched(
    project: Path,
) -> None:
    result = write_classifications(
        project,
        _project(),
        [
            suspect("model.shop.shipments", "address", PiiClass.ADDRESS),
            suspect("seed.shop.raw_people", "email", PiiClass.EMAIL),
        ],
    )
    assert not result.skipped
    assert pii_of(project / "models" / "ops" / "_shipments.yml", "models", "shipments", "address") == "address"
    assert pii_of(project / "seeds" / "_raw_people.yml", "seeds", "raw_people", "email") == "email"
    assert (project / "integration_tests" / "seeds" / "seeds.yml").read_text() == NESTED_SEEDS_YML


def test_packages_forbidden_classes_and_published_relations_are_left_with_a_reason(project: Path) -> None:
    result = write_classifications(
        project,
        _project(),
        [
            suspect("model.shop.orders", "cvv", ForbiddenClass.CVV),
            suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL, published=True),
            suspect("model.util.stg_things", "email", PiiClass.EMAIL),
        ],
    )
    reasons = [s.reason for s in result.skipped]
    assert "PCI DSS" in reasons[0] and "public model" in reasons[1] and "installed package util" in reasons[2]
    assert (project / "models" / "_marts.yml").read_text() == MODELS_YML
    assert sorted(p.name for p in (project / "models").iterdir()) == ["_marts.yml", "ops", "sources.yml"]


def test_flow_style_gains_the_class_inside_its_braces_on_the_line_that_closes_them(project: Path) -> None:
    marts = project / "models" / "_marts.yml"
    text = MODELS_YML.replace("      - name: order_id\n", "      - name: order_id\n        meta: {owner: x}\n")
    text = text.replace("      - name: contact\n", '      - {name: "phone", data_type: varchar}   # flow\n'
                        "      - {name: fax,\n         data_type: varchar}\n      - name: contact\n")  # fmt: skip
    marts.write_text(text)
    result = write_classifications(
        project,
        _project(),
        [
            suspect("model.shop.orders", "order_id", PiiClass.EMAIL),
            suspect("model.shop.orders", "phone", PiiClass.PHONE),
            suspect("model.shop.orders", "fax", PiiClass.PHONE),  # its braces span two lines
        ],
    )
    changed = [line.split("  # dmesh")[0] for line in marts.read_text().splitlines() if line not in text.splitlines()]
    assert changed == [
        "        meta: {owner: x, pii: email}",
        '      - {name: "phone", data_type: varchar, meta: {pii: phone}}   # flow',
        "         data_type: varchar, meta: {pii: phone}}",
    ]
    assert not result.skipped and pii_of(marts, "models", "orders", "fax") == "phone"


def test_invalid_yaml_is_a_config_error_naming_the_file(project: Path) -> None:
    (project / "models" / "_marts.yml").write_text("models: [\n")
    with pytest.raises(ConfigError, match="_marts.yml is not valid YAML"):
        write_classifications(project, _project(), [suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MODELS_YML, (2, 2)),
        (SOURCES_YML, (2, 4)),
        ("models:\n- name: a\n  columns:\n  - name: b\n", (2, 0)),
        ("", (2, 2)),
    ],
)
def test_indentation_is_guessed_from_the_file(text: str, expected: tuple[int, int]) -> None:
    assert guess_indentation(text) == expected


def test_a_new_entry_joins_the_files_list_or_is_refused_where_the_section_is_not_a_block_list(project: Path) -> None:
    (project / "seeds" / "_raw_people.yml").write_text("seeds:\n  - name: other   # kept\n    description: x\n")
    result = write_classifications(project, _project(), [suspect("seed.shop.raw_people", "email", PiiClass.EMAIL)])
    after = (project / "seeds" / "_raw_people.yml").read_text()
    assert not result.skipped and pii_of(project / "seeds" / "_raw_people.yml", "seeds", "raw_people", "email")
    assert after.startswith("seeds:\n  - name: other   # kept\n    description: x\n  - name: raw_people\n")
    (project / "seeds" / "_raw_people.yml").write_text("seeds: {}\n")
    result = write_classifications(project, _project(), [suspect("seed.shop.raw_people", "email", PiiClass.EMAIL)])
    assert "`seeds:` is not a list" in result.skipped[0].reason


def test_findings_below_the_policys_classify_threshold_are_left_to_a_reviewer_with_the_reasons(project: Path) -> None:
    before = (project / "models" / "_marts.yml").read_text()
    doubtful = replace(
        suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL),
        confidence=0.3,
        reasons=("name says email ('email')", "0 of 50 sampled values are email addresses (test data?)"),
    )
    result = write_classifications(project, _project(), [doubtful])
    assert result.written == ()
    (skipped,) = result.skipped
    assert "below the mesh policy's `scan.classify` (0.50)" in skipped.reason
    assert "0 of 50 sampled values" in skipped.reason
    assert (project / "models" / "_marts.yml").read_text() == before


def test_the_classify_threshold_a_platform_policy_sets_decides_what_is_written(project: Path) -> None:
    sure = replace(suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL), confidence=0.9)
    result = write_classifications(project, _project(), [sure], classify=0.95)
    assert result.written == () and "below the mesh policy's `scan.classify` (0.95)" in result.skipped[0].reason


FLOW_YML = """\
models:
  - {name: orders, columns: [{name: order_id}, {name: buyer_email, config: {meta: {owner: crm}}}]}   # one line
  - name: refunds
    columns: [
      {name: iban,
       data_type: varchar},   # wrapped by hand
      {name: amount},
    ]
seeds: []
"""


def test_flow_lists_and_entries_gain_items_in_flow_style(project: Path) -> None:
    marts = project / "models" / "_marts.yml"
    marts.write_text(FLOW_YML)
    shop = _project()
    shop = structs.replace(shop, seeds=(structs.replace(shop.seeds[0], patch_path="shop://models/_marts.yml"),))
    result = write_classifications(
        project,
        shop,
        [
            suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL),  # into config.meta's braces
            suspect("model.shop.orders", "ship_to", PiiClass.ADDRESS),  # a new column in the one-line list
            suspect("model.shop.refunds", "iban", PiiClass.IBAN),  # braces over two lines
            suspect("model.shop.refunds", "payer", PiiClass.PERSON_NAME),  # after a trailing comma
            suspect("seed.shop.raw_people", "email", PiiClass.EMAIL),  # a new entry in an empty flow list
            suspect("seed.shop.raw_people", "phone", PiiClass.PHONE),  # joins that entry
        ],
    )
    assert not result.skipped, result.skipped
    after = marts.read_text()
    lines = [line.split("  # dmesh")[0] for line in after.splitlines()]
    assert lines == [
        "models:",
        "  - {name: orders, columns: [{name: order_id}, {name: buyer_email, config: {meta: {owner: crm, pii: email}}}"
        ", {name: ship_to, meta: {pii: address}}]}   # one line",
        "  - name: refunds",
        "    columns: [",
        "      {name: iban,",
        "       data_type: varchar, meta: {pii: iban}},   # wrapped by hand",
        "      {name: amount},",
        "    {name: payer, meta: {pii: person_name}}]",
        "seeds: [{name: raw_people, columns: [{name: email, meta: {pii: email}}, {name: phone, meta: {pii: phone}}]}]",
    ]
    assert "# dmesh scan: name 'email'" in after.splitlines()[-1]  # the evidence, where the line had no comment
    for node, column, pii in [("orders", "buyer_email", "email"), ("orders", "ship_to", "address"),
                              ("refunds", "iban", "iban"), ("refunds", "payer", "person_name")]:  # fmt: skip
        assert pii_of(marts, "models", node, column) == pii
    assert pii_of(marts, "seeds", "raw_people", "phone") == "phone"


def test_an_entry_without_columns_gets_one_columns_key_for_all_its_classes(project: Path) -> None:
    marts = project / "models" / "_marts.yml"
    marts.write_text("models:\n  - name: refunds\n    description: x\n  - {name: orders}\n")
    suspects = [
        suspect("model.shop.refunds", "iban", PiiClass.IBAN),
        suspect("model.shop.refunds", "payer", PiiClass.PERSON_NAME),
        suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL),
        suspect("model.shop.orders", "ship_to", PiiClass.ADDRESS),
    ]
    result = write_classifications(project, _project(), suspects)
    assert not result.skipped, result.skipped
    after = [line.split("  # dmesh")[0] for line in marts.read_text().splitlines()]
    assert after == [
        "models:",
        "  - name: refunds",
        "    columns:",
        "      - name: iban",
        "        meta: {pii: iban}",
        "      - name: payer",
        "        meta: {pii: person_name}",
        "    description: x",
        "  - {name: orders, columns: [{name: buyer_email, meta: {pii: email}}, {name: ship_to, meta: {pii: address}}]}",
    ]


def test_a_flow_collection_that_never_closes_is_refused_not_guessed() -> None:
    from dmesh_dbt.properties import flow_close

    closed = flow_close(["a: [1, '2]', \"3]\"  # ] not here", "  , 4", "]"], 0, 3)
    assert closed is not None and closed.at == (2, 0) and closed.needs_separator
    assert flow_close(["a: [1, '2]'"], 0, 3) is None


@pytest.mark.parametrize(
    "config",
    [
        "    config:\n      tags: [raw]\n      meta:\n        owner: crm\n",
        "    config: {tags: [raw], meta: {owner: crm}}\n",
    ],
    ids=["block", "flow"],
)
def test_a_seed_and_a_model_with_config_but_no_columns_gain_a_columns_key(project: Path, config: str) -> None:
    """Reported as "raw_people.email did not get pii email; classify it by hand", nothing written: each column
    added its own `columns:` key, the last one won. One key for all the entry's columns since 0349b29."""
    seeds = project / "seeds" / "seeds.yml"
    seeds.write_text("seeds:\n  - name: raw_people\n" + config)
    marts = project / "models" / "_marts.yml"
    marts.write_text("models:\n  - name: refunds\n" + config + "  - name: orders\n    description: x\n")
    shop = _project()
    shop = structs.replace(shop, seeds=(structs.replace(shop.seeds[0], patch_path="shop://seeds/seeds.yml"),))
    before = {path: path.read_text() for path in (seeds, marts)}
    suspects = [
        suspect("seed.shop.raw_people", "email", PiiClass.EMAIL),
        suspect("seed.shop.raw_people", "phone", PiiClass.PHONE),
        suspect("model.shop.refunds", "iban", PiiClass.IBAN),
        suspect("model.shop.refunds", "payer", PiiClass.PERSON_NAME),
    ]
    result = write_classifications(project, shop, suspects)
    assert not result.skipped, result.skipped
    for path, text in before.items():
        assert [line.strip() for line in added_lines(text, path.read_text())][:1] == ["columns:"]
    assert pii_of(seeds, "seeds", "raw_people", "email") == "email"
    assert pii_of(seeds, "seeds", "raw_people", "phone") == "phone"
    assert pii_of(marts, "models", "refunds", "iban") == "iban"
    assert pii_of(marts, "models", "refunds", "payer") == "person_name"
    config_of = {e["name"]: e.get("config") for e in yaml.safe_load(marts.read_text())["models"]}
    assert config_of["refunds"] == {"tags": ["raw"], "meta": {"owner": "crm"}}  # the config stays the model's own

"""`scan --write`: classifications land in the YAML documenting each column, and nothing else moves."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import guess_indentation
from dmesh_dbt.pii import ForbiddenClass, PiiClass
from dmesh_dbt.scan.detect import Suspect
from dmesh_dbt.scan.write import write_classifications

MODELS_YML = """\
# Marts of the shop domain. Keep this comment.
x-types:
  string: &string varchar   # an anchor the columns reuse

models:
  - name: orders
    description: "One row per order."   # quoted on purpose
    columns:
      - name: order_id
        data_type: bigint
      - name: buyer_email      # added in 2024
        data_type: *string
      - name: notes
        config:
          meta: {owner: ops}
  - name: refunds
    description: Refunds.
"""

SOURCES_YML = """\
sources:
    - name: crm
      tables:
          - name: contacts
            columns:
                - name: phone
"""


def suspect(node_id: str, name: str, pii_class: PiiClass | ForbiddenClass, published: bool = False) -> Suspect:
    return Suspect(node_id, None, name, pii_class, 0.9, "email", "name", None, published=published)


def changed_lines(before: str, after: str) -> list[str]:
    """The ndiff lines that differ, ``+``/``-`` prefixed."""
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    return [line.rstrip() for line in diff if line.startswith(("+ ", "- "))]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "_marts.yml").write_text(MODELS_YML)
    (tmp_path / "models" / "sources.yml").write_text(SOURCES_YML)
    (tmp_path / "dbt_project.yml").write_text("name: shop\n")
    return tmp_path


def test_write_adds_only_the_meta_lines_and_keeps_comments_anchors_and_quotes(project: Path) -> None:
    result = write_classifications(
        project,
        [
            suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL),
            suspect("model.shop.orders", "notes", PiiClass.FREE_TEXT),
            suspect("model.shop.refunds", "iban", PiiClass.IBAN),
        ],
    )
    after = (project / "models" / "_marts.yml").read_text()
    assert changed_lines(MODELS_YML, after) == [
        "+         meta: {pii: email}",
        "-           meta: {owner: ops}",
        "+           meta: {owner: ops, pii: free_text}",
        "+     columns:",
        "+       - name: iban",
        "+         meta: {pii: iban}",
    ]
    assert [w.column for w in result.written] == ["buyer_email", "notes", "iban"] and not result.skipped


def test_sources_are_found_by_source_and_table_and_their_indentation_is_kept(project: Path) -> None:
    write_classifications(project, [suspect("source.shop.crm.contacts", "phone", PiiClass.PHONE)])
    after = (project / "models" / "sources.yml").read_text()
    assert changed_lines(SOURCES_YML, after) == ["+                   meta: {pii: phone}"]


def test_forbidden_classes_published_relations_and_undocumented_nodes_are_left_with_a_reason(project: Path) -> None:
    result = write_classifications(
        project,
        [
            suspect("model.shop.orders", "cvv", ForbiddenClass.CVV),
            suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL, published=True),
            suspect("model.shop.shipments", "address", PiiClass.ADDRESS),
        ],
    )
    reasons = [s.reason for s in result.skipped]
    assert "PCI DSS" in reasons[0] and "public model" in reasons[1] and "no YAML documents it" in reasons[2]
    assert (project / "models" / "_marts.yml").read_text() == MODELS_YML
    assert sorted(p.name for p in (project / "models").iterdir()) == ["_marts.yml", "sources.yml"]  # no temp files


def test_invalid_yaml_is_a_config_error_naming_the_file(project: Path) -> None:
    (project / "models" / "_marts.yml").write_text("models: [\n")
    with pytest.raises(ConfigError, match="_marts.yml is not valid YAML"):
        write_classifications(project, [suspect("model.shop.orders", "buyer_email", PiiClass.EMAIL)])


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


def test_findings_below_the_policys_classify_threshold_are_left_to_a_reviewer_with_the_reasons(tmp_path: Path) -> None:
    (tmp_path / "models.yml").write_text(MODELS_YML)
    doubtful = Suspect(
        "model.shop.orders", None, "buyer_email", PiiClass.EMAIL, 0.3, "email", "name", None,
        reasons=("name says email ('email')", "0 of 50 sampled values are email addresses (test data?)"),
    )  # fmt: skip
    result = write_classifications(tmp_path, [doubtful])
    assert result.written == ()
    (skipped,) = result.skipped
    assert "below the mesh policy's `scan.classify` (0.50)" in skipped.reason
    assert "0 of 50 sampled values" in skipped.reason
    assert (tmp_path / "models.yml").read_text() == MODELS_YML

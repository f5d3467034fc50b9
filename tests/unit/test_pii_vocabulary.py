"""One vocabulary: the Python enums, the mesh policy file and the dbt vars the macros read hold the same classes."""

from __future__ import annotations

from dmesh_dbt.masking import dbt_vars
from dmesh_dbt.pii import ForbiddenClass, PiiClass, Strategy, mesh_policy, policy_document


def test_the_enums_name_exactly_the_classes_of_the_mesh_policy() -> None:
    document = policy_document()
    assert set(document["pii_classes"]) == {c.value for c in PiiClass}
    assert set(document["forbidden_classes"]) == {c.value for c in ForbiddenClass}
    assert set(document["pii_classes"].values()) <= {s.value for s in Strategy}


def test_the_macros_vocabulary_carries_every_class_with_its_strategy() -> None:
    classes = dbt_vars()["dmesh_pii_classes"]
    assert classes == {c.value: mesh_policy().default_strategy[c].value for c in PiiClass}


def test_identifiers_are_hashed_so_they_still_join_and_special_categories_are_redacted() -> None:
    strategy = mesh_policy().default_strategy
    identifiers = (PiiClass.HEALTH_ID, PiiClass.VEHICLE_ID, PiiClass.DRIVERS_LICENSE, PiiClass.USERNAME)
    assert {strategy[c] for c in identifiers} == {Strategy.HASH}
    special = (PiiClass.GENDER, PiiClass.AGE, PiiClass.ETHNICITY, PiiClass.USER_AGENT)
    assert {strategy[c] for c in special} == {Strategy.REDACT}
    assert strategy[PiiClass.DATE_OF_DEATH] is Strategy.DATE_YEAR

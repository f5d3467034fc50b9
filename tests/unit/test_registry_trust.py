"""What the registry does with files it did not write: verify, isolate, refuse; and how it recovers from kills."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from dmesh_dbt.errors import RegistryError
from dmesh_dbt.registry import ConsumerRecord, ProductEntry, Registry
from tests.registry_faults import FILES, PRODUCTS, PROJECT, check_every_kill_point

OTHER_PROJECT = "99999999-0000-4000-8000-000000000000"


def published(tmp_path: Path, *domains: str, version: str = "1.0.0") -> Registry:
    registry = Registry.open(str(tmp_path / "registry"))
    for domain in domains:
        registry.publish(domain, version, "team@example.com", PRODUCTS, FILES, f"{domain[:4]:a<8}-project")
    return registry


def marker(registry: Registry, domain: str, version: str = "1.0.0") -> Path:
    return Path(registry.url) / "releases" / domain / version / "RELEASE.json"


def test_every_kill_point_of_a_publish_is_invisible_then_completed_by_a_retry(tmp_path: Path) -> None:
    counter = itertools.count()
    writes = check_every_kill_point(lambda: Registry.open(str(tmp_path / f"r{next(counter)}")))
    assert writes == [
        "ownership claim of payments",
        "file customers.odcs.yaml",
        "file manifest.json",
        "file notes.txt",
        "commit marker",
    ]


def test_the_commit_marker_holds_each_files_digest(tmp_path: Path) -> None:
    registry = published(tmp_path, "payments")
    document = json.loads(marker(registry, "payments").read_text())
    assert set(document["files"]) == set(FILES)
    assert document["files"]["manifest.json"]["size"] == len(FILES["manifest.json"])


def test_a_tampered_file_is_refused_naming_its_entry(tmp_path: Path) -> None:
    registry = published(tmp_path, "payments")
    release = registry.latest_release("payments")
    assert release is not None
    (Path(registry.url) / "releases/payments/1.0.0" / release.digest / "manifest.json").write_bytes(b'{"x": 1}')
    assert registry.read_file(release, "customers.odcs.yaml") == FILES["customers.odcs.yaml"]  # others still read
    with pytest.raises(RegistryError, match=r"^registry entry payments 1\.0\.0 is corrupt: its file manifest\.json"):
        registry.read_file(release, "manifest.json")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(lambda text: "[1, 2]", id="not-an-object"),
        pytest.param(lambda text: text.replace('"payments"', '"refunds"'), id="foreign-domain"),
        pytest.param(lambda text: text.replace('"customers.odcs.yaml"', '"../../x.yaml"', 1), id="traversal"),
        pytest.param(lambda text: text.replace('"name": "customers"', '"name": "{{ env_var(1) }}"'), id="jinja"),
        pytest.param(lambda text: text.replace('"digest": "', '"digest": "0'), id="digest"),
        pytest.param(lambda text: text + " " * 2_000_000, id="oversized"),
    ],
)
def test_a_corrupt_marker_hides_only_its_entry(tmp_path: Path, damage: object) -> None:
    registry = published(tmp_path, "payments", "refunds")
    path = marker(registry, "payments")
    path.write_text(damage(path.read_text()))  # type: ignore[operator]
    listing = registry.listing()
    assert [r.domain for r in listing.releases] == ["refunds"]
    assert [str(c).split(":")[0] for c in listing.corrupt] == ["registry entry payments 1.0.0 is corrupt"]
    with pytest.raises(RegistryError, match=r"registry entry payments 1\.0\.0 is corrupt"):
        registry.find_product("payments", "customers")
    assert registry.find_product("refunds", "customers")[0].domain == "refunds"


def test_a_corrupt_older_release_does_not_hide_a_newer_one(tmp_path: Path) -> None:
    registry = published(tmp_path, "payments")
    registry.publish("payments", "2.0.0", "o", PRODUCTS, FILES | {"v": b"2"}, "paym" + "aaaa-project")
    marker(registry, "payments").write_text("{")
    latest = registry.latest_release("payments")
    assert latest is not None and latest.version == "2.0.0"


def test_a_release_directory_with_an_invalid_name_is_reported_not_followed(tmp_path: Path) -> None:
    registry = published(tmp_path, "payments")
    (Path(registry.url) / "releases" / "Bad Domain" / "1.0.0").mkdir(parents=True)
    (Path(registry.url) / "releases" / "payments" / "1.0 beta").mkdir(parents=True)
    listing = registry.listing()
    assert [r.domain for r in listing.releases] == ["payments"]
    assert len(listing.corrupt) == 2


def test_a_corrupt_consumer_record_is_skipped_and_reported(tmp_path: Path) -> None:
    registry = published(tmp_path, "payments")
    for consumer in ("risk", "fraud"):
        registry.record_consumer(ConsumerRecord(consumer, "payments", "customers", None, ("id",), "now"))
    path = Path(registry.url) / "consumers/payments/customers/fraud.json"
    path.write_text(path.read_text().replace('"fraud"', '"../../etc"'))
    records, corrupt = registry.consumer_scan("payments")
    assert [r.consumer for r in records] == ["risk"]
    assert "registry entry payments.customers consumer 'fraud' is corrupt" in str(corrupt[0])


def test_a_domain_belongs_to_the_project_that_first_published_it(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    registry.publish("payments", "1.0.0", "o", PRODUCTS, FILES, PROJECT)
    with pytest.raises(RegistryError, match=rf"belongs to project {PROJECT}.*registry transfer payments"):
        registry.publish("payments", "1.1.0", "o", PRODUCTS, FILES, OTHER_PROJECT)
    assert registry.release("payments", "1.1.0") is None
    assert registry.transfer_domain("payments", OTHER_PROJECT) == PROJECT
    registry.publish("payments", "1.1.0", "o", PRODUCTS, FILES | {"v": b"1"}, OTHER_PROJECT)
    assert [r.version for r in registry.releases("payments", OTHER_PROJECT)] == ["1.1.0"]
    assert [r.version for r in registry.releases("payments", PROJECT)] == ["1.0.0"]


def test_a_corrupt_ownership_claim_refuses_publishing_until_transferred(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    registry.publish("payments", "1.0.0", "o", PRODUCTS, FILES, PROJECT)
    (tmp_path / "owners" / "payments.json").write_text("{not json")
    with pytest.raises(RegistryError, match=r"registry entry owner of payments is corrupt.*registry transfer"):
        registry.publish("payments", "1.1.0", "o", PRODUCTS, FILES, PROJECT)
    registry.transfer_domain("payments", PROJECT)
    registry.publish("payments", "1.1.0", "o", PRODUCTS, FILES | {"v": b"1"}, PROJECT)


def test_a_release_that_names_a_contract_it_lacks_is_never_written(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    with pytest.raises(RegistryError, match="names contracts it does not hold: other.odcs.yaml"):
        registry.publish("payments", "1.0.0", "o", (ProductEntry("x", None, None, "other.odcs.yaml"),), FILES)
    assert not (tmp_path / "releases").exists()

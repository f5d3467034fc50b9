"""Releases that carry their data: snapshot files streamed in under the release's digest, verified on the way out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dmesh_dbt.errors import RegistryError
from dmesh_dbt.registry import ProductEntry, PublishOutcome, Registry, Release, file_digest, path_digest

PRODUCTS = (
    ProductEntry("customers", None, None, "customers.odcs.yaml", "customers.parquet", 3),
    ProductEntry("payments", None, None, "payments.odcs.yaml", "payments.parquet", 2),
)
FILES = {"customers.odcs.yaml": b"contract c\n", "payments.odcs.yaml": b"contract p\n", "manifest.json": b"{}"}


def snapshots(root: Path, tag: str) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for entry in PRODUCTS:
        assert entry.snapshot is not None
        paths[entry.snapshot] = root / entry.snapshot
        paths[entry.snapshot].write_bytes(f"{entry.name} data {tag}\n".encode() * 100_000)  # several chunks
    return paths


def publish(registry: Registry, tmp_path: Path, tag: str) -> tuple[PublishOutcome, Release]:
    staged = snapshots(tmp_path / f"staging-{tag}", tag)
    return registry.publish("payments", "1.0.0", "team", PRODUCTS, FILES, snapshots=staged)


def test_a_file_digest_read_in_chunks_is_the_digest_of_its_bytes(tmp_path: Path) -> None:
    path = snapshots(tmp_path, "a")["customers.parquet"]
    assert path_digest(path) == file_digest(path.read_bytes())


def test_a_release_stores_its_snapshots_under_its_digest_and_the_marker_lists_them(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path / "registry"))
    staged = snapshots(tmp_path / "staging", "a")
    outcome, release = registry.publish("payments", "1.0.0", "team", PRODUCTS, FILES, snapshots=staged)
    assert outcome is PublishOutcome.PUBLISHED
    stored = tmp_path / "registry" / "releases" / "payments" / "1.0.0" / release.digest / "customers.parquet"
    assert stored.read_bytes() == staged["customers.parquet"].read_bytes()
    assert set(release.files) == {*FILES, "customers.parquet", "payments.parquet"}
    assert release.file_digest("customers.parquet") == path_digest(staged["customers.parquet"])
    read_back = registry.latest_release("payments")  # the marker, parsed strictly, keeps the snapshot fields
    assert read_back is not None and read_back.product("customers") == PRODUCTS[0]


def test_the_digest_covers_the_data_so_other_data_under_one_version_is_refused(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path / "registry"))
    assert publish(registry, tmp_path, "a")[0] is PublishOutcome.PUBLISHED
    assert publish(registry, tmp_path, "a")[0] is PublishOutcome.UNCHANGED
    with pytest.raises(RegistryError, match="already published with different content"):
        publish(registry, tmp_path, "b")


def test_a_release_naming_a_snapshot_it_lacks_is_never_written(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path / "registry"))
    with pytest.raises(RegistryError, match="names snapshots it does not hold: customers.parquet, payments.parquet"):
        registry.publish("payments", "1.0.0", "team", PRODUCTS, FILES, snapshots={})
    assert not (tmp_path / "registry" / "releases").exists()


def test_a_consumer_fetches_a_verified_snapshot(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path / "registry"))
    staged = snapshots(tmp_path / "staging", "a")
    _, release = registry.publish("payments", "1.0.0", "team", PRODUCTS, FILES, snapshots=staged)
    entry = release.product("customers")
    assert entry is not None
    fetched = registry.fetch_snapshot(release, entry, tmp_path / "consumer")
    assert fetched.read_bytes() == staged["customers.parquet"].read_bytes()
    assert [p.name for p in fetched.parent.iterdir()] == ["customers.parquet"]  # no temp file left behind


@pytest.mark.parametrize("stored", [b"customers data with the raw emails\n", b"x" * 10_000_000])
def test_a_tampered_snapshot_is_refused_and_not_left_behind(tmp_path: Path, stored: bytes) -> None:
    registry = Registry.open(str(tmp_path / "registry"))
    _, release = publish(registry, tmp_path, "a")
    path = tmp_path / "registry" / "releases" / "payments" / "1.0.0" / release.digest / "customers.parquet"
    path.write_bytes(stored)  # shorter, or longer than the marker says: the copy stops one byte past its size
    entry = release.product("customers")
    assert entry is not None
    destination = tmp_path / "consumer"
    with pytest.raises(RegistryError, match=r"payments 1\.0\.0 is corrupt: its file customers\.parquet does not"):
        registry.fetch_snapshot(release, entry, destination)
    assert not any(destination.iterdir())


def test_a_marker_whose_snapshot_digest_was_rewritten_is_refused(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path / "registry"))
    _, release = publish(registry, tmp_path, "a")
    stored = tmp_path / "registry" / "releases" / "payments" / "1.0.0" / release.digest / "customers.parquet"
    stored.write_bytes(b"other data\n")
    marker = tmp_path / "registry" / "releases" / "payments" / "1.0.0" / "RELEASE.json"
    document = json.loads(marker.read_text())
    forged = file_digest(b"other data\n")
    document["files"]["customers.parquet"] = {"sha256": forged.sha256, "size": forged.size}
    marker.write_text(json.dumps(document))
    with pytest.raises(RegistryError, match="its content digest does not match its files' digests"):
        registry.release("payments", "1.0.0")


def test_a_release_without_snapshots_says_the_producer_must_publish_again(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path / "registry"))
    plain = (ProductEntry("customers", None, None, "customers.odcs.yaml"),)
    _, release = registry.publish("payments", "1.0.0", "team", plain, {"customers.odcs.yaml": b"c"})
    with pytest.raises(RegistryError, match="has no data snapshot of customers; ask the payments team to publish"):
        registry.fetch_snapshot(release, plain[0], tmp_path / "consumer")

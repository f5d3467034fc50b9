"""The local-directory registry: atomic, idempotent, never overwriting, safe under concurrent publishers."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from dmesh_dbt.errors import RegistryError
from dmesh_dbt.registry import (
    ConsumerRecord,
    LocalBackend,
    ProductEntry,
    PublishOutcome,
    Registry,
    open_backend,
)

PRODUCTS = (
    ProductEntry("customers", "1", "2", "customers.v1.odcs.yaml"),
    ProductEntry("customers", "2", "2", "customers.v2.odcs.yaml"),
    ProductEntry("payments", None, None, "payments.odcs.yaml"),
)


def release_files(tag: str, size: int = 1000) -> dict[str, bytes]:
    """Files whose every byte says which publisher wrote them, so a mixed or truncated read is detectable."""
    return {entry.contract: (tag * size).encode() for entry in PRODUCTS} | {"manifest.json": tag.encode() * size}


def publish(registry: Registry, domain: str, version: str, tag: str) -> PublishOutcome:
    outcome, _ = registry.publish(domain, version, f"{domain}-team@example.com", PRODUCTS, release_files(tag))
    return outcome


def test_a_published_release_reads_back_whole(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path / "registry"))
    assert publish(registry, "payments", "1.0.0", "a") is PublishOutcome.PUBLISHED
    release = registry.latest_release("payments")
    assert release is not None
    assert (release.domain, release.version, release.owner) == (
        "payments",
        "1.0.0",
        "payments-team@example.com",
    )
    assert registry.read_file(release, "manifest.json") == release_files("a")["manifest.json"]
    assert registry.domains() == ["payments"]


def test_publishing_the_same_content_again_is_a_no_op(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    publish(registry, "payments", "1.0.0", "a")
    first = registry.release("payments", "1.0.0")
    assert publish(registry, "payments", "1.0.0", "a") is PublishOutcome.UNCHANGED
    assert registry.release("payments", "1.0.0") == first


def test_a_published_version_is_never_overwritten_with_other_content(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    publish(registry, "payments", "1.0.0", "a")
    with pytest.raises(RegistryError, match=r"payments 1\.0\.0 is already published .* bump `version`"):
        publish(registry, "payments", "1.0.0", "b")
    release = registry.release("payments", "1.0.0")
    assert release is not None
    assert registry.read_file(release, "manifest.json") == release_files("a")["manifest.json"]


def test_releases_sort_by_version_not_by_text(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    for version in ("1.10.0", "1.2.0", "1.9.1"):
        publish(registry, "payments", version, version[-1])
    assert [r.version for r in registry.releases("payments")] == ["1.2.0", "1.9.1", "1.10.0"]
    latest = registry.latest_release("payments")
    assert latest is not None and latest.version == "1.10.0"


def test_find_product_picks_the_latest_model_version_unless_asked(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    publish(registry, "payments", "1.0.0", "a")
    assert registry.find_product("payments", "customers")[1].version == "2"
    assert registry.find_product("payments", "customers", "1")[1].version == "1"
    with pytest.raises(RegistryError, match=r"payments publishes no product customers@7 \(products: customers@1"):
        registry.find_product("payments", "customers", "7")
    with pytest.raises(RegistryError, match=r"domain 'risk' has published nothing .* \(domains: payments\)"):
        registry.find_product("risk", "scores")


def test_unsafe_names_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    with pytest.raises(RegistryError, match=r"invalid version '\.\./x'"):
        registry.publish("payments", "../x", "o", PRODUCTS, release_files("a"))
    assert list(tmp_path.iterdir()) == []


def test_consumers_are_recorded_one_file_each_and_replaced_on_re_consume(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    old = ConsumerRecord("risk", "payments", "customers", "1", ("customer_id", "email"), "2026-11-25T10:00:00+00:00")
    registry.record_consumer(old)
    registry.record_consumer(ConsumerRecord("fraud", "payments", "customers", None, ("customer_id",), "t"))
    registry.record_consumer(ConsumerRecord("risk", "payments", "payments", None, ("amount",), "t"))
    new = ConsumerRecord("risk", "payments", "customers", "1", ("customer_id",), "2026-11-25T11:00:00+00:00")
    registry.record_consumer(new)
    assert sorted(r.consumer for r in registry.consumers("payments", "customers")) == ["fraud", "risk"]
    assert new in registry.consumers("payments") and old not in registry.consumers("payments")
    assert len(registry.consumers("payments")) == 3


class CrashBeforeCommit(LocalBackend):
    """A local backend whose process 'dies' after writing a release's files but before its commit marker."""

    def create(self, key: str, data: bytes) -> bool:
        raise KeyboardInterrupt("simulated crash")


def test_a_publish_that_dies_before_its_commit_leaves_nothing_visible(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        publish(Registry(CrashBeforeCommit(tmp_path)), "payments", "1.0.0", "a")
    registry = Registry.open(str(tmp_path))
    assert registry.release("payments", "1.0.0") is None
    assert registry.releases("payments") == []
    assert publish(registry, "payments", "1.0.0", "b") is PublishOutcome.PUBLISHED


def test_readers_racing_a_publisher_see_nothing_or_the_whole_release(tmp_path: Path) -> None:
    registry = Registry.open(str(tmp_path))
    seen: list[bool] = []
    done = threading.Event()

    def read_until_published() -> None:
        while True:
            publisher_finished = done.is_set()  # read before looking, so the last look follows the publish
            release = registry.release("payments", "1.0.0")
            if release is None:
                seen.append(False)
            else:
                for name in release.files:
                    assert set(registry.read_file(release, name)) == {ord("z")}
                seen.append(True)
            if publisher_finished:
                return

    reader = threading.Thread(target=read_until_published)
    reader.start()
    files = {f"part{i}.json": b"z" * 200_000 for i in range(40)} | {p.contract: b"z" for p in PRODUCTS}
    registry.publish("payments", "1.0.0", "o", PRODUCTS, files)
    done.set()
    reader.join()
    assert seen and seen[-1] is True
    assert seen == sorted(seen)  # once visible, always visible and whole


def _race_publish(root: str, domain: str, version: str, tag: str, barrier: threading.Barrier) -> str:
    registry = Registry.open(root)
    barrier.wait()
    try:
        return str(publish(registry, domain, version, tag))
    except RegistryError as error:
        return f"refused: {error}"


def _run_racers(root: Path, jobs: list[tuple[str, str, str]]) -> list[str]:
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager:
        barrier = manager.Barrier(len(jobs))
        with context.Pool(len(jobs)) as pool:
            return pool.starmap(_race_publish, [(str(root), *job, barrier) for job in jobs])


def test_concurrent_publishes_of_different_domains_and_versions_all_land(tmp_path: Path) -> None:
    jobs = [(domain, f"1.{minor}.0", f"{domain[0]}{minor}") for domain in ("payments", "risk") for minor in range(4)]
    results = _run_racers(tmp_path, jobs)
    assert results == ["published"] * len(jobs)
    registry = Registry.open(str(tmp_path))
    assert registry.domains() == ["payments", "risk"]
    for domain, version, tag in jobs:
        release = registry.release(domain, version)
        assert release is not None
        assert [r.version for r in registry.releases(domain)] == ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
        assert registry.read_file(release, "manifest.json") == release_files(tag)["manifest.json"]


def test_concurrent_publishes_of_one_version_with_different_content_have_one_winner(tmp_path: Path) -> None:
    tags = ["a", "b", "c", "d", "a"]
    results = _run_racers(tmp_path, [("payments", "1.0.0", tag) for tag in tags])
    registry = Registry.open(str(tmp_path))
    release = registry.release("payments", "1.0.0")
    assert release is not None
    winner = chr(registry.read_file(release, "manifest.json")[0])
    for tag, result in zip(tags, results, strict=True):
        if tag == winner:
            assert result in ("published", "unchanged")
        else:
            assert result.startswith("refused: payments 1.0.0 is already published with different content")
    assert results.count("published") == 1
    for name in release.files:
        assert registry.read_file(release, name) == release_files(winner)[name]


def test_urls_pick_their_backend(tmp_path: Path) -> None:
    assert isinstance(open_backend(str(tmp_path)), LocalBackend)
    assert isinstance(open_backend(f"file://{tmp_path}"), LocalBackend)
    assert open_backend(f"file://{tmp_path}").url == str(tmp_path.resolve())


def test_any_fsspec_url_works_the_same_way() -> None:
    registry = Registry.open("memory://registry-unit")
    assert publish(registry, "payments", "1.0.0", "a") is PublishOutcome.PUBLISHED
    assert publish(registry, "payments", "1.0.0", "a") is PublishOutcome.UNCHANGED
    with pytest.raises(RegistryError, match="already published with different content"):
        publish(registry, "payments", "1.0.0", "b")
    assert [r.version for r in registry.releases("payments")] == ["1.0.0"]


def test_an_unknown_url_scheme_names_the_driver_to_install() -> None:
    with pytest.raises(RegistryError, match=r"registry abfs://c/x needs an fsspec driver: Install adlfs"):
        open_backend("abfs://c/x")
    with pytest.raises(RegistryError, match=r"registry nope://x is not a URL fsspec knows"):
        open_backend("nope://x")

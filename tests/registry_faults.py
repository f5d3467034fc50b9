"""Kill a publish between any two of its writes, deterministically, and check that a retry completes it.

Shared by the local-directory tests (tests/unit) and the S3 tests (tests/integration, moto server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from dmesh_dbt import registry as registry_module
from dmesh_dbt.registry import ProductEntry, PublishOutcome, Registry

PRODUCTS = (ProductEntry("customers", None, None, "customers.odcs.yaml"),)
FILES = {"customers.odcs.yaml": b"contract\n", "manifest.json": b'{"nodes": {}}', "notes.txt": b"n"}
PROJECT = "0f1e2d3c-aaaa-bbbb-cccc-123456789abc"


class Killed(BaseException):
    """What the hook raises: like SIGKILL, it is no Exception, so no `except Exception` in the code catches it."""


@contextmanager
def kill_after(count: int) -> Iterator[list[str]]:
    """A publish inside this block dies right after its ``count``-th write; yields the writes it made."""
    writes: list[str] = []

    def hook(what: str) -> None:
        writes.append(what)
        if len(writes) == count:
            raise Killed(what)

    registry_module.after_publish_write = hook
    try:
        yield writes
    finally:
        registry_module.after_publish_write = None


def publish_once(registry: Registry) -> PublishOutcome:
    return registry.publish("payments", "1.0.0", "team@example.com", PRODUCTS, FILES, PROJECT)[0]


def write_count(open_registry: Callable[[], Registry]) -> int:
    """How many writes a first publish makes (the ownership claim, each file, the commit marker)."""
    with kill_after(10_000) as writes:
        publish_once(open_registry())
    return len(writes)


def check_every_kill_point(open_registry: Callable[[], Registry]) -> list[str]:
    """For each write of a publish into a fresh registry: kill right after it, check what readers see, retry.

    ``open_registry`` returns a new, empty registry on each call. Returns the writes, in order, for the caller
    to assert on.
    """
    steps = write_count(open_registry)
    names: list[str] = []
    for step in range(1, steps + 1):
        registry = open_registry()
        with kill_after(step) as writes, suppress(Killed):
            publish_once(registry)
        names.append(writes[-1])
        committed = writes[-1] == "commit marker"
        # Before the marker nothing is visible; after it, the release is whole.
        assert (registry.release("payments", "1.0.0") is not None) is committed, writes
        assert [r.version for r in registry.listing().releases] == (["1.0.0"] if committed else [])
        assert registry.listing().corrupt == ()
        retried = publish_once(registry)
        assert retried is (PublishOutcome.UNCHANGED if committed else PublishOutcome.PUBLISHED), writes
        release = registry.latest_release("payments")
        assert release is not None and release.project_id == PROJECT
        assert {name: registry.read_file(release, name) for name in release.files} == FILES
        assert registry.domain_owner("payments") == PROJECT
    return names

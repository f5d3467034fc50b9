"""The registry on S3, for real: s3fs against moto's S3 server running as a separate process on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml

from dmesh_dbt.errors import RegistryError
from dmesh_dbt.masking import HASH_PATTERN
from dmesh_dbt.registry import ConsumerRecord, FsspecBackend, ProductEntry, PublishOutcome, Registry, open_backend
from tests.consumer_reach import PRODUCER_ENV, consumer_connection, leaks
from tests.engines import LOCALHOST, free_port
from tests.helpers import init_domain, run_cli, run_dbt
from tests.registry_faults import check_every_kill_point

PRODUCTS = (ProductEntry("customers", None, None, "customers.odcs.yaml"),)
BUCKET = "mesh-registry"


def files_of(tag: str) -> dict[str, bytes]:
    return {"customers.odcs.yaml": f"contract {tag}\n".encode(), "manifest.json": f'{{"tag": "{tag}"}}'.encode()}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1, with the AWS environment s3fs and boto3 read."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", LOCALHOST, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://{LOCALHOST}:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    try:
        _wait_until_up(endpoint)
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _wait_until_up(endpoint: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def registry(s3_endpoint: str, request: pytest.FixtureRequest) -> Registry:
    """A registry under its own prefix of the bucket, opened by URL as a user would."""
    return Registry.open(f"s3://{BUCKET}/{request.node.name}")


def test_an_s3_url_opens_the_fsspec_backend(registry: Registry) -> None:
    assert isinstance(registry.backend, FsspecBackend)
    assert registry.url.startswith(f"s3://{BUCKET}/")


def test_publish_and_read_back_over_s3(registry: Registry) -> None:
    outcome, release = registry.publish("payments", "1.0.0", "owner@example.com", PRODUCTS, files_of("a"))
    assert outcome is PublishOutcome.PUBLISHED
    assert registry.domains() == ["payments"]
    assert registry.releases("payments") == [release]
    assert registry.read_file(release, "manifest.json") == b'{"tag": "a"}'
    keys = {
        o["Key"].split("/", 1)[1]
        for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=registry.url.split("/")[3])["Contents"]
    }
    assert keys == {
        f"releases/payments/1.0.0/{release.digest}/customers.odcs.yaml",
        f"releases/payments/1.0.0/{release.digest}/manifest.json",
        "releases/payments/1.0.0/RELEASE.json",
    }


def test_republishing_over_s3_is_idempotent_and_never_overwrites(registry: Registry) -> None:
    registry.publish("payments", "1.0.0", "o", PRODUCTS, files_of("a"))
    assert registry.publish("payments", "1.0.0", "o", PRODUCTS, files_of("a"))[0] is PublishOutcome.UNCHANGED
    with pytest.raises(RegistryError, match="already published with different content"):
        registry.publish("payments", "1.0.0", "o", PRODUCTS, files_of("b"))
    release = registry.release("payments", "1.0.0")
    assert release is not None and registry.read_file(release, "manifest.json") == b'{"tag": "a"}'


def test_a_snapshot_streams_into_s3_and_back_verified(registry: Registry, tmp_path: Path) -> None:
    data = tmp_path / "customers.parquet"
    data.write_bytes(b"PAR1" + bytes(range(256)) * 40_000)  # 10 MB: s3fs uploads it in parts
    entry = ProductEntry("customers", None, None, "customers.odcs.yaml", "customers.parquet", 1)
    _, release = registry.publish("payments", "1.0.0", "o", (entry,), files_of("a"), snapshots={data.name: data})
    (listed,) = release.products
    fetched = registry.fetch_snapshot(release, listed, tmp_path / "consumer")
    assert fetched.read_bytes() == data.read_bytes()
    key = f"{registry.url.split('/', 3)[3]}/releases/payments/1.0.0/{release.digest}/customers.parquet"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"other rows")
    with pytest.raises(RegistryError, match=r"payments 1\.0\.0 is corrupt: its file customers\.parquet does not"):
        registry.fetch_snapshot(release, listed, tmp_path / "other consumer")


def test_the_commit_marker_is_created_exclusively_by_the_server(registry: Registry) -> None:
    backend = registry.backend
    assert backend.create("probe/marker", b"first") is True
    assert backend.create("probe/marker", b"second") is False
    assert backend.read("probe/marker", 100) == b"first"


def _race(url: str, version: str, tag: str, barrier: object) -> str:
    registry = Registry.open(url)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        return str(registry.publish("payments", version, "o", PRODUCTS, files_of(tag))[0])
    except RegistryError as error:
        return f"refused: {error}"


def test_concurrent_publishers_over_s3(registry: Registry) -> None:
    jobs = [("1.0.0", "a"), ("1.0.0", "b"), ("1.0.0", "c"), ("2.0.0", "d"), ("3.0.0", "e")]
    context = multiprocessing.get_context("spawn")  # fresh s3fs clients, as separate CI jobs would have
    with context.Manager() as manager:
        barrier = manager.Barrier(len(jobs))
        with context.Pool(len(jobs)) as pool:
            results = pool.starmap(_race, [(registry.url, v, t, barrier) for v, t in jobs])
    assert results[3:] == ["published", "published"]
    assert results[:3].count("published") == 1
    assert sum(r.startswith("refused: payments 1.0.0 is already published") for r in results[:3]) == 2
    assert [r.version for r in registry.releases("payments")] == ["1.0.0", "2.0.0", "3.0.0"]
    winner = registry.release("payments", "1.0.0")
    assert winner is not None
    winning_tag = jobs[results.index("published")][1]
    assert registry.read_file(winner, "customers.odcs.yaml") == files_of(winning_tag)["customers.odcs.yaml"]


def test_consumers_are_recorded_over_s3(registry: Registry) -> None:
    record = ConsumerRecord("risk", "payments", "customers", None, ("customer_id", "email"), "t")
    registry.record_consumer(record)
    assert registry.consumers("payments") == [record]


def test_a_missing_bucket_is_a_registry_error(s3_endpoint: str) -> None:
    registry = Registry(open_backend("s3://no-such-bucket/registry"))
    with pytest.raises(RegistryError, match="cannot write"):
        registry.publish("payments", "1.0.0", "o", PRODUCTS, files_of("a"))


def test_a_domain_publishes_to_s3_and_another_consumes_from_it(s3_endpoint: str, tmp_path: Path) -> None:
    """The CLI as a user runs it, with the registry URL in DMESH_REGISTRY and moto's endpoint in AWS_ENDPOINT_URL."""
    url = f"s3://{BUCKET}/mesh"
    env = {"DMESH_REGISTRY": url}  # the AWS_* variables come from the fixture's environment
    payments = init_domain(tmp_path, "payments")
    risk = init_domain(tmp_path, "risk", "--no-examples")
    run_dbt(payments, "build", env=PRODUCER_ENV)

    published = run_cli("publish", cwd=payments, env=env)
    assert published.returncode == 0, published.stderr
    assert f"Published payments 1.0.0 to {url}" in published.stdout

    consumed = run_cli("consume", "payments.customers", "--dbt-loom", cwd=risk, env=env)
    assert consumed.returncode == 0, consumed.stderr
    (reference,) = yaml.safe_load((risk / "dbt_loom.config.yml").read_text())["manifests"]
    assert reference["type"] == "s3" and reference["config"]["bucket_name"] == BUCKET
    manifest = boto3.client("s3").get_object(Bucket=BUCKET, Key=reference["config"]["object_name"])["Body"].read()
    assert "model.payments.customers" in json.loads(manifest)["nodes"]

    shown = run_cli("registry", "show", "payments.customers", "--format", "json", cwd=risk, env=env)
    assert shown.returncode == 0, shown.stderr
    assert [c["consumer"] for c in json.loads(shown.stdout)["consumers"]] == ["risk"]

    # The data came from the release's snapshot in the bucket, fetched and verified; risk builds on it alone.
    release = Registry.open(url).latest_release("payments")
    assert release is not None
    key = f"mesh/releases/payments/1.0.0/{release.digest}/customers.parquet"
    assert boto3.client("s3").head_object(Bucket=BUCKET, Key=key)["ContentLength"] > 0
    (risk / "models" / "emails.sql").write_text(
        "select customer_id, email from {{ source('payments', 'customers') }}\n"
    )
    run_dbt(risk, "build", "--select", "emails")
    with consumer_connection(risk) as connection:
        emails = connection.execute("select email from main.emails").fetchall()
    assert emails and all(HASH_PATTERN.fullmatch(email) for (email,) in emails)
    assert leaks(risk, payments) == []


def test_every_kill_point_of_a_publish_over_s3_is_invisible_then_completed(s3_endpoint: str) -> None:
    counter = itertools.count()
    writes = check_every_kill_point(lambda: Registry.open(f"s3://{BUCKET}/kill-points/{next(counter)}"))
    assert writes[0] == "ownership claim of payments" and writes[-1] == "commit marker"


def test_a_tampered_object_is_refused_and_the_rest_keeps_working(registry: Registry) -> None:
    registry.publish("payments", "1.0.0", "o", PRODUCTS, files_of("a"))
    registry.publish("refunds", "1.0.0", "o", PRODUCTS, files_of("a"))
    release = registry.release("payments", "1.0.0")
    assert release is not None
    prefix = registry.url.split("/", 3)[3]
    client = boto3.client("s3")
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/releases/payments/1.0.0/{release.digest}/manifest.json", Body=b"x")
    with pytest.raises(RegistryError, match=r"registry entry payments 1\.0\.0 is corrupt: its file manifest\.json"):
        registry.read_file(release, "manifest.json")
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/releases/payments/1.0.0/RELEASE.json", Body=b"{")
    listing = registry.listing()
    assert [r.domain for r in listing.releases] == ["refunds"]
    assert [c.entry for c in listing.corrupt] == ["payments 1.0.0"]

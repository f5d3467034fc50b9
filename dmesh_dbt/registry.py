"""The data-product registry: published releases of each domain, their contracts and manifests, and consumers.

A registry is addressed by a URL: a local directory (the embedded default) or any fsspec URL (``s3://``,
``gs://``). Storage is one small interface, ``RegistryBackend``, with one class per kind of storage, so no
backend detail leaks into publish or consume; ``Registry.file_location`` tells other tools (dbt-loom) where a
release file is, so no key layout leaks either.

Layout, every file small and written whole::

    releases/<domain>/<version>/RELEASE.json           commit marker: the digest of the release's content
    releases/<domain>/<version>/<digest>/<file>        the release's files (contracts, manifest.json)
    index/<domain>/<version>.json                      one index entry per release (never a shared file)
    consumers/<domain>/<product>/<consumer>.json       one record per consuming domain

Why this shape: object stores have no atomic rename, so a release becomes visible only when its commit marker
is created, exclusively (``If-None-Match: *`` on S3, a hard link on a local disk), after all its files are
written.
Files live under their content digest, so two publishers racing on one version never write into each other's
files, and the marker decides which of them won. Index entries and consumer records are one file per entry, so
concurrent publishes of different domains or versions never rewrite a shared file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from packaging.version import InvalidVersion, Version

from dmesh_dbt.errors import RegistryError
from dmesh_dbt.files import stage_beside, write_atomically

RELEASE_MARKER = "RELEASE.json"

#: Domains, versions, products and file names become keys: keep them to characters safe in any store.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


def check_name(kind: str, value: str) -> str:
    """``value`` if it is safe as part of a registry key, else a RegistryError saying what is allowed."""
    if not _SAFE_NAME.fullmatch(value):
        raise RegistryError(f"invalid {kind} {value!r}: use letters, digits, '_', '.', '+' and '-'")
    return value


class RegistryBackend(ABC):
    """Storage of small files under ``/``-separated keys; every write is atomic."""

    url: str

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None when there are none."""

    @abstractmethod
    def children(self, prefix: str) -> list[str]:
        """Names (not keys) directly under ``prefix``, sorted; empty when there is nothing."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there; readers see the old or the new bytes."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key`` only if nothing is there; False when something already was."""

    @abstractmethod
    def location(self, key: str) -> str:
        """Where a reader outside dmesh-dbt finds ``key``: a local path, or a URL such as ``s3://bucket/key``."""


class LocalBackend(RegistryBackend):
    """A registry in a local directory: ``files.write_atomically`` (temp file + rename) for writes, a hard link
    of a staged file for exclusive creates."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise RegistryError(f"cannot read {key} from registry {self.url}: {error.strerror}") from None

    def children(self, prefix: str) -> list[str]:
        directory = self._path(prefix)
        if not directory.is_dir():
            return []
        return sorted(entry.name for entry in directory.iterdir() if not entry.name.startswith("."))

    def location(self, key: str) -> str:
        return str(self._path(key))

    def _cannot_write(self, error: OSError) -> RegistryError:
        return RegistryError(f"cannot write to registry {self.url}: {error.strerror}; check the path")

    def write(self, key: str, data: bytes) -> None:
        try:
            write_atomically(self._path(key), data)
        except OSError as error:
            raise self._cannot_write(error) from None

    def create(self, key: str, data: bytes) -> bool:
        try:
            staged = stage_beside(self._path(key), data)
        except OSError as error:
            raise self._cannot_write(error) from None
        try:
            # link() fails if the target exists, and the staged file is complete: an atomic exclusive create.
            os.link(staged, self._path(key))
        except FileExistsError:
            return False
        finally:
            staged.unlink()
        return True


class FsspecBackend(RegistryBackend):
    """A registry in object storage through fsspec (``s3://bucket/prefix``, ``gs://bucket/prefix``)."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        import fsspec

        self.url = url.rstrip("/")
        try:
            self.fs, self.base = fsspec.core.url_to_fs(self.url, **dict(storage_options or {}))
        except ImportError as error:
            raise RegistryError(f"registry {url} needs an fsspec driver: {error}") from None
        except ValueError as error:
            raise RegistryError(
                f"registry {url} is not a URL fsspec knows ({error}); use a path, s3:// or gs://"
            ) from None

    def _path(self, key: str) -> str:
        return f"{self.base}/{key}"

    def location(self, key: str) -> str:
        return f"{self.url}/{key}"

    def read(self, key: str) -> bytes | None:
        try:
            data: bytes = self.fs.cat_file(self._path(key))
        except FileNotFoundError:
            return None
        except OSError as error:
            raise RegistryError(f"cannot read {key} from registry {self.url}: {error}") from None
        return data

    def children(self, prefix: str) -> list[str]:
        try:
            entries = self.fs.ls(self._path(prefix), detail=False, refresh=True)
        except FileNotFoundError:
            return []
        return sorted(str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in entries)

    def write(self, key: str, data: bytes) -> None:
        # One PUT of a whole object is atomic on S3 and GCS: readers see the old or the new object.
        try:
            self.fs.pipe_file(self._path(key), data)
        except OSError as error:
            raise RegistryError(f"cannot write {key} to registry {self.url}: {error}") from None

    def create(self, key: str, data: bytes) -> bool:
        try:
            self.fs.pipe_file(self._path(key), data, mode="create")
        except FileExistsError:
            return False
        except (TypeError, NotImplementedError):
            # A driver without exclusive writes: check, then write. Racing publishers of one version could
            # both "win" here; s3fs (If-None-Match) and the local backend (link) have no such window.
            if self.read(key) is not None:
                return False
            self.write(key, data)
        except OSError as error:
            raise RegistryError(f"cannot write {key} to registry {self.url}: {error}") from None
        return True


def open_backend(url: str, storage_options: Mapping[str, Any] | None = None) -> RegistryBackend:
    """The backend for ``url``: a local directory for a path or ``file://`` URL, fsspec for anything else."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        return LocalBackend(Path(urlparse(url).path))
    if len(scheme) <= 1:  # no scheme, or a Windows drive letter
        return LocalBackend(Path(url))
    return FsspecBackend(url, storage_options)


# ----------------------------------------------------------------------------------------------------
# The registry's records


@dataclass(frozen=True)
class ProductEntry:
    """One published product (a public model version) in a release."""

    name: str
    version: str | None
    latest_version: str | None
    contract: str  # file name within the release

    @property
    def ref(self) -> str:
        """``name`` or ``name@version`` as users type it."""
        return self.name if self.version is None else f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Release:
    """One published version of a domain: the index entry."""

    domain: str
    version: str
    digest: str
    published_at: str
    owner: str
    products: tuple[ProductEntry, ...]
    files: tuple[str, ...]

    def product(self, name: str, version: str | None = None) -> ProductEntry | None:
        """The entry of ``name`` at model ``version``; the latest model version when ``version`` is None."""
        candidates = [p for p in self.products if p.name == name]
        if version is not None:
            return next((p for p in candidates if p.version == version), None)
        return next((p for p in candidates if p.version == p.latest_version), candidates[0] if candidates else None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Release:
        products = tuple(ProductEntry(**p) for p in data["products"])
        fields = {k: data[k] for k in ("domain", "version", "digest", "published_at", "owner")}
        return cls(**fields, products=products, files=tuple(data["files"]))


@dataclass(frozen=True)
class ConsumerRecord:
    """A consuming domain's use of a product: which model version and which columns."""

    consumer: str
    domain: str
    product: str
    version: str | None
    columns: tuple[str, ...]
    recorded_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConsumerRecord:
        return cls(**{**data, "columns": tuple(data["columns"])})


class PublishOutcome(StrEnum):
    PUBLISHED = "published"
    UNCHANGED = "unchanged"


def content_digest(files: Mapping[str, bytes]) -> str:
    """A digest of a release's files that does not depend on the order they were given in."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def version_sort_key(version: str) -> tuple[int, Version | str]:
    """PEP 440 versions in release order; anything else after them, alphabetically."""
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dumps(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


class Registry:
    """Publish releases, read them back, and record consumers; storage-agnostic."""

    def __init__(self, backend: RegistryBackend) -> None:
        self.backend = backend

    @classmethod
    def open(cls, url: str, storage_options: Mapping[str, Any] | None = None) -> Registry:
        return cls(open_backend(url, storage_options))

    @property
    def url(self) -> str:
        return self.backend.url

    # -- publishing ------------------------------------------------------------------------------------------

    def publish(
        self,
        domain: str,
        version: str,
        owner: str,
        products: tuple[ProductEntry, ...],
        files: Mapping[str, bytes],
    ) -> tuple[PublishOutcome, Release]:
        """Publish ``files`` as ``version`` of ``domain``: atomically, idempotently, never overwriting."""
        check_name("domain", domain)
        check_name("version", version)
        for name in files:
            check_name("file name", name)
        digest = content_digest(files)
        existing = self.release(domain, version)
        if existing is not None:
            return self._same_release_or_refuse(existing, digest), existing
        for name, data in files.items():
            self.backend.write(f"releases/{domain}/{version}/{digest}/{name}", data)  # as _release_key
        release = Release(domain, version, digest, now_utc(), owner, products, tuple(sorted(files)))
        if not self.backend.create(f"releases/{domain}/{version}/{RELEASE_MARKER}", _dumps(release.to_json())):
            # Another publisher committed this version between our check and our commit.
            winner = self.release(domain, version)
            assert winner is not None
            return self._same_release_or_refuse(winner, digest), winner
        self.backend.write(f"index/{domain}/{version}.json", _dumps(release.to_json()))
        return PublishOutcome.PUBLISHED, release

    @staticmethod
    def _same_release_or_refuse(existing: Release, digest: str) -> PublishOutcome:
        if existing.digest == digest:
            return PublishOutcome.UNCHANGED
        raise RegistryError(
            f"{existing.domain} {existing.version} is already published with different content; "
            "a published version never changes: bump `version` in dbt_project.yml and publish again"
        )

    # -- reading ---------------------------------------------------------------------------------------------

    def release(self, domain: str, version: str) -> Release | None:
        """The committed release ``version`` of ``domain``, or None."""
        data = self.backend.read(f"releases/{domain}/{version}/{RELEASE_MARKER}")
        return None if data is None else Release.from_json(json.loads(data))

    def domains(self) -> list[str]:
        return self.backend.children("index")

    def releases(self, domain: str) -> list[Release]:
        """Every indexed release of ``domain``, oldest first."""
        names = [n.removesuffix(".json") for n in self.backend.children(f"index/{domain}") if n.endswith(".json")]
        entries = (self.backend.read(f"index/{domain}/{name}.json") for name in names)
        found = [Release.from_json(json.loads(data)) for data in entries if data is not None]
        return sorted(found, key=lambda r: version_sort_key(r.version))

    def latest_release(self, domain: str) -> Release | None:
        found = self.releases(domain)
        return found[-1] if found else None

    @staticmethod
    def _release_key(release: Release, name: str) -> str:
        return f"releases/{release.domain}/{release.version}/{release.digest}/{name}"

    def file_location(self, release: Release, name: str) -> str:
        """Where a tool other than dmesh-dbt (dbt-loom) reads a file of a committed release: a local path or a URL."""
        return self.backend.location(self._release_key(release, name))

    def read_file(self, release: Release, name: str) -> bytes:
        """A file of a committed release."""
        data = self.backend.read(self._release_key(release, name))
        if data is None:
            raise RegistryError(f"{release.domain} {release.version} in {self.url} has no file {name}")
        return data

    def find_product(self, domain: str, product: str, version: str | None = None) -> tuple[Release, ProductEntry]:
        """The latest release of ``domain`` that has ``product`` (at model ``version``), with its entry."""
        releases = self.releases(domain)
        if not releases:
            known = ", ".join(self.domains()) or "none"
            raise RegistryError(f"domain {domain!r} has published nothing to {self.url} (domains: {known})")
        for release in reversed(releases):
            entry = release.product(product, version)
            if entry is not None:
                return release, entry
        wanted = product if version is None else f"{product}@{version}"
        known = ", ".join(p.ref for p in releases[-1].products)
        raise RegistryError(f"{domain} publishes no product {wanted} (products: {known})")

    # -- consumers -------------------------------------------------------------------------------------------

    def record_consumer(self, record: ConsumerRecord) -> None:
        for kind, value in (
            ("domain", record.domain),
            ("product", record.product),
            ("consumer", record.consumer),
        ):
            check_name(kind, value)
        self.backend.write(
            f"consumers/{record.domain}/{record.product}/{record.consumer}.json", _dumps(record.to_json())
        )

    def consumers(self, domain: str, product: str | None = None) -> list[ConsumerRecord]:
        """Every recorded consumer of ``domain`` (or of one of its products)."""
        products = [product] if product is not None else self.backend.children(f"consumers/{domain}")
        records = []
        for name in products:
            for entry in self.backend.children(f"consumers/{domain}/{name}"):
                data = self.backend.read(f"consumers/{domain}/{name}/{entry}")
                if data is not None and entry.endswith(".json"):
                    records.append(ConsumerRecord.from_json(json.loads(data)))
        return records

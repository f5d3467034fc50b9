"""The data-product registry: published releases of each domain, their contracts and manifests, and consumers.

A registry is addressed by a URL: a local directory (the embedded default) or any fsspec URL (``s3://``,
``gs://``). Storage is one small interface, ``RegistryBackend``, with one class per kind of storage, so no
backend detail leaks into publish or consume; ``Registry.file_location`` tells other tools (dbt-loom) where a
release file is, so no key layout leaks either.

Layout, every file written whole::

    owners/<domain>.json                               the project id that owns the domain (first publisher)
    releases/<domain>/<version>/RELEASE.json           commit marker: each file's sha256 and size, and the
                                                       release's content digest over them
    releases/<domain>/<version>/<digest>/<file>        the release's files (contracts, manifest.json, and from
                                                       DuckDB a Parquet snapshot of each product's data)
    consumers/<domain>/<product>/<consumer>.json       one record per consuming domain

Why this shape: object stores have no atomic rename, so a release becomes visible only when its commit marker
is created, exclusively (``If-None-Match: *`` on S3, a hard link on a local disk), after all its files are
written. The markers are the only truth: listing a domain reads its markers, so no index can be left behind by
a crash, and a publish stopped at any point is completed by running it again.
Files live under their content digest, so two publishers racing on one version never write into each other's
files, and the marker decides which of them won. Consumer records are one file per entry, so concurrent
consumes never rewrite a shared file.

Everything read back is untrusted: markers and records are parsed strictly with their names checked by the
rules user input follows (``identifiers``), and every file is verified against the digest its marker records
before anyone uses it. A file that fails makes only its entry unreadable (``CorruptEntry``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlparse

from packaging.version import InvalidVersion, Version

from dmesh_dbt.errors import RegistryError
from dmesh_dbt.files import COPY_CHUNK, copy_atomically, read_at_most, stage_beside, write_atomically
from dmesh_dbt.identifiers import InvalidName, NameKind, is_valid, valid_name

RELEASE_MARKER = "RELEASE.json"


def check_name(kind: NameKind, value: str) -> str:
    """``value`` if it follows ``kind``'s rule (so it is safe in a key), else a RegistryError saying what is."""
    try:
        return valid_name(kind, value)
    except InvalidName as error:
        raise RegistryError(str(error)) from None


class RegistryBackend(ABC):
    """Storage of small files under ``/``-separated keys; every write is atomic."""

    url: str

    @abstractmethod
    def read(self, key: str, limit: int) -> bytes | None:
        """The bytes stored under ``key`` (at most ``limit + 1`` of them), or None when there are none.

        The limit keeps a hostile registry (a huge object, a symlink to ``/dev/zero``) from exhausting memory:
        a caller seeing more than ``limit`` bytes knows the entry is not what it should be.
        """

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

    @abstractmethod
    def upload(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key``, streamed (never whole in memory); atomic like ``write``."""

    @abstractmethod
    def download(self, key: str, destination: Path, limit: int) -> bool:
        """Copy what is stored under ``key`` (at most ``limit + 1`` bytes, as ``read``) to ``destination``,
        streamed; False when nothing is there."""


class LocalBackend(RegistryBackend):
    """A registry in a local directory: ``files.write_atomically`` (temp file + rename) for writes, a hard link
    of a staged file for exclusive creates."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.url = str(self.root)
        if self.root.exists() and not self.root.is_dir():
            raise RegistryError(f"registry {self.url} is a file, not a directory; pass the registry's directory")

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def read(self, key: str, limit: int) -> bytes | None:
        try:
            with self._path(key).open("rb") as handle:
                return read_at_most(handle, limit)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise RegistryError(f"cannot read {key} from registry {self.url}: {error.strerror}") from None

    def children(self, prefix: str) -> list[str]:
        directory = self._path(prefix)
        try:
            if not directory.is_dir():
                return []
            return sorted(entry.name for entry in directory.iterdir() if not entry.name.startswith("."))
        except OSError as error:
            raise RegistryError(f"cannot list {prefix} in registry {self.url}: {error.strerror}") from None

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
        except OSError as error:
            raise self._cannot_write(error) from None
        finally:
            staged.unlink(missing_ok=True)
        return True

    def upload(self, key: str, source: Path) -> None:
        try:
            copy_atomically(source, self._path(key))
        except OSError as error:
            raise self._cannot_write(error) from None

    def download(self, key: str, destination: Path, limit: int) -> bool:
        try:
            with self._path(key).open("rb") as stream:
                _copy_at_most(stream, destination, limit + 1)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise RegistryError(f"cannot read {key} from registry {self.url}: {error.strerror}") from None
        return True


class FsspecBackend(RegistryBackend):
    """A registry in object storage through fsspec (``s3://bucket/prefix``, ``gs://bucket/prefix``)."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        import fsspec

        self.url = url.rstrip("/")
        try:
            # A fresh client per registry: fsspec's cache would keep the endpoint and credentials the
            # environment had when the first client for this URL was made.
            options = {"skip_instance_cache": True, **dict(storage_options or {})}
            self.fs, self.base = fsspec.core.url_to_fs(self.url, **options)
        except ImportError as error:
            raise RegistryError(f"registry {url} needs an fsspec driver: {error}") from None
        except ValueError as error:
            raise RegistryError(
                f"registry {url} is not a URL fsspec knows ({error}); use a path, s3:// or gs://"
            ) from None
        except Exception as error:  # drivers that connect on open (ftp, sftp) raise their own types
            raise self._unreachable(error) from None

    def _unreachable(self, error: BaseException, action: str = "reach") -> RegistryError:
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        return RegistryError(f"cannot {action} registry {self.url} ({detail}); check the URL, network and credentials")

    def _path(self, key: str) -> str:
        return f"{self.base}/{key}"

    def location(self, key: str) -> str:
        return f"{self.url}/{key}"

    def read(self, key: str, limit: int) -> bytes | None:
        try:
            data: bytes = self.fs.cat_file(self._path(key), start=0, end=limit + 1)
        except FileNotFoundError:
            return None
        except Exception as error:  # each driver has its own errors (botocore's are not OSError)
            raise self._unreachable(error, f"read {key} from") from None
        return data

    def children(self, prefix: str) -> list[str]:
        try:
            entries = self.fs.ls(self._path(prefix), detail=False, refresh=True)
        except FileNotFoundError:
            return []
        except Exception as error:  # each driver has its own errors (botocore's are not OSError)
            raise self._unreachable(error) from None
        return sorted(str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in entries)

    def write(self, key: str, data: bytes) -> None:
        # One PUT of a whole object is atomic on S3 and GCS: readers see the old or the new object.
        try:
            self.fs.pipe_file(self._path(key), data)
        except Exception as error:  # each driver has its own errors (botocore's are not OSError)
            raise self._unreachable(error, f"write {key} to") from None

    def create(self, key: str, data: bytes) -> bool:
        try:
            self.fs.pipe_file(self._path(key), data, mode="create")
        except FileExistsError:
            return False
        except (TypeError, NotImplementedError):
            # A driver without exclusive writes: check, then write. Racing publishers of one version could
            # both "win" here; s3fs (If-None-Match) and the local backend (link) have no such window.
            if self.read(key, 0) is not None:
                return False
            self.write(key, data)
        except RegistryError:
            raise
        except Exception as error:  # each driver has its own errors (botocore's are not OSError)
            raise self._unreachable(error, f"write {key} to") from None
        return True

    def upload(self, key: str, source: Path) -> None:
        # s3fs and gcsfs upload a large file in parts; the object appears whole when the upload completes.
        try:
            self.fs.put_file(str(source), self._path(key))
        except Exception as error:  # each driver has its own errors (botocore's are not OSError)
            raise self._unreachable(error, f"write {key} to") from None

    def download(self, key: str, destination: Path, limit: int) -> bool:
        try:
            with self.fs.open(self._path(key), "rb") as stream:
                _copy_at_most(stream, destination, limit + 1)
        except FileNotFoundError:
            return False
        except Exception as error:  # each driver has its own errors (botocore's are not OSError)
            raise self._unreachable(error, f"read {key} from") from None
        return True


def _copy_at_most(stream: BinaryIO, destination: Path, limit: int) -> None:
    """Copy up to ``limit`` bytes of ``stream`` to ``destination`` in chunks: a hostile registry's endless
    object (a symlink to ``/dev/zero``) stops at the limit, and a large one never sits in memory."""
    with destination.open("wb") as out:
        while limit > 0 and (chunk := stream.read(min(COPY_CHUNK, limit))):
            out.write(chunk)
            limit -= len(chunk)


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
    #: The published relation's data as Parquet (file name within the release) and its row count: a release
    #: pins data as well as contracts. None for releases of same-warehouse targets, and older ones.
    snapshot: str | None = None
    rows: int | None = None

    @property
    def ref(self) -> str:
        """``name`` or ``name@version`` as users type it."""
        return self.name if self.version is None else f"{self.name}@{self.version}"


@dataclass(frozen=True)
class FileDigest:
    """What the commit marker promises about one file of a release, so each file is verified on its own."""

    sha256: str
    size: int


@dataclass(frozen=True)
class BuiltWith:
    """The toolkit a release was built with: the domain's template version and its `dmesh` dbt package version.

    Recorded in the commit marker beside the file digests, outside the content digest: it describes the build,
    not the release's content, so the same content republished by a newer toolkit is still the same release.
    None where a version is unknown (a project not made from the template, a marker from before this field).
    """

    template: str | None = None
    dmesh_package: str | None = None

    def behind(self, current: str) -> list[str]:
        """What is older than version ``current`` (e.g. ``["template 0.1.0"]``); unknown versions count as behind."""
        return [
            f"{what} {version or 'unknown'}"
            for what, version in (("template", self.template), ("dmesh package", self.dmesh_package))
            if version is None or Version(version) < Version(current)
        ]


@dataclass(frozen=True)
class Release:
    """One committed version of a domain, as its commit marker records it."""

    domain: str
    version: str
    digest: str
    published_at: str
    owner: str
    products: tuple[ProductEntry, ...]
    files: tuple[str, ...]
    file_digests: tuple[tuple[str, FileDigest], ...] = ()
    project_id: str | None = None  # the publishing project (dmesh.yml `project_id`)
    built_with: BuiltWith | None = None

    def product(self, name: str, version: str | None = None) -> ProductEntry | None:
        """The entry of ``name`` at model ``version``; the latest model version when ``version`` is None."""
        candidates = [p for p in self.products if p.name == name]
        if version is not None:
            return next((p for p in candidates if p.version == version), None)
        return next((p for p in candidates if p.version == p.latest_version), candidates[0] if candidates else None)

    def file_digest(self, name: str) -> FileDigest | None:
        return dict(self.file_digests).get(name)

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["files"] = {name: asdict(digest) for name, digest in self.file_digests}
        del document["file_digests"]
        if self.built_with is None:  # a marker without it reads as before
            del document["built_with"]
        return document


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


@dataclass(frozen=True)
class CorruptEntry:
    """A registry file that failed verification: only its entry is unreadable, the rest of the registry works."""

    entry: str  # "payments 1.0.0", "payments.customers consumer risk", "owner of payments"
    key: str
    reason: str

    def __str__(self) -> str:
        return f"registry entry {self.entry} is corrupt: {self.reason} ({self.key})"


@dataclass(frozen=True)
class RegistryListing:
    """The latest readable release of every domain, and the entries that could not be read."""

    releases: tuple[Release, ...]
    corrupt: tuple[CorruptEntry, ...]


_Parsed = TypeVar("_Parsed")

#: ``Registry.releases(domain)`` without a project id: every project's releases.
ANY_PROJECT = "*"


class PublishOutcome(StrEnum):
    PUBLISHED = "published"
    UNCHANGED = "unchanged"


class _Corrupt(Exception):
    """Raised inside the validators below; the reader turns it into a CorruptEntry naming the file."""


def file_digest(data: bytes) -> FileDigest:
    return FileDigest(hashlib.sha256(data).hexdigest(), len(data))


def stream_digest(chunks: Iterable[bytes]) -> FileDigest:
    """The digest of a large file read in chunks, never held in memory whole (Parquet snapshots)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return FileDigest(digest.hexdigest(), size)


def path_digest(path: Path) -> FileDigest:
    """The digest of the file at ``path``, read in chunks."""
    with path.open("rb") as stream:
        return stream_digest(iter(lambda: stream.read(COPY_CHUNK), b""))


def release_digest(files: Mapping[str, FileDigest]) -> str:
    """The release's content digest, from its files' digests, independent of their order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + bytes.fromhex(files[name].sha256))
    return digest.hexdigest()


def content_digest(files: Mapping[str, bytes]) -> str:
    """A digest of a release's files that does not depend on the order they were given in."""
    return release_digest({name: file_digest(data) for name, data in files.items()})


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


# ------------------------------------------------------------------------------------------- reading records
# Every file read from a registry is untrusted: its size is bounded, its JSON parsed strictly, every field
# typed, every name checked with the rule user input follows, and it must describe the key it is stored under.

#: Commit markers, ownership claims and consumer records are small; anything bigger is not ours.
MAX_RECORD_BYTES = 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_TEXT = 4096


def _load_record(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_RECORD_BYTES:
        raise _Corrupt(f"{len(data)} bytes, more than a registry record ever holds")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise _Corrupt(f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise _Corrupt("not a JSON object")
    return document


def _text(document: Mapping[str, Any], key: str, optional: bool = False) -> Any:
    value = document.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT or any(ord(c) < 32 for c in value):
        raise _Corrupt(f"`{key}` is missing or not a one-line text")
    return value


def _name(kind: NameKind, document: Mapping[str, Any], key: str, optional: bool = False) -> Any:
    value = document.get(key)
    if value is None and optional:
        return None
    try:
        return valid_name(kind, value)
    except InvalidName as error:
        raise _Corrupt(f"`{key}`: {error}") from None


def _same(found: str, expected: str, what: str) -> None:
    if found != expected:
        raise _Corrupt(f"it names {what} {found!r} but is stored as {expected!r}")


def _product_entry(document: object) -> ProductEntry:
    if not isinstance(document, dict):
        raise _Corrupt("a product entry is not an object")
    rows = document.get("rows")
    if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
        raise _Corrupt("a product entry's `rows` is not a count")
    return ProductEntry(
        name=_name(NameKind.PRODUCT, document, "name"),
        version=_name(NameKind.MODEL_VERSION, document, "version", optional=True),
        latest_version=_name(NameKind.MODEL_VERSION, document, "latest_version", optional=True),
        contract=_name(NameKind.FILE_NAME, document, "contract"),
        snapshot=_name(NameKind.FILE_NAME, document, "snapshot", optional=True),
        rows=rows,
    )


def _file_digests(document: object) -> dict[str, FileDigest]:
    if not isinstance(document, dict) or not document:
        raise _Corrupt("`files` is not an object of per-file digests (a marker from an older dmesh-dbt?)")
    digests = {}
    for name, entry in document.items():
        valid = isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and _HEX64.fullmatch(entry["sha256"])
        if not valid or not isinstance(entry.get("size"), int) or entry["size"] < 0:
            raise _Corrupt(f"file {name!r} has no sha256 and size")
        digests[_name(NameKind.FILE_NAME, {"file": name}, "file")] = FileDigest(entry["sha256"], entry["size"])
    return digests


def _built_with(document: object) -> BuiltWith | None:
    if document is None:
        return None
    if not isinstance(document, dict):
        raise _Corrupt("`built_with` is not an object")
    versions = {key: _text(document, key, optional=True) for key in ("template", "dmesh_package")}
    for key, value in versions.items():
        if value is not None and version_sort_key(value)[0] != 0:
            raise _Corrupt(f"`built_with.{key}` {value!r} is not a version")
    return BuiltWith(**versions)


def release_from_marker(data: bytes, domain: str, version: str) -> Release:
    """The release a commit marker stored at ``releases/<domain>/<version>/`` records; _Corrupt otherwise."""
    document = _load_record(data)
    _same(_name(NameKind.DOMAIN, document, "domain"), domain, "domain")
    _same(_name(NameKind.RELEASE_VERSION, document, "version"), version, "version")
    files = _file_digests(document.get("files"))
    digest = _text(document, "digest")
    if digest != release_digest(files):
        raise _Corrupt("its content digest does not match its files' digests")
    products_document = document.get("products")
    if not isinstance(products_document, list) or len(products_document) > 10_000:
        raise _Corrupt("`products` is not a list")
    products = tuple(_product_entry(p) for p in products_document)
    unknown = [name for p in products for name in (p.contract, p.snapshot) if name and name not in files]
    if unknown:
        raise _Corrupt(f"products name files it does not hold: {', '.join(unknown[:3])}")
    return Release(
        domain=domain,
        version=version,
        digest=digest,
        published_at=_text(document, "published_at"),
        owner=_text(document, "owner"),
        products=products,
        files=tuple(sorted(files)),
        file_digests=tuple(sorted(files.items())),
        project_id=_name(NameKind.PROJECT_ID, document, "project_id", optional=True),
        built_with=_built_with(document.get("built_with")),
    )


def consumer_from_json(data: bytes, consumer: str, domain: str, product: str) -> ConsumerRecord:
    """A consumer record stored at ``consumers/<domain>/<product>/<consumer>.json``; _Corrupt otherwise."""
    document = _load_record(data)
    _same(_name(NameKind.DOMAIN, document, "consumer"), consumer, "consumer")
    _same(_name(NameKind.DOMAIN, document, "domain"), domain, "domain")
    _same(_name(NameKind.PRODUCT, document, "product"), product, "product")
    columns = document.get("columns")
    if not isinstance(columns, list) or len(columns) > 100_000:
        raise _Corrupt("`columns` is not a list")
    return ConsumerRecord(
        consumer=consumer,
        domain=domain,
        product=product,
        version=_name(NameKind.MODEL_VERSION, document, "version", optional=True),
        columns=tuple(_name(NameKind.COLUMN, {"column": c}, "column") for c in columns),
        recorded_at=_text(document, "recorded_at"),
    )


# ------------------------------------------------------------------------------------------ fault injection

#: Called with a description of each write ``Registry.publish`` has just completed: tests set it to stop a
#: publish deterministically between any two writes, as a kill would.
after_publish_write: Callable[[str], None] | None = None

#: ``DMESH_REGISTRY_KILL_AFTER=N`` ends the process (exit 137, as SIGKILL) right after publish's N-th write,
#: for end-to-end tests of the CLI.
KILL_AFTER_ENV = "DMESH_REGISTRY_KILL_AFTER"


def _written(step: int, what: str) -> None:
    if after_publish_write is not None:
        after_publish_write(what)
    if os.environ.get(KILL_AFTER_ENV) == str(step):
        os._exit(137)


# -------------------------------------------------------------------------------------------------- registry


class Registry:
    """Publish releases, read them back verified, record consumers and domain owners; storage-agnostic.

    The commit markers are the truth: the releases of a domain are the versions that have one, read and
    verified on every listing, so there is no index a crash could leave behind or out of step.
    """

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
        project_id: str | None = None,
        snapshots: Mapping[str, Path] | None = None,
        built_with: BuiltWith | None = None,
    ) -> tuple[PublishOutcome, Release]:
        """Publish ``files`` as ``version`` of ``domain``: atomically, idempotently, never overwriting.

        ``snapshots`` are large local files (the products' Parquet data), hashed and copied in chunks, never
        held in memory; the release's digest covers them like every other file.
        Writes, in order: the domain's ownership claim (first publish only), each file under the content
        digest, then the commit marker, created exclusively. A publish stopped between any two writes leaves
        nothing visible, and running it again completes it.
        """
        snapshots = snapshots or {}
        check_name(NameKind.DOMAIN, domain)
        check_name(NameKind.RELEASE_VERSION, version)
        for name in [*files, *snapshots]:
            check_name(NameKind.FILE_NAME, name)
        for kind, missing in (
            ("contracts", [p.contract for p in products if p.contract not in files]),
            ("snapshots", [p.snapshot for p in products if p.snapshot is not None and p.snapshot not in snapshots]),
        ):
            if missing:
                raise RegistryError(f"{domain} {version} names {kind} it does not hold: {', '.join(missing)}")
        digests = {name: file_digest(data) for name, data in files.items()}
        digests |= {name: path_digest(path) for name, path in snapshots.items()}
        digest = release_digest(digests)
        if project_id is not None:
            self.claim_domain(domain, project_id)
        existing = self._committed(domain, version)
        if existing is not None:
            return self._same_release_or_refuse(existing, digest), existing
        step = 1
        for name in sorted(digests):
            key = f"releases/{domain}/{version}/{digest}/{name}"
            if name in files:
                self.backend.write(key, files[name])
            else:
                self.backend.upload(key, snapshots[name])
            _written(step, f"file {name}")
            step += 1
        release = Release(
            domain,
            version,
            digest,
            now_utc(),
            owner,
            products,
            tuple(sorted(digests)),
            tuple(sorted(digests.items())),
            project_id,
            built_with,
        )
        committed = self.backend.create(self._marker_key(domain, version), _dumps(release.to_json()))
        _written(step, "commit marker")
        if not committed:
            # Another publisher committed this version between our check and our commit.
            winner = self._committed(domain, version)
            if winner is None:
                raise RegistryError(f"{domain} {version} vanished from {self.url} while publishing; publish again")
            return self._same_release_or_refuse(winner, digest), winner
        return PublishOutcome.PUBLISHED, release

    @staticmethod
    def _same_release_or_refuse(existing: Release, digest: str) -> PublishOutcome:
        if existing.digest == digest:
            return PublishOutcome.UNCHANGED
        raise RegistryError(
            f"{existing.domain} {existing.version} is already published with different content; "
            "a published version never changes: bump `version` in dbt_project.yml and publish again"
        )

    # -- domain ownership ------------------------------------------------------------------------------------

    @staticmethod
    def _owner_key(domain: str) -> str:
        return f"owners/{domain}.json"

    def domain_owner(self, domain: str) -> str | None:
        """The project id that owns ``domain`` in this registry, or None before its first publish."""
        data = self.backend.read(self._owner_key(domain), MAX_RECORD_BYTES)
        if data is None:
            return None
        try:
            document = _load_record(data)
            _same(_name(NameKind.DOMAIN, document, "domain"), domain, "domain")
            owner: str = _name(NameKind.PROJECT_ID, document, "project_id")
        except _Corrupt as error:
            raise RegistryError(
                f"{CorruptEntry(f'owner of {domain}', self._owner_key(domain), str(error))}; "
                f"the platform restores it with `dmesh-dbt registry transfer {domain} --to-project-id ID`"
            ) from None
        return owner

    def claim_domain(self, domain: str, project_id: str) -> None:
        """Make ``project_id`` the owner of ``domain`` if nobody is; refuse if another project is."""
        check_name(NameKind.PROJECT_ID, project_id)
        claim = _dumps({"domain": domain, "project_id": project_id, "claimed_at": now_utc()})
        if self.domain_owner(domain) is None and self.backend.create(self._owner_key(domain), claim):
            _written(0, f"ownership claim of {domain}")
            return
        owner = self.domain_owner(domain)
        if owner != project_id:
            raise RegistryError(
                f"domain {domain} in {self.url} belongs to project {owner}, not this project ({project_id}); "
                f"rename `domain:` in dmesh.yml, or have the platform run "
                f"`dmesh-dbt registry transfer {domain} --to-project-id {project_id}`"
            )

    def transfer_domain(self, domain: str, project_id: str) -> str | None:
        """Give ``domain`` to ``project_id`` (a platform decision); the previous owner, if any."""
        check_name(NameKind.DOMAIN, domain)
        check_name(NameKind.PROJECT_ID, project_id)
        try:
            previous = self.domain_owner(domain)
        except RegistryError:
            previous = None  # a corrupt claim is exactly what a transfer repairs
        claim = {"domain": domain, "project_id": project_id, "claimed_at": now_utc(), "transferred_from": previous}
        self.backend.write(self._owner_key(domain), _dumps(claim))
        return previous

    # -- reading ---------------------------------------------------------------------------------------------

    @staticmethod
    def _marker_key(domain: str, version: str) -> str:
        return f"releases/{domain}/{version}/{RELEASE_MARKER}"

    def _read_marker(self, domain: str, version: str) -> Release | CorruptEntry | None:
        key = self._marker_key(domain, version)
        data = self.backend.read(key, MAX_RECORD_BYTES)
        if data is None:
            return None
        try:
            return release_from_marker(data, domain, version)
        except _Corrupt as error:
            return CorruptEntry(f"{domain} {version}", key, str(error))

    def _committed(self, domain: str, version: str) -> Release | None:
        found = self._read_marker(domain, version)
        if isinstance(found, CorruptEntry):
            raise RegistryError(f"{found}; the platform must restore or delete it")
        return found

    def release(self, domain: str, version: str) -> Release | None:
        """The committed release ``version`` of ``domain``, or None; RegistryError if its marker is corrupt."""
        if not is_valid(NameKind.DOMAIN, domain) or not is_valid(NameKind.RELEASE_VERSION, version):
            return None
        return self._committed(domain, version)

    def domains(self) -> list[str]:
        """The domains with anything under ``releases/`` (whose names are valid domain names)."""
        return [name for name in self.backend.children("releases") if is_valid(NameKind.DOMAIN, name)]

    def scan(self, domain: str) -> tuple[list[Release], list[CorruptEntry]]:
        """Every committed release of ``domain``, oldest first, and the entries that failed verification.

        A version directory without a marker is a publish that has not committed (or died): not a release.
        """
        check_name(NameKind.DOMAIN, domain)
        releases: list[Release] = []
        corrupt: list[CorruptEntry] = []
        for version in self.backend.children(f"releases/{domain}"):
            if not is_valid(NameKind.RELEASE_VERSION, version):
                corrupt.append(CorruptEntry(f"{domain} {version!r}", f"releases/{domain}", "not a valid version"))
                continue
            found = self._read_marker(domain, version)
            if isinstance(found, Release):
                releases.append(found)
            elif found is not None:
                corrupt.append(found)
        releases.sort(key=lambda r: version_sort_key(r.version))
        return releases, corrupt

    def releases(self, domain: str, project_id: str | None = ANY_PROJECT) -> list[Release]:
        """The verified releases of ``domain``, oldest first: every one, or only those ``project_id`` published
        (None: those published without a project id, by a dmesh-dbt before ownership).

        Fails closed: a corrupt entry newer than the newest readable release raises RegistryError, since what
        it hides may be the release a reader is after.
        """
        releases, corrupt = self.scan(domain)
        if project_id != ANY_PROJECT:
            releases = [r for r in releases if r.project_id == project_id]
        newest = version_sort_key(releases[-1].version) if releases else None
        for entry in corrupt:
            version = entry.entry.split(" ", 1)[1]
            if newest is None or version_sort_key(version.strip("'")) >= newest:
                raise RegistryError(f"{entry}; the platform must restore or delete it")
        return releases

    def latest_release(self, domain: str, project_id: str | None = ANY_PROJECT) -> Release | None:
        found = self.releases(domain, project_id)
        return found[-1] if found else None

    def file_location(self, release: Release, name: str) -> str:
        """Where a tool other than dmesh-dbt (dbt-loom) reads a file of a committed release: a local path or a URL."""
        return self.backend.location(self._release_key(release, name))

    def listing(self) -> RegistryListing:
        """The latest readable release of each domain, and every entry that failed verification."""
        latest: list[Release] = []
        corrupt: list[CorruptEntry] = []
        for name in self.backend.children("releases"):
            if not is_valid(NameKind.DOMAIN, name):
                corrupt.append(CorruptEntry(repr(name), f"releases/{name}", "not a valid domain name"))
                continue
            releases, problems = self.scan(name)
            latest.extend(releases[-1:])
            corrupt.extend(problems)
        return RegistryListing(tuple(latest), tuple(corrupt))

    def _release_key(self, release: Release, name: str) -> str:
        return f"releases/{release.domain}/{release.version}/{release.digest}/{name}"

    def read_file(self, release: Release, name: str) -> bytes:
        """A file of a committed release, verified against the digest its commit marker holds."""
        expected = release.file_digest(name)
        key = self._release_key(release, name)
        if expected is None:
            raise RegistryError(f"{release.domain} {release.version} in {self.url} has no file {name}")
        data = self.backend.read(key, expected.size)
        if data is None:
            reason = f"its file {name} is missing"
        elif len(data) != expected.size or hashlib.sha256(data).hexdigest() != expected.sha256:
            reason = f"its file {name} does not match the digest its commit marker records"
        else:
            return data
        entry = CorruptEntry(f"{release.domain} {release.version}", key, reason)
        raise RegistryError(f"{entry}; the producer publishes a new version, or the platform restores the file")

    def read_parsed(self, release: Release, name: str, parse: Callable[[bytes], _Parsed]) -> _Parsed:
        """A verified file of a release read by ``parse``: a ValueError or RegistryError from it (not the format,
        not a valid name, not the release it is stored under) makes the entry corrupt."""
        data = self.read_file(release, name)
        try:
            return parse(data)
        except (RegistryError, ValueError) as error:
            corrupt = CorruptEntry(f"{release.domain} {release.version}", self._release_key(release, name), str(error))
            raise RegistryError(f"{corrupt}; the producer publishes a new version") from None

    def fetch_snapshot(self, release: Release, entry: ProductEntry, directory: Path) -> Path:
        """The snapshot of ``entry``, streamed into ``directory`` under its name in the release and verified
        against the digest the commit marker records (which the release's digest covers). A file already there
        that passes is kept. RegistryError when the release has no snapshot of the product or the file differs;
        nothing unverified is left at the destination."""
        expected = None if entry.snapshot is None else release.file_digest(entry.snapshot)
        if entry.snapshot is None or expected is None:
            raise RegistryError(
                f"{release.domain} {release.version} in {self.url} has no data snapshot of {entry.ref}; "
                f"ask the {release.domain} team to publish a new version with dmesh-dbt publish"
            )
        destination = directory / entry.snapshot
        if destination.is_file() and path_digest(destination) == expected:
            return destination
        key = self._release_key(release, entry.snapshot)
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=f".{entry.snapshot}.", suffix=".tmp")
        os.close(fd)
        staged = Path(name)
        try:
            if not self.backend.download(key, staged, expected.size):
                reason = f"its file {entry.snapshot} is missing"
            elif path_digest(staged) != expected:
                reason = f"its file {entry.snapshot} does not match the digest its commit marker records"
            else:
                os.replace(staged, destination)
                return destination
        finally:
            staged.unlink(missing_ok=True)
        corrupt = CorruptEntry(f"{release.domain} {release.version}", key, reason)
        raise RegistryError(f"{corrupt}; the producer publishes a new version, or the platform restores the file")

    def find_product(
        self, domain: str, product: str, version: str | None = None, project_id: str | None = ANY_PROJECT
    ) -> tuple[Release, ProductEntry]:
        """The latest release of ``domain`` that has ``product`` (at model ``version``), with its entry."""
        releases = self.releases(domain, project_id) if is_valid(NameKind.DOMAIN, domain) else []
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
            (NameKind.DOMAIN, record.domain),
            (NameKind.PRODUCT, record.product),
            (NameKind.DOMAIN, record.consumer),
        ):
            check_name(kind, value)
        self.backend.write(
            f"consumers/{record.domain}/{record.product}/{record.consumer}.json", _dumps(record.to_json())
        )

    def consumer_scan(self, domain: str, product: str | None = None) -> tuple[list[ConsumerRecord], list[CorruptEntry]]:
        """Every readable consumer record of ``domain`` (or of one product), and those that failed verification."""
        check_name(NameKind.DOMAIN, domain)
        if product is not None:
            check_name(NameKind.PRODUCT, product)
        products = [product] if product is not None else self.backend.children(f"consumers/{domain}")
        records: list[ConsumerRecord] = []
        corrupt: list[CorruptEntry] = []
        for name in products:
            for entry in self.backend.children(f"consumers/{domain}/{name}"):
                key = f"consumers/{domain}/{name}/{entry}"
                consumer = entry.removesuffix(".json")
                data = self.backend.read(key, MAX_RECORD_BYTES) if entry.endswith(".json") else None
                if data is None:
                    continue
                try:
                    records.append(consumer_from_json(data, consumer, domain, name))
                except _Corrupt as error:
                    corrupt.append(CorruptEntry(f"{domain}.{name} consumer {consumer!r}", key, str(error)))
        return records, corrupt

    def consumers(self, domain: str, product: str | None = None) -> list[ConsumerRecord]:
        """Every readable recorded consumer of ``domain`` (or of one of its products)."""
        return self.consumer_scan(domain, product)[0]

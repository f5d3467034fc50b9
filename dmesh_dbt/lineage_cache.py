"""A signed store of what column lineage computed per node, so a repeated `check` parses only changed SQL.

``target/dmesh_lineage.cache`` (beside the manifest, never committed: dbt's ``target/`` is ignored and ``dbt
clean`` removes it) holds one entry per node: the digest of everything the node's lineage was computed from
(its compiled SQL, dialect, parents and their columns; ``dmesh_dbt.lineage`` builds it) and what was computed.
The store knows nothing of lineage: it hands back the value stored under a node only when the digest asked for
is the one stored, so an entry computed from anything else is a miss, never a stale answer.

Fail closed against a planted file: the whole file carries an HMAC-SHA256 under a random key kept outside every
project (``$XDG_CACHE_HOME/dmesh-dbt/cache.key``, else ``~/.cache/...``, mode 0600), so a cache committed to a
domain's repository, or edited by hand, does not verify and is ignored (recomputed and rewritten). A file from
another version of the lineage code or of sqlglot (``salt``), a truncated, oversized or malformed file reads as
empty; nothing about the cache ever fails a check.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import orjson

from dmesh_dbt.files import InputTooLarge, max_json_bytes, read_bounded, write_atomically

#: The cache's name, in the manifest's directory.
CACHE_FILE = "dmesh_lineage.cache"
#: The first bytes of a cache file of this format; the MAC (hex) follows, then a newline and the JSON body.
_MAGIC = b"dmesh-lineage-cache/1 "
_MAC_HEX = 64
_KEY_BYTES = 32


def key_path() -> Path:
    """Where this user's cache key lives: outside every project, so no repository can carry a valid cache. A
    relative ``$XDG_CACHE_HOME`` is ignored, as the XDG spec says (and as the help cache does): it would put the
    key under the working directory, which may be the domain's own checkout."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = str(Path.home() / ".cache")
    return Path(base) / "dmesh-dbt" / "cache.key"


def _user_key() -> bytes | None:
    """The user's cache key, made on first use; None when it can be neither read nor made (then no cache)."""
    path = key_path()
    key: bytes | None
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = _make_key(path)
    except OSError:
        return None
    return key if key is not None and len(key) == _KEY_BYTES else None


def _make_key(path: Path) -> bytes | None:
    """A new key, written whole before it appears under its name (a crash leaves no empty key behind); when two
    checks start at once, the one that loses the race reads the winner's."""
    import secrets  # here: a key is made once per user, and secrets (with random) costs every check a millisecond

    key = secrets.token_bytes(_KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staged = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
    except OSError:
        return None
    try:
        os.link(staged, path)  # fails if another check made the key first
    except FileExistsError:
        try:
            key = path.read_bytes()
        except OSError:
            return None
    except OSError:
        return None
    finally:
        staged.unlink(missing_ok=True)
    return key


class LineageCache(msgspec.Struct):
    """Entries read from one cache file (``salt`` names the code that computed them); ``get`` and ``put`` record
    what this run used, and ``save`` writes back only that (entries of deleted nodes do not pile up)."""

    path: Path | None
    salt: str
    key: bytes | None = None
    stored: Mapping[str, tuple[str, object]] = msgspec.field(default_factory=dict)
    used: dict[str, tuple[str, object]] = msgspec.field(default_factory=dict)
    #: Lookups this run answered from the file, and lookups it computed (and stored).
    hits: int = 0
    misses: int = 0
    changed: bool = False

    def __repr__(self) -> str:
        # Never the key (it signs this user's caches: a repr lands in tracebacks, logs and pytest's messages), nor
        # the entries (megabytes at thousands of models).
        return f"LineageCache(path={self.path!r}, entries={len(self.stored)}, hits={self.hits}, misses={self.misses})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # rich's pretty printer (and its tracebacks' locals) asks this before __repr__; a Struct's own lists the key.
        return [("path", self.path), ("entries", len(self.stored))]

    @classmethod
    def open(cls, directory: Path, salt: str) -> LineageCache:
        """The cache in ``directory`` (the manifest's), empty when missing, unsigned, foreign or corrupt."""
        path = directory / CACHE_FILE
        key = _user_key()
        if key is None:
            return cls(None, salt)
        return cls(path, salt, key, _read_entries(path, key, salt))

    def get(self, name: str, digest: str) -> object | None:
        """The value stored under ``name`` when it was computed from ``digest``; else None."""
        entry = self.stored.get(name)
        if entry is None or entry[0] != digest:
            return None
        self.used[name] = entry
        return entry[1]

    def put(self, name: str, digest: str, value: object) -> None:
        self.used[name] = (digest, value)
        self.changed = True

    def save(self, prune: bool = True) -> None:
        """Write what this run used, atomically, when it differs from the file; a failure to write is ignored
        (a read-only checkout still checks, only without the cache). ``prune=False`` keeps the entries this run
        did not read: a run that reads part of the lineage (scan follows public columns only, never DM007's
        relations) must not drop what the next check needs; check's own save prunes them."""
        if self.path is None or self.key is None:
            return
        if not (self.changed or (prune and len(self.used) != len(self.stored))):
            return
        entries = self.used if prune else {**self.stored, **self.used}
        body = orjson.dumps({"salt": self.salt, "entries": {name: list(entry) for name, entry in entries.items()}})
        mac = hmac.new(self.key, body, hashlib.sha256).hexdigest().encode("ascii")
        try:
            if self.path.parent.is_dir():
                write_atomically(self.path, _MAGIC + mac + b"\n" + body)
        except OSError:
            pass


def _read_entries(path: Path, key: bytes, salt: str) -> dict[str, tuple[str, object]]:
    try:
        data = read_bounded(path, max_json_bytes())
    except (OSError, InputTooLarge):
        return {}
    header_end = len(_MAGIC) + _MAC_HEX
    if not data.startswith(_MAGIC) or data[header_end : header_end + 1] != b"\n":
        return {}
    body = data[header_end + 1 :]
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode("ascii")
    if not hmac.compare_digest(expected, data[len(_MAGIC) : header_end]):
        return {}
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return _entries(document, salt)


def _entries(document: object, salt: str) -> dict[str, tuple[str, object]]:
    """The well-formed entries of a verified document written under ``salt``; the rest is dropped."""
    if not isinstance(document, dict) or document.get("salt") != salt:
        return {}
    entries = document.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {
        name: (entry[0], entry[1])
        for name, entry in entries.items()
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
    }

"""Writing the user's files and the registry's: one atomic writer, and YAML edited in ruamel.yaml's round trip.

Every file dmesh-dbt writes goes through ``write_atomically``: a temp file in the same directory, flushed, then
renamed over the target, so a reader (or a crash) never sees half a file. YAML the user owns (sources, profiles,
dbt-loom config, model documentation) is edited in round-trip mode, so comments, order and quoting survive.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from dmesh_dbt.errors import ConfigError

if TYPE_CHECKING:  # ruamel.yaml loads when YAML is edited, not for every atomic write (check reads none)
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

#: Mode of a new file when the process umask allows it (mkstemp alone would leave 0600).
_NEW_FILE_MODE = 0o666


def stage_beside(path: Path, data: str | bytes) -> Path:
    """``data`` written and flushed to a hidden temp file in ``path``'s directory (created if missing).

    The file gets ``path``'s mode when ``path`` exists, else the mode a plain ``open()`` would give it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # here: most commands read files and write none

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    staged = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staged, _mode_for(path))
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def write_atomically(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8): readers see the old or the new content."""
    staged = stage_beside(path, data)
    try:
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return _NEW_FILE_MODE & ~umask


# ------------------------------------------------------------------------------------------ reading YAML

#: libyaml's parser when PyYAML was built with it (about 5x faster than its pure-Python one), same documents.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """The plain data of a YAML document (``yaml.safe_load``, through libyaml when available)."""
    return yaml.load(text, Loader=_SAFE_LOADER)


# ------------------------------------------------------------------------------------------ round-trip YAML


def round_trip_yaml(mapping: int = 2, sequence: int = 4, offset: int = 2) -> YAML:
    """A ruamel.yaml round-tripper that keeps the user's comments, order and quoting, and never re-wraps lines."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def round_trip_yaml_for(text: str) -> YAML:
    """A round-tripper indenting as ``text`` does, so re-dumping it moves no line the user wrote."""
    mapping, offset = guess_indentation(text)
    return round_trip_yaml(mapping=mapping, sequence=offset + 2, offset=offset)


def load_round_trip(path: Path, yaml: YAML | None = None) -> Any:
    """The YAML document at ``path`` for round-trip editing; None when there is no such file."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    try:
        return (yaml or round_trip_yaml()).load(text)
    except Exception as error:  # ruamel raises many unrelated types for a broken file
        raise ConfigError(f"{path} is not valid YAML ({error.__class__.__name__}: {error}); fix it") from None


def dump_round_trip(path: Path, document: Any, yaml: YAML | None = None) -> None:
    """Write ``document`` to ``path`` atomically, as the round-tripper ``yaml`` formats it."""
    buffer = io.StringIO()
    (yaml or round_trip_yaml()).dump(document, buffer)
    write_atomically(path, buffer.getvalue())


def upsert(items: CommentedSeq, key: str, value: str, entry: CommentedMap) -> None:
    """Replace the entry whose ``key`` is ``value`` in place (keeping its position), or append it."""
    for index, existing in enumerate(items):
        if isinstance(existing, dict) and existing.get(key) == value:
            items[index] = entry
            return
    items.append(entry)


_KEY_LINE = re.compile(r"^( *)[^\s#-][^:#]*:\s*(#.*)?$")
_ITEM_LINE = re.compile(r"^( *)- ")


def guess_indentation(text: str) -> tuple[int, int]:
    """(mapping indent, sequence dash offset) as the file uses them; dbt's docs style (2, 2) when unclear.

    ruamel.yaml writes one indentation for the whole file, so it must be the user's, or every line would move.
    """
    mapping: int | None = None
    offset: int | None = None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for parent, child in zip(lines, lines[1:], strict=False):
        opened = _KEY_LINE.match(parent)
        if opened is None:
            continue
        depth = len(opened[1])
        item = _ITEM_LINE.match(child)
        if item is not None and offset is None:
            offset = len(item[1]) - depth
        key = _KEY_LINE.match(child) or re.match(r"^( *)[^\s#-]", child)
        if item is None and key is not None and mapping is None and len(key[1]) > depth:
            mapping = len(key[1]) - depth
    return mapping or 2, 2 if offset is None else offset

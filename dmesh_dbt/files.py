"""Writing the user's files and the registry's: one atomic writer, and YAML edited in ruamel.yaml's round trip;
reading what someone else wrote within limits.

Every file dmesh-dbt writes goes through ``write_atomically``: a temp file in the same directory, flushed, then
renamed over the target, so a reader (or a crash) never sees half a file. YAML the user owns (sources, profiles,
dbt-loom config, model documentation) is edited in round-trip mode, so comments, order and quoting survive.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson
import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

if TYPE_CHECKING:  # ruamel.yaml loads when YAML is edited, not for every command (check edits none)
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dmesh_dbt.errors import ConfigError, UsageError

#: Bytes copied at a time when a large file (a release's data snapshot) is copied.
COPY_CHUNK = 1 << 20
#: Mode of a new file when the process umask allows it (mkstemp alone would leave 0600).
_NEW_FILE_MODE = 0o666


def stage_beside(path: Path, data: str | bytes) -> Path:
    """``data`` written and flushed to a hidden temp file in ``path``'s directory (created if missing).

    The file gets ``path``'s mode when ``path`` exists, else the mode a plain ``open()`` would give it.
    """
    content = data.encode("utf-8") if isinstance(data, str) else data
    return _stage(path, lambda handle: handle.write(content))


def _stage(path: Path, fill: Callable[[BinaryIO], object]) -> Path:
    import tempfile  # here, as shutil and difflib below: a command that writes nothing (check) loads none of them

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    staged = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staged, _mode_for(path))
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def write_atomically(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8): readers see the old or the new content."""
    _replace_with(stage_beside(path, data), path)


def copy_atomically(source: Path, path: Path) -> None:
    """Replace ``path`` with a copy of the file at ``source``, streamed: a large file never sits in memory."""

    import shutil

    def copy(handle: BinaryIO) -> None:
        with source.open("rb") as stream:
            shutil.copyfileobj(stream, handle, COPY_CHUNK)

    _replace_with(_stage(path, copy), path)


def _replace_with(staged: Path, path: Path) -> None:
    try:
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def inside_project(project_dir: Path, relative: Path) -> Path:
    """``project_dir / relative``, refused (UsageError) when a symlink on the way leads outside the project.

    Files dmesh-dbt writes into a project must stay in it, whatever links a checkout or another tool left there.
    """
    root = project_dir.resolve()
    path = root / relative
    if not path.resolve().is_relative_to(root):
        raise UsageError(
            f"{path} leads outside the project (through a symlink to {path.resolve()}); "
            "replace the link with a directory or file in the project"
        )
    return path


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
    """The YAML document at ``path`` for round-trip editing, within the limits below; None when there is no
    such file."""
    if not path.is_file():
        return None
    text = read_text_bounded(path, ConfigError)
    load_yaml_text(text, str(path), ConfigError)  # refuses a bomb before ruamel.yaml builds it
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


# Text, compiled on first use (``re``'s cache): only a command that edits YAML guesses its indentation.
_KEY_LINE = r"^( *)[^\s#-][^:#]*:\s*(#.*)?$"
_ITEM_LINE = r"^( *)- "


def guess_indentation(text: str) -> tuple[int, int]:
    """(mapping indent, sequence dash offset) as the file uses them; dbt's docs style (2, 2) when unclear.

    ruamel.yaml writes one indentation for the whole file, so it must be the user's, or every line would move.
    """
    mapping: int | None = None
    offset: int | None = None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for parent, child in zip(lines, lines[1:], strict=False):
        opened = re.match(_KEY_LINE, parent)
        if opened is None:
            continue
        depth = len(opened[1])
        item = re.match(_ITEM_LINE, child)
        if item is not None and offset is None:
            offset = len(item[1]) - depth
        key = re.match(_KEY_LINE, child) or re.match(r"^( *)[^\s#-]", child)
        if item is None and key is not None and mapping is None and len(key[1]) > depth:
            mapping = len(key[1]) - depth
    return mapping or 2, 2 if offset is None else offset


# ------------------------------------------------------------------------------------------ bounded reading
# YAML and JSON someone else wrote (a user's project files, another domain's registry entries, dbt artifacts):
# a YAML "billion laughs" (nested aliases) is a few hundred bytes that expands into billions of nodes the moment
# anything walks it, and a deeply nested document exhausts the stack. Both are refused before any value is
# built: the document is first composed (nodes only, aliases not expanded) and measured for size, depth and the
# number of nodes it would expand to. JSON artifacts are refused above a size limit real manifests fit in.

#: Bytes of YAML we read at most (dmesh.yml, dbt_project.yml, profiles.yml, schema files, contracts).
MAX_YAML_BYTES = 8 * 1024 * 1024
#: Nesting depth of YAML collections; dbt's own files stay under 15.
MAX_YAML_DEPTH = 64
#: Aliases (``*name``) in one YAML document; anchors are a convenience, not a data format.
MAX_YAML_ALIASES = 1000
#: Nodes a YAML document may expand to once its aliases are followed.
MAX_YAML_NODES = 1_000_000

#: Environment variable raising (or lowering) the JSON artifact size limit, in megabytes.
MAX_JSON_MB_ENV = "DMESH_MAX_JSON_MB"
#: dbt manifests of 5,000 models are ~70 MB; leave room for the biggest real projects.
DEFAULT_MAX_JSON_MB = 512


class InputTooLarge(ValueError):
    """A document beyond one of the limits above; the message says which limit and how far it went."""


def max_json_bytes() -> int:
    """The JSON size limit: ``$DMESH_MAX_JSON_MB`` megabytes, else 512 MB."""
    configured = os.environ.get(MAX_JSON_MB_ENV, "")
    try:
        megabytes = float(configured) if configured else DEFAULT_MAX_JSON_MB
    except ValueError:
        megabytes = DEFAULT_MAX_JSON_MB
    return int(megabytes * 1024 * 1024)


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, or InputTooLarge when it is bigger than ``limit`` (checked before reading)."""
    size = path.stat().st_size
    if size > limit:
        raise InputTooLarge(f"{size} bytes, over the limit of {limit}")
    with path.open("rb") as handle:
        data = read_at_most(handle, limit)
    if len(data) > limit:
        raise InputTooLarge(f"more than {limit} bytes")
    return data


def read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of an open file: more than ``limit`` tells the caller it is too large.

    Sized by the file, not the limit: a read of ``limit + 1`` bytes allocates the whole limit first (512 MB for a
    manifest: 13 ms where reading 22 MB takes 2). A file grown since, or one without a size (``/dev/zero``), is
    read on up to the limit.
    """
    size = min(os.fstat(handle.fileno()).st_size, limit)
    data = handle.read(size + 1)
    if len(data) > size:
        data += handle.read(limit + 1 - len(data))
    return data


def loads_json(data: bytes | str, limit: int | None = None) -> Any:
    """JSON parsed by orjson (which refuses nesting beyond 1024) after a size check.

    Raises InputTooLarge or ``orjson.JSONDecodeError`` (a ValueError).
    """
    limit = max_json_bytes() if limit is None else limit
    if len(data) > limit:
        raise InputTooLarge(f"{len(data)} bytes, over the limit of {limit} (set {MAX_JSON_MB_ENV} to raise it)")
    return orjson.loads(data)


# ------------------------------------------------------------------------------------------------------ YAML


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a depth and alias budget enforced while composing."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise InputTooLarge(f"more than {MAX_YAML_ALIASES} aliases")
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise InputTooLarge(f"nesting deeper than {MAX_YAML_DEPTH}")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def bounded_node(self) -> Node | None:
        """The document's node graph, refused past the node limit once aliases are counted expanded."""
        node = self.get_single_node()
        if node is not None and _expanded_size(node, {}) > MAX_YAML_NODES:
            raise InputTooLarge(f"aliases expand it past {MAX_YAML_NODES} nodes")
        return node


def _expanded_size(node: Node, sizes: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once every alias in it is expanded (shared nodes counted each time)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    total = 1
    if isinstance(node, SequenceNode):
        total += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    total = min(total, MAX_YAML_NODES + 1)  # saturate: the answer is only compared with the limit
    sizes[id(node)] = total
    return total


def _open_loader(text: str | bytes) -> _BoundedLoader:
    if len(text) > MAX_YAML_BYTES:
        raise InputTooLarge(f"{len(text)} bytes, over the limit of {MAX_YAML_BYTES}")
    return _BoundedLoader(text)


def check_yaml_bounds(text: str | bytes) -> None:
    """Refuse (InputTooLarge) a document past the size, depth, alias or node limits, before another YAML
    library (ruamel.yaml's round trip) builds it; raises ``yaml.YAMLError`` for a document that is not YAML."""
    loader = _open_loader(text)
    try:
        loader.bounded_node()
    finally:
        loader.dispose()


def _plain_within_bounds(text: str | bytes) -> bool:
    """True when ``text`` has no alias and stays within the depth and node limits, found by walking libyaml's
    events (C, iterative: no recursion for a hostile depth to exhaust). Such a document is as large as it looks,
    so libyaml may build it; one with aliases goes through the counting loader instead."""
    if not getattr(yaml, "__with_libyaml__", False):
        return False
    loader = yaml.CSafeLoader(text)
    depth = events = 0
    try:
        while not loader.check_event(yaml.StreamEndEvent):  # libyaml's own errors: the counting loader reports them
            event = loader.get_event()
            events += 1
            if isinstance(event, yaml.AliasEvent) or events > MAX_YAML_NODES:
                return False
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise InputTooLarge(f"nesting deeper than {MAX_YAML_DEPTH}")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return False  # e.g. libyaml's own nesting limit: the counting loader names the problem as for any input
    finally:
        loader.dispose()
    return True


def safe_load_bounded(text: str | bytes) -> Any:
    """``yaml.safe_load`` within the limits; raises InputTooLarge or ``yaml.YAMLError``.

    Documents without aliases (every contract and record we write) are built by libyaml, ten times faster than
    the pure-Python loader that counts expanded aliases: the catalog reads thousands of contracts."""
    if len(text) > MAX_YAML_BYTES:
        raise InputTooLarge(f"{len(text)} bytes, over the limit of {MAX_YAML_BYTES}")
    if _plain_within_bounds(text):
        return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 - CSafeLoader is the safe loader
    loader = _open_loader(text)
    try:
        node = loader.bounded_node()
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def read_text_bounded(path: Path, error: Callable[[str], Exception], limit: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of ``path`` (read no further than ``limit``); ``error(message)`` when it cannot be."""
    try:
        return read_bounded(path, limit).decode("utf-8")
    except InputTooLarge as problem:
        raise error(f"{path} is too large for dmesh-dbt ({problem}); is it the right file?") from None
    except UnicodeDecodeError:
        raise error(f"{path} is not UTF-8 text; is it the right file?") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory, not a file; fix the path") from None
    except OSError as problem:
        raise error(f"cannot read {path} ({problem.strerror}); check the path and its permissions") from None


def load_yaml_file(path: Path, error: Callable[[str], Exception]) -> Any:
    """The YAML document at ``path`` (``yaml.safe_load``), within the limits; ``error(message)`` otherwise."""
    return load_yaml_text(read_text_bounded(path, error), str(path), error)


def load_yaml_text(text: str | bytes, origin: str, error: Callable[[str], Exception]) -> Any:
    """``text`` (from ``origin``) parsed within the limits; ``error(message)`` is raised for a bad document."""
    try:
        return safe_load_bounded(text)
    except InputTooLarge as problem:
        raise error(f"{origin} is too large or too deeply nested for dmesh-dbt ({problem}); simplify it") from None
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise error(f"{origin} is not valid YAML{where}; fix the syntax") from None
    except RecursionError:
        raise error(f"{origin} is nested too deeply; simplify it") from None


# --------------------------------------------------------------------------------- minimal edits of user files


def insert_lines(text: str, insertions: Sequence[tuple[int, Sequence[str]]]) -> str:
    """``text`` with each ``(line index, lines)`` inserted before that (0-based) line, and nothing else moved.

    Where a round-trip dump would re-wrap a description or respace ``key :``, an edit found with ruamel's line
    marks and applied as inserted lines leaves every byte the user wrote where it was. Insertions at one index
    keep their given order.
    """
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    by_index: dict[int, list[str]] = {}
    for index, added in insertions:
        by_index.setdefault(min(index, len(lines)), []).extend(f"{line}\n" for line in added)
    for index in sorted(by_index, reverse=True):
        lines[index:index] = by_index[index]
    return "".join(lines)


def sequence_end(lines: Sequence[str], first: int, dash: int) -> int:
    """The index after the last line of the YAML block list whose first item (its dash at column ``dash``) is
    on line ``first``; trailing blank lines and comments stay after it."""
    end = first + 1
    for index in range(first + 1, len(lines)):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(lines[index]) - len(lines[index].lstrip(" "))
        if indent < dash or (indent == dash and not stripped.startswith("-")):
            break
        end = index + 1
    return end


def unified_diff(path: str, before: str, after: str) -> str:
    """The change from ``before`` to ``after`` of ``path`` as a unified diff (a new file diffs from /dev/null)."""
    import difflib

    old = "/dev/null" if not before else f"a/{path}"
    return "".join(
        difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), old, f"b/{path}")
    )

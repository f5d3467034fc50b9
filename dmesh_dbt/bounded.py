"""Loading YAML and JSON that someone else wrote, within limits: a hostile file fails fast with one message.

A YAML "billion laughs" (nested aliases) is a few hundred bytes that expands into billions of nodes the moment
anything walks it; a deeply nested document exhausts the stack. Both are refused here before any value is
built: the document is first composed (nodes only, aliases not expanded) and measured for size, depth and the
number of nodes it would expand to. JSON artifacts are refused above a size limit that real manifests fit in.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

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
        data = handle.read(limit + 1)  # the file may grow between stat and read
    if len(data) > limit:
        raise InputTooLarge(f"more than {limit} bytes")
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


def safe_load_bounded(text: str | bytes) -> Any:
    """``yaml.safe_load`` within the limits; raises InputTooLarge or ``yaml.YAMLError``."""
    loader = _open_loader(text)
    try:
        node = loader.bounded_node()
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml_text(text: str | bytes, origin: str, error: Callable[[str], Exception]) -> Any:
    """``text`` (from ``origin``) parsed within the limits; ``error(message)`` is raised for a bad document."""
    try:
        return safe_load_bounded(text)
    except InputTooLarge as problem:
        raise error(f"{origin} is too large or too deeply nested for dmesh-dbt ({problem}); simplify it") from None
    except yaml.YAMLError as problem:
        raise error(f"{origin} is not valid YAML ({_first_line(problem)}); fix the file") from None
    except RecursionError:
        raise error(f"{origin} is nested too deeply; simplify it") from None


def _first_line(problem: BaseException) -> str:
    return " ".join(str(problem).split())

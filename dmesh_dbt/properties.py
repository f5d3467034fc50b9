"""dbt properties files (the YAML documenting models, seeds, snapshots and sources): which file dbt reads a node's
properties from, and edits of it that only add lines.

A ruamel.yaml round-trip dump re-wraps long plain descriptions, turns ``key :`` into ``key:`` and re-indents
comments: hundreds of changed lines in a real project, which no reviewer accepts. So ruamel.yaml only *finds*
the entries here (its line and column marks); each edit is a set of lines inserted at the right indentation,
and the result is parsed again and checked to say what was meant before anything is written (fail closed: an
edit that would not, or that cannot be made by insertion, is refused with the reason).

Flow style (``columns: [{name: a}, ...]``, ``meta: {owner: x}``, a whole entry in braces, ``models: []``) stays
flow style: the new item goes before the collection's closing bracket, on whichever line it is (the one edit of
a user's line), and the evidence comment at the end of that line when it has none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmesh_dbt.errors import ConfigError
from dmesh_dbt.files import guess_indentation, insert_lines, load_yaml_text, round_trip_yaml, sequence_end

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap

#: Folders inside a project that belong to dbt or to installed packages, never to the user.
PACKAGE_DIRS = frozenset({"dbt_packages", "dbt_modules"})


@dataclass(frozen=True)
class NodeEntry:
    """Where a node is documented in a properties file: ``models``/``seeds``/``snapshots`` by name, or
    ``sources`` by source and table."""

    section: str
    name: str
    source_name: str | None = None

    @property
    def label(self) -> str:
        return f"{self.source_name}.{self.name}" if self.source_name else self.name


@dataclass(frozen=True)
class ColumnEdit:
    """``meta: {pii: <class>}`` for one column, with the evidence as a comment a reviewer reads."""

    entry: NodeEntry
    column: str
    pii_class: str
    comment: str = ""

    def meta_line(self, indent: int) -> str:
        return " " * indent + f"meta: {{pii: {self.pii_class}}}" + self.comment_suffix()

    def pii_line(self, indent: int) -> str:
        return " " * indent + f"pii: {self.pii_class}" + self.comment_suffix()

    def comment_suffix(self) -> str:
        return f"  # {' '.join(self.comment.split())}" if self.comment else ""


def nested_in(project_dir: Path, path: Path) -> str | None:
    """Why ``path`` is not the project's own to edit (inside an installed package, a nested dbt project such as
    ``integration_tests/``, or outside the project through a link), else None."""
    root = project_dir.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        return f"{path} is outside the project {root}"
    relative = resolved.relative_to(root)
    if PACKAGE_DIRS & set(relative.parts):
        return f"{relative} belongs to an installed package"
    for parent in list(relative.parents)[:-1]:
        if (root / parent / "dbt_project.yml").is_file():
            return f"{relative} belongs to the nested dbt project {parent}/"
    return None


@dataclass
class PropertiesEdit:
    """The edits planned for one properties file: lines inserted at indexes of its current text, and entries for
    nodes the file does not document yet (added at its end)."""

    path: Path
    text: str
    insertions: list[tuple[int, list[str]]] = field(default_factory=list)
    #: Items added inside flow collections: (line, column) of the closing bracket in the original text -> items.
    inline: dict[tuple[int, int], list[str | _FlowItem]] = field(default_factory=dict)
    #: The evidence comment put at the end of a line an inline item went into (when the line had none).
    inline_comments: dict[int, str] = field(default_factory=dict)
    #: New ``columns:`` of an entry that has none, by the entry's (line, column): later columns join its items.
    _new_columns: dict[tuple[int, int], _FlowItem] = field(default_factory=dict)
    #: Entries added to a flow list (``models: [...]``): later columns of the same entry join its item.
    _flow_entries: dict[NodeEntry, _FlowItem] = field(default_factory=dict)
    _new_entries: dict[NodeEntry, list[ColumnEdit]] = field(default_factory=dict)
    _done: list[ColumnEdit] = field(default_factory=list)
    _document: Any = None

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @property
    def document(self) -> Any:
        if self._document is None and self.text.strip():
            load_yaml_text(self.text, str(self.path), ConfigError)  # refuses a bomb before ruamel.yaml builds it
            try:
                self._document = round_trip_yaml().load(self.text)
            except Exception as error:  # ruamel raises many unrelated types for a broken file
                raise ConfigError(f"{self.path} is not valid YAML ({error.__class__.__name__}); fix it") from None
        return self._document

    def find(self, entry: NodeEntry) -> CommentedMap | None:
        from ruamel.yaml.comments import CommentedMap

        document = self.document
        if not isinstance(document, CommentedMap):
            return None
        if entry.section == "sources":
            source = _named(document.get("sources"), entry.source_name or "")
            document = source if isinstance(source, CommentedMap) else {}
        found = _named(document.get("tables" if entry.section == "sources" else entry.section), entry.name)
        return found if isinstance(found, CommentedMap) else None

    def classify(self, edit: ColumnEdit) -> str | None:
        """Plan ``edit``; the reason it cannot be made by inserting lines, else None."""
        node = self.find(edit.entry)
        if node is None:
            if edit.entry.section == "sources":
                return f"{self.path.name} does not document source table {edit.entry.label}"
            if not self._can_add_to(edit.entry.section):
                return f"{self.path.name}: `{edit.entry.section}:` is not a list; add {edit.entry.label} by hand"
            section = self.document.get(edit.entry.section) if self.document is not None else None
            if section is not None and self._flow(section):
                return self._new_flow_entry(section, edit)
            self._new_entries.setdefault(edit.entry, []).append(edit)
            return self._planned(edit)
        return self._classify_in(node, edit)

    def _new_flow_entry(self, section: Any, edit: ColumnEdit) -> str | None:
        """``{name: ..., columns: [...]}`` added to a flow list (``models: [...]``); later columns join it."""
        group = self._flow_entries.get(edit.entry)
        if group is not None:
            group.items.append(_flow_column(edit))
            return self._planned(edit)
        item = _FlowItem(f"{{name: {yaml_scalar(edit.entry.name)}, columns: [", [_flow_column(edit)], "]}")
        reason = self._into_flow(section, item, edit)
        if reason is None:
            self._flow_entries[edit.entry] = item
        return reason

    def _can_add_to(self, section: str) -> bool:
        """Whether a new entry can be added to ``section``: the section is absent, a non-empty block list, or a
        flow list (``[...]``, empty or not) that closes where its lines can be read."""
        from ruamel.yaml.comments import CommentedSeq

        document = self.document
        if not isinstance(document, Mapping) or section not in document:
            return document is None or isinstance(document, Mapping)
        existing = document[section]
        if not isinstance(existing, CommentedSeq):
            return False
        if self._flow(existing):
            return self._flow_close(existing) is not None
        return bool(existing)

    def _planned(self, edit: ColumnEdit) -> str | None:
        """Record ``edit`` as planned; no reason against it."""
        self._done.append(edit)
        return None

    def _classify_in(self, node: CommentedMap, edit: ColumnEdit) -> str | None:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        columns = node.get("columns")
        if "columns" not in node:
            return self._new_columns_of(node, edit)
        if not isinstance(columns, CommentedSeq):
            return f"{self.path.name}: `columns:` of {edit.entry.label} is not a list; add the meta by hand"
        column = _named(columns, edit.column, fold_case=True)
        if isinstance(column, CommentedMap):
            return self._classify_column(column, edit)
        if self._flow(columns):
            return self._into_flow(columns, _flow_column(edit), edit)
        if not columns:
            return f"{self.path.name}: `columns:` of {edit.entry.label} is empty; add the meta by hand"
        first = columns.lc.item(0)[0]
        dash = self.lines[first].index("-")
        self.insertions.append((sequence_end(self.lines, first, dash), _new_column(dash, edit)))
        return self._planned(edit)

    def _new_columns_of(self, node: CommentedMap, edit: ColumnEdit) -> str | None:
        """``columns:`` for an entry that has none, holding ``edit``'s column; the entry's later columns join it."""
        where = (int(node.lc.line), int(node.lc.col))
        group = self._new_columns.get(where)
        if self._flow(node):
            if group is not None:  # the flow item planned for the first column renders the group's items
                group.items.append(_flow_column(edit))
                return self._planned(edit)
            item = _FlowItem("columns: [", [_flow_column(edit)], "]")
            reason = self._into_flow(node, item, edit)
            if reason is None:
                self._new_columns[where] = item
            return reason
        offset = guess_indentation(self.text)[1]
        if group is not None:
            group.items.extend(_new_column(node.lc.col + offset, edit))
            return self._planned(edit)
        lines = [" " * node.lc.col + "columns:", *_new_column(node.lc.col + offset, edit)]
        self._new_columns[where] = _FlowItem("", lines, "")  # the same list the insertion holds
        self.insertions.append((_after_key(node, "name"), lines))
        return self._planned(edit)

    def _classify_column(self, column: CommentedMap, edit: ColumnEdit) -> str | None:
        from ruamel.yaml.comments import CommentedMap

        config = column.get("config")
        for holder in (config, column):
            meta = holder.get("meta") if isinstance(holder, CommentedMap) else None
            if isinstance(meta, CommentedMap) and meta and not meta.fa.flow_style():
                self.insertions.append((_after_key(holder, "meta"), [edit.pii_line(meta.lc.col)]))
                return self._planned(edit)
        if "meta" not in column and not self._flow(column):
            self.insertions.append((_after_key(column, "name"), [edit.meta_line(column.lc.col)]))
            return self._planned(edit)
        if isinstance(config, CommentedMap) and config and not config.fa.flow_style() and "meta" not in config:
            self.insertions.append((_after_key(column, "config"), [edit.meta_line(config.lc.col)]))
            return self._planned(edit)
        # Flow style ({...}) stays flow style: the class goes inside the braces, the only edit of a user's line.
        meta = column.get("meta")
        if isinstance(meta, CommentedMap) and self._flow(meta):
            return self._into_flow(meta, f"pii: {edit.pii_class}", edit)
        config_meta = config.get("meta") if isinstance(config, CommentedMap) else None
        if "meta" not in column and isinstance(config_meta, CommentedMap) and self._flow(config_meta):
            return self._into_flow(config_meta, f"pii: {edit.pii_class}", edit)
        if "meta" not in column:
            return self._into_flow(column, f"meta: {{pii: {edit.pii_class}}}", edit)
        return f"{self.path.name}: column {edit.column} of {edit.entry.label} has a `meta:` that is not a mapping"

    def _into_flow(self, collection: Any, item: str | _FlowItem, edit: ColumnEdit) -> str | None:
        """``item`` added before the closing bracket of the flow ``collection``, the evidence at that line's end."""
        close = self._flow_close(collection)
        if close is None:
            return (
                f"{self.path.name}: the flow style around {edit.entry.label}.{edit.column} does not close where "
                "it can be read; add pii by hand"
            )
        items = self.inline.setdefault(close.at, [])
        if not items:
            items.append(", " if close.needs_separator else "")
        items.append(item)
        if not close.has_comment and edit.comment:
            self.inline_comments.setdefault(close.at[0], edit.comment_suffix())
        return self._planned(edit)

    def _flow(self, collection: Any) -> bool:
        """Whether ``collection`` is written in flow style (ruamel.yaml does not say for an empty ``[]``/``{}``)."""
        if collection.fa.flow_style():
            return True
        line, column = int(collection.lc.line), int(collection.lc.col)
        return not collection and line < len(self.lines) and self.lines[line][column : column + 1] in ("{", "[")

    def _flow_close(self, collection: Any) -> FlowClose | None:
        """Where the flow ``collection`` (a ruamel map or list with line marks) closes, or None if unreadable."""
        line, column = int(collection.lc.line), int(collection.lc.col)
        if line >= len(self.lines) or self.lines[line][column : column + 1] not in ("{", "["):
            return None
        return flow_close(self.lines, line, column)

    def result(self) -> str:
        """The file's text with every planned edit; the user's lines unchanged and in order."""
        text = self._with_inline() if self.inline else self.text
        text = insert_lines(text, self.insertions) if self.insertions else text
        if not self._new_entries:
            return text
        return self._append_entries(text)

    def _with_inline(self) -> str:
        """The original text with each inline item before its closing bracket (right to left along a line, so
        the marks of the original text stay true) and the evidence comments at those lines' ends."""
        lines = self.text.splitlines(keepends=True)
        for index, column in sorted(self.inline, reverse=True):
            separator, *items = self.inline[(index, column)]
            added = str(separator) + ", ".join(str(item) for item in items)
            lines[index] = lines[index][:column] + added + lines[index][column:]
        for index, comment in self.inline_comments.items():
            body = lines[index].rstrip("\r\n")
            lines[index] = body + comment + lines[index][len(body) :]
        return "".join(lines)

    def _append_entries(self, text: str) -> str:
        from ruamel.yaml.comments import CommentedSeq

        offset = guess_indentation(self.text)[1]
        document = self.document
        sections: dict[str, list[NodeEntry]] = {}
        for entry in self._new_entries:
            sections.setdefault(entry.section, []).append(entry)
        tail: list[str] = []
        for section, entries in sections.items():
            existing = document.get(section) if isinstance(document, Mapping) else None
            if isinstance(existing, CommentedSeq) and existing:
                first = existing.lc.item(0)[0]
                dash = self.lines[first].index("-")
                lines = self._entry_lines(entries, dash, offset)
                text = insert_lines(text, [(self._shifted(sequence_end(self.lines, first, dash)), lines)])
            else:
                tail.extend(["", f"{section}:", *self._entry_lines(entries, offset, offset)])
        if not self.text.strip():
            return "\n".join(["version: 2", *tail]) + "\n"
        return insert_lines(text, [(len(text.splitlines()), tail)]) if tail else text

    def _entry_lines(self, entries: Iterable[NodeEntry], dash: int, offset: int) -> list[str]:
        """New entries (``- name:`` at ``dash``) with their columns' classifications."""
        lines: list[str] = []
        for entry in entries:
            lines.extend([" " * dash + f"- name: {yaml_scalar(entry.name)}", " " * (dash + 2) + "columns:"])
            for edit in self._new_entries[entry]:
                lines.extend(_new_column(dash + 2 + offset, edit))
        return lines

    def _shifted(self, index: int) -> int:
        """``index`` of the original text, moved down by the lines inserted before or at it (which stay first)."""
        return index + sum(len(lines) for at, lines in self.insertions if at <= index)

    def verify(self) -> list[str]:
        """Each planned edit checked in the edited text, parsed afresh: the problems (empty when all landed)."""
        try:
            document = load_yaml_text(self.result(), str(self.path), ConfigError)
        except ConfigError as error:
            return [f"the edited {self.path.name} would not parse ({error}); nothing written"]
        return [
            f"{self.path.name}: {e.entry.label}.{e.column} did not get pii {e.pii_class}; classify it by hand"
            for e in self._done
            if _pii_in(document, e) != e.pii_class
        ]

    @property
    def planned(self) -> tuple[ColumnEdit, ...]:
        return tuple(self._done)


@dataclass
class _FlowItem:
    """An item rendered when the text is: the later columns of the same entry join ``items`` meanwhile."""

    prefix: str
    items: list[str]
    suffix: str

    def __str__(self) -> str:
        return self.prefix + ", ".join(self.items) + self.suffix


@dataclass(frozen=True)
class FlowClose:
    """Where a flow collection closes: its bracket's (line, column), whether an item added before it needs a
    comma (the last item has none after it), and whether the bracket's line has a comment after it."""

    at: tuple[int, int]
    needs_separator: bool
    has_comment: bool


#: How many lines a flow collection may span before ``flow_close`` gives up (and the edit is refused).
_MAX_FLOW_LINES = 1000


def flow_close(lines: list[str], line: int, column: int) -> FlowClose | None:
    """The close of the flow collection whose ``{`` or ``[`` is at (``line``, ``column``); None when it does not
    close within ``_MAX_FLOW_LINES`` (quotes and comments are skipped, as YAML reads them)."""
    depth, quote, last = 0, "", ""
    for index in range(line, min(len(lines), line + _MAX_FLOW_LINES)):
        text = lines[index]
        position = column if index == line else 0
        while position < len(text):
            char = text[position]
            if quote:
                if char == "\\" and quote == '"':
                    position += 1
                elif char == quote:
                    quote = ""
                position += 1
                continue
            if char == "#" and (position == 0 or text[position - 1] in " \t"):
                break  # a comment: the rest of the line
            if char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return FlowClose((index, position), last not in ("", ","), _comment_after(text, position + 1))
            elif char in "\"'":
                quote = char
            if not char.isspace() and (index, position) != (line, column):
                last = char
            position += 1
    return None


def _comment_after(text: str, start: int) -> bool:
    """Whether ``text`` has a comment after ``start`` (a ``#`` after a space; a quoted one counts, which only
    means the evidence comment is left out)."""
    return re.search(r"(^|\s)#", text[start:]) is not None


def _flow_column(edit: ColumnEdit) -> str:
    return f"{{name: {yaml_scalar(edit.column)}, meta: {{pii: {edit.pii_class}}}}}"


def _new_column(dash: int, edit: ColumnEdit) -> list[str]:
    return [" " * dash + f"- name: {yaml_scalar(edit.column)}", edit.meta_line(dash + 2)]


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def yaml_scalar(value: str) -> str:
    """``value`` as a YAML scalar that reads back as that string: plain when it is a plain identifier, else
    double-quoted (JSON's quoting is valid YAML)."""
    plain = _PLAIN.fullmatch(value) is not None and value.lower() not in _RESERVED
    return value if plain else json.dumps(value)


def _after_key(mapping: CommentedMap, key: str) -> int:
    """The line after ``key``'s (its value on one line, as a name is; a block value's lines follow it)."""
    return int(mapping.lc.key(key)[0]) + 1


def _named(entries: Any, name: str, fold_case: bool = False) -> Any:
    """The entry called ``name`` of a YAML list of mappings (ruamel's or plain), else None."""
    if not isinstance(entries, Iterable) or isinstance(entries, (str, bytes, Mapping)):
        return None
    wanted = name.lower() if fold_case else name
    for entry in entries:
        if isinstance(entry, Mapping):
            found = str(entry.get("name", ""))
            if (found.lower() if fold_case else found) == wanted:
                return entry
    return None


def _pii_in(document: Any, edit: ColumnEdit) -> str | None:
    """The ``pii`` the plain data of ``document`` gives the column ``edit`` is about (config.meta, then meta)."""
    if not isinstance(document, Mapping):
        return None
    entries = document.get(edit.entry.section)
    if edit.entry.section == "sources":
        source = _named(entries, edit.entry.source_name or "")
        entries = source.get("tables") if source else None
    node = _named(entries, edit.entry.name)
    column = _named(node.get("columns") if node else None, edit.column, fold_case=True)
    if column is None:
        return None
    config = column.get("config")
    config_meta = config.get("meta") if isinstance(config, Mapping) else None
    merged = {**(config_meta or {}), **(column.get("meta") or {})}
    return None if merged.get("pii") is None else str(merged["pii"])


# ------------------------------------------------------------------- adopt's edits, on the same insertion path
# `adopt` adds config, data types and list items (the dmesh package, the run hook, a group) with the same
# PropertiesEdit `scan --write` uses: lines inserted where ruamel.yaml's marks say, a one-line flow mapping gaining
# items inside its braces, and the result parsed again before anything is written.


@dataclass(frozen=True)
class ColumnFill:
    """What adopt adds to one column of a public model: its warehouse type and, fail-closed, its PII class."""

    name: str
    data_type: str | None = None
    pii: ColumnEdit | None = None


def add_list_item(
    edit: PropertiesEdit, key: str, item: Sequence[str], first: bool = False, lead: Sequence[str] = ()
) -> str | None:
    """Add one item (its lines, the dash at column 0) to the top-level block list ``key``: first or last; or
    ``key:`` holding it at the end of the file (after ``lead`` lines) when the file has no such key. The reason
    it cannot be made by inserting lines, else None."""
    from ruamel.yaml.comments import CommentedSeq

    document = edit.document
    if document is None or (isinstance(document, Mapping) and key not in document):
        offset = guess_indentation(edit.text)[1] if edit.text.strip() else 2
        lines = [*lead, f"{key}:", *(" " * offset + line for line in item)]
        edit.insertions.append((len(edit.lines), lines))
        return None
    existing = document.get(key) if isinstance(document, Mapping) else None
    if not isinstance(existing, CommentedSeq) or not existing or existing.fa.flow_style():
        return f"{edit.path.name}: `{key}:` is not a block list"
    first_line = int(existing.lc.item(0)[0])
    dash = edit.lines[first_line].find("-")
    if dash < 0:  # the item's dash is on a line of its own above its value: not a shape this edit knows
        return f"{edit.path.name}: the items of `{key}:` are not written as `- value`"
    at = first_line if first else sequence_end(edit.lines, first_line, dash)
    edit.insertions.append((at, [" " * dash + line for line in item]))
    return None


def configure_node(edit: PropertiesEdit, entry: NodeEntry, wanted: Mapping[str, str]) -> str | None:
    """Add to the node's ``config:`` each ``wanted`` key (key -> its ``key: value`` text) it lacks (``post_hook``
    also counts as ``post-hook``): a new ``config:`` block after ``name:``, lines at the top of a block one, or
    items inside the braces of a one-line flow one (the only user's line that changes). The reason, else None."""
    from ruamel.yaml.comments import CommentedMap

    node = edit.find(entry)
    if node is None:
        return f"{edit.path.name}: no entry for {entry.label}; add its config by hand"
    config = node.get("config")
    if "config" in node and not isinstance(config, CommentedMap):
        return f"{edit.path.name}: `config:` of {entry.label} is not a mapping; add {', '.join(wanted)} by hand"
    have = config or {}
    missing = [line for key, line in wanted.items() if key not in have and key.replace("_", "-") not in have]
    if not missing:
        return None
    if node.fa.flow_style():
        return f"{edit.path.name}: {entry.label} is written in flow style ({{...}}); add its config by hand"
    if config is None:
        step = guess_indentation(edit.text)[0]
        lines = [" " * node.lc.col + "config:", *(" " * (node.lc.col + step) + line for line in missing)]
        edit.insertions.append((_after_key(node, "name"), lines))
    elif config.fa.flow_style():
        if not _into_flow_line(edit, config, ", ".join(missing)):
            return f"{edit.path.name}: the flow-style `config:` of {entry.label} spans lines; add {missing} by hand"
    elif config:
        edit.insertions.append((_after_key(node, "config"), [" " * config.lc.col + line for line in missing]))
    else:
        return f"{edit.path.name}: `config:` of {entry.label} is empty; add {', '.join(wanted)} by hand"
    return None


def fill_columns(edit: PropertiesEdit, entry: NodeEntry, fills: Sequence[ColumnFill]) -> list[str]:
    """Give the node's columns their ``data_type`` and PII class where they have none, and add the columns the
    YAML lacks (with both): what could not be done by inserting lines, as reasons."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = edit.find(entry)
    if node is None:
        return [f"{edit.path.name}: no entry for {entry.label}; add its columns by hand"]
    columns = node.get("columns")
    if "columns" not in node:
        if not fills:
            return []
        dash = node.lc.col + guess_indentation(edit.text)[1]
        lines = [" " * node.lc.col + "columns:", *_filled_columns(edit, dash, fills)]
        edit.insertions.append((_after_key(node, "name"), lines))
        return []
    if not isinstance(columns, CommentedSeq) or not columns or columns.fa.flow_style():
        return [f"{edit.path.name}: `columns:` of {entry.label} is not a block list; add types and PII by hand"]
    reasons: list[str] = []
    missing: list[ColumnFill] = []
    for fill in fills:
        column = _named(columns, fill.name, fold_case=True)
        if isinstance(column, CommentedMap):
            reasons.extend(_fill_column(edit, column, fill, entry))
        else:
            missing.append(fill)
    if missing:
        first = int(columns.lc.item(0)[0])
        dash = edit.lines[first].index("-")
        edit.insertions.append((sequence_end(edit.lines, first, dash), _filled_columns(edit, dash, missing)))
    return reasons


def _fill_column(edit: PropertiesEdit, column: CommentedMap, fill: ColumnFill, entry: NodeEntry) -> list[str]:
    reasons: list[str] = []
    if fill.data_type and column.get("data_type") is None:
        if not column.fa.flow_style():
            edit.insertions.append((_after_key(column, "name"), [" " * column.lc.col + f"data_type: {fill.data_type}"]))
        elif not _into_flow_line(edit, column, f"data_type: {fill.data_type}"):
            reasons.append(f"{edit.path.name}: {entry.label}.{fill.name} spans lines in flow style; add its data_type")
    if fill.pii is not None and pii_of(column) is None:
        reason = edit._classify_column(column, fill.pii)
        reasons.extend([reason] if reason else [])
    return reasons


def _filled_columns(edit: PropertiesEdit, dash: int, fills: Iterable[ColumnFill]) -> list[str]:
    """New column entries, ``- name:`` at ``dash``, each with its type and class (the class checked by verify)."""
    lines: list[str] = []
    for fill in fills:
        lines.append(" " * dash + f"- name: {yaml_scalar(fill.name)}")
        lines.extend([" " * (dash + 2) + f"data_type: {fill.data_type}"] if fill.data_type else [])
        if fill.pii is not None:
            lines.append(fill.pii.meta_line(dash + 2))
            edit._planned(fill.pii)
    return lines


def _into_flow_line(edit: PropertiesEdit, mapping: CommentedMap, item: str) -> bool:
    """``item`` added before the closing brace of the flow ``mapping`` (the same inline edits ``scan --write``
    makes); False when its braces cannot be read."""
    close = edit._flow_close(mapping)
    if close is None:
        return False
    items = edit.inline.setdefault(close.at, [])
    if not items:
        items.append(", " if close.needs_separator else "")
    items.append(item)
    return True


def pii_of(column: Mapping[str, Any]) -> object:
    """The ``pii`` a column's YAML gives it (``meta``, else ``config.meta``), or None when unclassified."""
    config = column.get("config")
    for source in (column.get("meta"), config.get("meta") if isinstance(config, Mapping) else None):
        if isinstance(source, Mapping) and source.get("pii") is not None:
            return source.get("pii")
    return None

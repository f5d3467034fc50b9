"""The names dmesh-dbt accepts, whether a user typed them or a registry holds them: one rule per kind of name.

Names become file names, registry keys, YAML keys, SQL identifiers and profile entries, so a name read from a
registry is checked with the same rule as one typed on the command line before it touches any of those.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache


class NameKind(StrEnum):
    DOMAIN = "domain"
    PRODUCT = "product"
    MODEL_VERSION = "model version"
    RELEASE_VERSION = "version"
    FILE_NAME = "file name"
    PROJECT_ID = "project id"
    RELATION_PART = "relation name"
    COLUMN = "column name"


MAX_DOMAIN_LENGTH = 40

# Each rule's pattern is kept as text and compiled on first use (``_pattern``): names are checked by publish, init
# and the registry, never by a check of a current manifest, and compiling all eight at import cost every check
# 0.7 ms (issue 16).
_RULES: dict[NameKind, tuple[str, str]] = {
    NameKind.DOMAIN: (
        rf"[a-z][a-z0-9_]{{0,{MAX_DOMAIN_LENGTH - 1}}}",
        f"use 1-{MAX_DOMAIN_LENGTH} lowercase letters, digits and underscores, starting with a letter",
    ),
    NameKind.PRODUCT: (
        r"[A-Za-z_][A-Za-z0-9_]{0,126}",
        "use up to 127 letters, digits and underscores, not starting with a digit (a dbt model name)",
    ),
    NameKind.MODEL_VERSION: (
        r"[A-Za-z0-9_][A-Za-z0-9_.]{0,31}",
        "use up to 32 letters, digits, '_' and '.'",
    ),
    NameKind.RELEASE_VERSION: (
        r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}",
        "use up to 64 letters, digits, '_', '.', '+' and '-' (e.g. 1.2.0)",
    ),
    NameKind.FILE_NAME: (
        r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}",
        "use up to 128 letters, digits, '_', '.', '+' and '-', not starting with '.'",
    ),
    NameKind.PROJECT_ID: (
        r"[a-z0-9][a-z0-9-]{7,63}",
        "use 8-64 lowercase letters, digits and '-' (init writes a UUID)",
    ),
    NameKind.RELATION_PART: (
        r"[A-Za-z_][A-Za-z0-9_$-]{0,254}",
        "use up to 255 letters, digits, '_', '$' and '-', not starting with a digit",
    ),
    NameKind.COLUMN: (
        # Quoted columns may hold spaces and any letter; never quotes, braces, semicolons or control characters.
        r"[^\W\d][\w$ -]{0,254}",
        "use up to 255 letters, digits, '_', '$', '-' and spaces, not starting with a digit",
    ),
}


class InvalidName(ValueError):
    """A name that breaks its kind's rule; the message names the value and what is allowed."""

    def __init__(self, kind: NameKind, value: object) -> None:
        shown = value if isinstance(value, str) else type(value).__name__
        text = repr(shown[:80] + ("..." if len(shown) > 80 else "")) if isinstance(shown, str) else shown
        super().__init__(f"invalid {kind.value} {text}: {_RULES[kind][1]}")
        self.kind = kind


def is_valid(kind: NameKind, value: object) -> bool:
    return isinstance(value, str) and _pattern(kind).fullmatch(value) is not None


@cache
def _pattern(kind: NameKind) -> re.Pattern[str]:
    return re.compile(_RULES[kind][0])


def valid_name(kind: NameKind, value: object) -> str:
    """``value`` when it is a string that follows ``kind``'s rule, else InvalidName."""
    if not isinstance(value, str) or not is_valid(kind, value):
        raise InvalidName(kind, value)
    return value

"""Consoles: where output goes. On a terminal rich's colours at its width; to a pipe or a file plain text that never
wraps. Apart from the renderers, so that the CLI can make its consoles without loading them (issue 16: start-up).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:  # rich loads when something is printed through it: `--help` and the other formats need none
    from rich.console import Console

#: The width of output that goes to a pipe or a file: wide enough that no line wraps, so lines survive grep and diff.
UNWRAPPED = 10_000
#: Environment variables with which rich treats a stream as a terminal, or wraps it, whatever the stream is.
_RICH_TERMINAL_VARIABLES = ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")


def color_wanted(no_color_flag: bool = False) -> bool:
    """False under --no-color or a non-empty NO_COLOR (https://no-color.org), whatever the output is."""
    return not no_color_flag and not os.environ.get("NO_COLOR")


class _LazyConsole:
    """``make_console``'s console, made on first use (importing rich costs more than a bare Python start)."""

    def __init__(self, stderr: bool, color: bool, soft_wrap: bool) -> None:
        self._options = {"stderr": stderr, "color": color, "soft_wrap": soft_wrap}
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            self._console = make_console(**self._options)
        return getattr(self._console, name)


def lazy_console(*, stderr: bool = False, color: bool = True, soft_wrap: bool = False) -> Console:
    """``make_console(...)``, made when first used."""
    return cast("Console", _LazyConsole(stderr, color, soft_wrap))


def writes_plain(*, stderr: bool = False) -> bool:
    """Whether ``make_console`` would make a plain console (no colour, no wrapping) for stdout (or stderr), known
    without importing rich: the stream is not a terminal and none of the variables rich reads to force one, or a
    width, is set. False when in doubt, and rich then decides: a report to a pipe or a file (CI) needs no rich."""
    if any(name in os.environ for name in _RICH_TERMINAL_VARIABLES):
        return False
    stream = sys.stderr if stderr else sys.stdout
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream: let rich decide as it always did
        return False


def make_console(*, stderr: bool = False, color: bool = True, soft_wrap: bool = False) -> Console:
    """A console right for where it writes.

    On a terminal: rich's colours (unless ``color`` is False) at the terminal's width, or $COLUMNS. Anywhere else (a
    pipe, a file, a CI log): plain text without escapes, wrapped only at $COLUMNS when it is set, never at rich's
    default 80 columns, which cut paths and words mid-line. ``soft_wrap`` keeps long lines whole on a terminal too.
    """
    from rich.console import Console

    probe = Console(stderr=stderr)
    color_system: Literal["auto"] | None = "auto" if color and probe.is_terminal else None
    if probe.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return Console(stderr=stderr, color_system=color_system, highlight=color, soft_wrap=soft_wrap)
    return Console(stderr=stderr, color_system=None, width=UNWRAPPED, soft_wrap=True, highlight=False)


def print_block(console: Console, *renderables: object) -> None:
    """Print tables and the like without the blanks rich pads their last column with."""
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))

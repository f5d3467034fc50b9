"""The console-script entry point: `--help` and `--version` answered from what click printed the last time.

Why: importing click alone costs about as much as Python's own start, so no help rendered by click can be within
2x of a bare ``python -c pass`` (issue 16). The first ``dmesh-dbt [COMMAND...] --help`` (or ``-h``, or
``dmesh-dbt --version``) runs click as every other command does and keeps exactly what it printed in the user's
cache directory; later ones print that text with nothing but ``os`` and ``sys`` loaded. Every other command line
goes straight to click.

An entry is used only when everything the text depends on is as it was when click printed it: the arguments, the
dmesh-dbt version and install, the terminal width click wraps to (as ``shutil.get_terminal_size`` finds it),
whether stdout is a terminal, NO_COLOR, and the size and modification time of every dmesh_dbt and click module
loaded to print it (so editing cli.py, or upgrading click, renders afresh). A cache that is missing, corrupt,
unreadable or unwritable (a read-only home) is ignored without a word: the command then runs click as if there
were none.
"""

from __future__ import annotations

import contextlib
import os
import sys
from zlib import crc32  # under a millisecond to load, where hashlib and its OpenSSL take several

from dmesh_dbt import __version__

#: Help options of every command (the group's ``help_option_names``).
HELP_OPTIONS = ("--help", "-h")
#: First line of a cache entry; raise its number when the layout changes.
MAGIC = "dmesh-dbt help cache 1"
#: Entries kept at most: each (help line, width, install, version) has its own, so upgrades and resized terminals
#: would otherwise pile them up for ever; the oldest written go first.
MAX_ENTRIES = 200
#: Modules whose files the printed text depends on: ours (cli.py and what it imports) and click's formatter.
_RENDERED_BY = ("dmesh_dbt", "click")


def main() -> None:
    """Console-script entry point: ``dmesh-dbt``."""
    args = sys.argv[1:]
    if not asks_only_for_text(args):
        _run_click()
        return
    key = cache_key(args)
    text = read_entry(entry_path(key), key) if key is not None else None
    if text is None:
        _print_and_keep(key)
        return
    _print(text)


def asks_only_for_text(args: list[str]) -> bool:
    """Whether ``args`` only ask for help or the version: ``--version``, ``--help``/``-h`` after command names."""
    if args == ["--version"]:
        return True
    if not args or args[-1] not in HELP_OPTIONS:
        return False
    return all(_is_command_name(arg) for arg in args[:-1])


def _is_command_name(arg: str) -> bool:
    return arg[:1].isalpha() and arg.isascii() and arg.replace("-", "").replace("_", "").isalnum()


def terminal_columns() -> int:
    """The width ``shutil.get_terminal_size()`` reports (click wraps help to it), without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or 80


def cache_key(args: list[str]) -> str | None:
    """One line naming everything the printed text depends on but the module files; None when it cannot be one."""
    package = os.path.dirname(os.path.abspath(__file__))
    tty = sys.stdout is not None and sys.stdout.isatty()
    parts = [__version__, package, str(terminal_columns()), f"tty={tty}", f"no_color={'NO_COLOR' in os.environ}"]
    key = "\t".join([*parts, *args])
    return None if "\n" in key or "\r" in key else key


def cache_dir() -> str:
    """``$XDG_CACHE_HOME/dmesh-dbt/help`` (a relative $XDG_CACHE_HOME is ignored, as the spec says), else
    ``~/.cache/dmesh-dbt/help``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dmesh-dbt", "help")


def entry_path(key: str) -> str:
    """The entry's file: named by a checksum of its key (the key itself is inside, and compared on reading)."""
    return os.path.join(cache_dir(), f"{crc32(key.encode('utf-8', 'surrogateescape')):08x}.txt")


def read_entry(path: str, key: str) -> str | None:
    """The text kept at ``path`` for ``key``, or None when there is none or it no longer holds."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            content = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    header, separator, text = content.partition("\n\n")
    lines = header.split("\n")
    if not separator or lines[:2] != [MAGIC, key]:
        return None
    return text if all(_unchanged(line) for line in lines[2:]) else None


def _unchanged(line: str) -> bool:
    path, _, signature = line.rpartition("\t")
    return bool(path) and _signature(path) == signature


def _signature(path: str) -> str | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return f"{status.st_mtime_ns}:{status.st_size}"


def _print(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `dmesh-dbt --help | head`: as click does, exit 1 without a traceback
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (the flush at exit must find a working stream)
        sys.exit(1)


def _run_click() -> None:
    from dmesh_dbt.cli import main as click_main

    click_main()


def _print_and_keep(key: str | None) -> None:
    """Run click with its stdout captured, print what it printed, and keep it when it succeeded."""
    import io

    real, captured = sys.stdout, io.StringIO()
    sys.stdout = captured
    code: object = 0
    try:
        _run_click()
    except SystemExit as exit_:
        code = exit_.code
    finally:  # whatever happened, the user sees what click printed
        sys.stdout = real
        _print(captured.getvalue())
    if code in (0, None) and key is not None:
        _keep(key, captured.getvalue())
    raise SystemExit(code)


def dependencies() -> list[str]:
    """The files of every loaded module the printed text depends on."""
    files = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name.split(".")[0] in _RENDERED_BY and file:
            files.append(file)
    return sorted(files)


def _keep(key: str, text: str) -> None:
    """Write the cache entry atomically; a cache that cannot be written is left alone."""
    signed = [(path, _signature(path)) for path in dependencies()]
    if any(signature is None or "\t" in path or "\n" in path for path, signature in signed):
        return
    header = "\n".join([MAGIC, key, *(f"{path}\t{signature}" for path, signature in signed)])
    with contextlib.suppress(OSError, ValueError):  # ValueError: a path Python cannot encode as UTF-8
        _write_atomically(entry_path(key), f"{header}\n\n{text}")
        prune(cache_dir(), MAX_ENTRIES)


def prune(directory: str, keep: int) -> None:
    """Delete all but the ``keep`` most recently written entries of ``directory`` (never a ``.tmp`` file: another
    process's rename must find it). Runs only after a miss wrote an entry: a cached answer never lists it."""
    entries: list[tuple[int, str]] = []
    with os.scandir(directory) as listing:
        for entry in listing:
            if entry.name.endswith(".txt"):
                entries.append((entry.stat().st_mtime_ns, entry.path))
    entries.sort(reverse=True)
    for _, path in entries[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _write_atomically(path: str, content: str) -> None:
    """A temp file beside ``path``, then a rename: readers see the old entry or the new one, never half of one.

    Not ``files.write_atomically``: its YAML and JSON imports would cost the first run about as much as Python's
    start, and a cache entry lost to a crash costs nothing (no fsync, no mode to keep).
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    staged = f"{path}.{os.getpid()}.tmp"
    try:
        with open(staged, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        os.replace(staged, path)
    except BaseException:
        if os.path.exists(staged):
            os.unlink(staged)
        raise

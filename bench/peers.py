"""The peers the benchmarks compare against, installed on first use into ~/.cache/dmesh-bench.

- dbt-bouncer (``ensure_bouncer``), for ``bench/check.py``: in a virtualenv of its own, since its pydantic and
  dbt-artifacts-parser pins are not ours.
- piicatcher's name rules and value regexes (``piicatcher_detectors``), for the scan benchmarks:

piicatcher 0.17.0 (the newest that installs on Python 3.11) is installed with pip, without its dependencies,
into a cache folder: its full dependency tree (dbcat, amundsen, snowflake, spaCy models) does not install
offline. Its scanner module only needs two names from those: the ``PiiTypes`` enum (copied here member for
member from dbcat 0.10) and ``spacy`` for the NER scanner we do not use. The rules that run are piicatcher's own
``ColumnNameScanner`` and ``RegexScanner`` (CommonRegex), unmodified.
"""

from __future__ import annotations

import enum
import shutil
import subprocess
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path

CACHE = Path.home() / ".cache" / "dmesh-bench"
PEER_DIR = CACHE / "piicatcher-0.17.0"
BOUNCER = "dbt-bouncer==4.3.0"
BOUNCER_VENV = CACHE / "dbt-bouncer-4.3.0"
PEER_PACKAGES = ("piicatcher==0.17.0", "commonregex==1.5.4")


class PiiTypes(enum.Enum):
    """dbcat.catalog.models.PiiTypes, in its order."""

    NONE = enum.auto()
    UNSUPPORTED = enum.auto()
    PHONE = enum.auto()
    EMAIL = enum.auto()
    CREDIT_CARD = enum.auto()
    ADDRESS = enum.auto()
    PERSON = enum.auto()
    LOCATION = enum.auto()
    BIRTH_DATE = enum.auto()
    GENDER = enum.auto()
    NATIONALITY = enum.auto()
    IP_ADDRESS = enum.auto()
    SSN = enum.auto()
    USER_NAME = enum.auto()
    PASSWORD = enum.auto()


#: piicatcher's types in our vocabulary; types we have no class for are reported as "other" (always wrong).
TO_OUR_CLASS: dict[str, str] = {
    "PHONE": "phone",
    "EMAIL": "email",
    "CREDIT_CARD": "card_number",
    "ADDRESS": "address",
    "PERSON": "person_name",
    "BIRTH_DATE": "date_of_birth",
    "IP_ADDRESS": "ip_address",
    "SSN": "national_id",
}


def _install() -> None:
    if (PEER_DIR / "piicatcher" / "scanner.py").exists():
        return
    print(f"installing {' '.join(PEER_PACKAGES)} into {PEER_DIR} (no dependencies) ...", file=sys.stderr)
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(PEER_DIR), *PEER_PACKAGES]
    subprocess.run(command, check=True)


def _load_scanner_module() -> types.ModuleType:
    _install()
    models = types.ModuleType("dbcat.catalog.models")
    models.PiiTypes = PiiTypes  # type: ignore[attr-defined]
    for name in ("CatColumn", "CatSchema", "CatTable"):
        setattr(models, name, object)
    catalog = types.ModuleType("dbcat.catalog")
    catalog.Catalog = object  # type: ignore[attr-defined]
    catalog.models = models  # type: ignore[attr-defined]
    sys.modules.update({"spacy": types.ModuleType("spacy"), "dbcat": types.ModuleType("dbcat")})
    sys.modules.update({"dbcat.catalog": catalog, "dbcat.catalog.models": models})
    sys.path.insert(0, str(PEER_DIR))
    import piicatcher.scanner as scanner

    return scanner


def _first_in_enum_order(found: Iterable[PiiTypes]) -> str | None:
    # piicatcher keeps `types.pop()` of a set, an arbitrary member; enum order makes the choice repeatable.
    ordered = sorted(found, key=lambda t: t.value)
    if not ordered:
        return None
    return TO_OUR_CLASS.get(ordered[0].name, "other")


def piicatcher_detectors() -> tuple[Callable[[str], str | None], Callable[[list[str]], str | None]]:
    """(name rule, value rule): each returns a class of our vocabulary, "other", or None."""
    scanner = _load_scanner_module()
    by_name = scanner.ColumnNameScanner()
    by_value = scanner.RegexScanner()

    def name_rule(column: str) -> str | None:
        return _first_in_enum_order(by_name.scan(column))

    def value_rule(values: list[str]) -> str | None:
        # piicatcher's deep scan marks a column with the type of any value a regex matches.
        found: set[PiiTypes] = set()
        for value in values:
            found.update(by_value.scan(value))
        return _first_in_enum_order(found)

    return name_rule, value_rule


def ensure_bouncer() -> Path | None:
    """The dbt-bouncer executable, installed with pip into its own virtualenv; None (and why, on stderr) without."""
    executable = BOUNCER_VENV / "bin" / "dbt-bouncer"
    if executable.exists():
        return executable
    print(f"installing {BOUNCER} into {BOUNCER_VENV} ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(BOUNCER_VENV)], check=True, capture_output=True)
        pip = [str(BOUNCER_VENV / "bin" / "pip"), "install", "-q", BOUNCER]
        subprocess.run(pip, check=True, capture_output=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as error:
        print(f"dbt-bouncer unavailable ({error}); skipping it", file=sys.stderr)
        shutil.rmtree(BOUNCER_VENV, ignore_errors=True)
        return None
    return executable

"""Breaking changes between two manifests of one domain, and the version gate (a thin face).

``changes/kinds.py``: the kinds of change (ids, fixes, examples) and the Change, Consumer and Comparison types;
``changes/detect.py``: ``find_changes`` and ``compare_models``; ``changes/gate.py``: ``compare_projects``, the
version gate and consumer impact; ``changes/types.py``: type families across adapters.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from dmesh_dbt.changes.gate import change_finding, compare_projects, impacts_of
from dmesh_dbt.changes.kinds import (
    CHANGE_KINDS,
    KEPT_VERSION_NOT_DEPRECATED,
    Change,
    ChangeKind,
    Comparison,
    Consumer,
    Consumers,
)

if TYPE_CHECKING:
    from dmesh_dbt.changes.detect import compare_models, effective_strategy, find_changes, model_keys, version_key
    from dmesh_dbt.changes.types import normalize_type

#: Names the face serves from modules loaded on first use: comparing two manifests is the baseline's path only.
_LAZY = {
    "compare_models": "detect",
    "effective_strategy": "detect",
    "find_changes": "detect",
    "model_keys": "detect",
    "version_key": "detect",
    "normalize_type": "types",
}


def __getattr__(name: str) -> Any:
    """``from dmesh_dbt.changes import find_changes`` loads ``changes.detect`` then, not with the package."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = f"{__name__}.{_LAZY[name]}"
    __import__(module)  # the import statement's machinery, unlike importlib's: `-X importtime` lists it
    return getattr(sys.modules[module], name)


__all__ = [
    "CHANGE_KINDS",
    "KEPT_VERSION_NOT_DEPRECATED",
    "Change",
    "ChangeKind",
    "Comparison",
    "Consumer",
    "Consumers",
    "change_finding",
    "compare_models",
    "compare_projects",
    "effective_strategy",
    "find_changes",
    "impacts_of",
    "model_keys",
    "normalize_type",
    "version_key",
]

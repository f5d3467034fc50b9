"""Breaking changes between two manifests of one domain, and the version gate (a thin face).

``changes/kinds.py``: the kinds of change (ids, fixes, examples) and the Change, Consumer and Comparison types;
``changes/detect.py``: ``find_changes`` and ``compare_models``; ``changes/gate.py``: ``compare_projects``, the
version gate and consumer impact; ``changes/types.py``: type families across adapters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from dmesh_dbt.lazy import face_getattr

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


__getattr__ = face_getattr(__name__, _LAZY)


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

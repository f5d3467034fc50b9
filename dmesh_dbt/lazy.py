"""A package face that loads a name's module when the name is first used (PEP 562's module ``__getattr__``).

Why: importing one module of a package runs its ``__init__``; a face that imported every module would make
``scan`` (which reads only the mesh policy) load every rule, and a check without a baseline load the manifest
comparison (issue 16: start-up time).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any


def face_getattr(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``'s face: each name in ``homes`` comes from the module it names."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = f"{package}.{homes[name]}"
        __import__(module)  # the import statement's machinery, unlike importlib's: `-X importtime` lists it
        return getattr(sys.modules[module], name)

    return __getattr__

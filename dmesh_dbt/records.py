"""Frozen dataclass instances made without their ``__init__``, where a command makes thousands (issue 16: speed).

A frozen dataclass's ``__init__`` (and so ``dataclasses.replace``) sets each field through ``object.__setattr__``,
about 80 ns a field: a 5,000-model manifest has 26 fields a model and 8 a column on 20,000 columns, a third of
modelling it. For the plain frozen dataclasses of this package (no ``__post_init__``, no ``InitVar``, no slots)
the instances made here are the ones ``__init__`` would make (tests/unit/test_manifest_reading.py compares them
field by field).
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any, TypeVar

_Record = TypeVar("_Record")


def filled(cls: type[_Record], values: dict[str, Any]) -> _Record:
    """An instance of the frozen dataclass ``cls`` holding ``values``: every field, by name, in field order."""
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


def changed(instance: _Record, **changes: Any) -> _Record:
    """``dataclasses.replace(instance, **changes)`` for a frozen dataclass: its fields only, so a value a
    ``cached_property`` kept in the instance's ``__dict__`` is worked out afresh from the changed fields, as
    ``replace`` would, never copied stale. A change that names no field is a TypeError, as with ``replace``."""
    names = _field_names(type(instance))  # type: ignore[arg-type]  # classes are hashable
    unknown = changes.keys() - set(names)
    if unknown:
        raise TypeError(f"{type(instance).__name__} has no field {', '.join(sorted(unknown))}")
    state = instance.__dict__
    made = object.__new__(type(instance))
    made.__dict__.update({name: state[name] for name in names}, **changes)
    return made


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(field.name for field in fields(cls))

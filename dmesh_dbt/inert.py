"""Text from another domain written into this project's dbt YAML as data: dbt must never run it as Jinja.

dbt renders the strings of its YAML files (descriptions, meta, config) with Jinja, in the consumer's process and
with the consumer's environment, so a producer's description reading ``{{ env_var('SECRET') }}`` would put the
consumer's secret into its manifest. Every ``{`` that opens a Jinja delimiter (``{{``, ``{%``, ``{#``) is
written as the expression ``{{ '{' }}``, which renders back to one ``{``: dbt shows the text exactly as the
producer wrote it, and nothing in it runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: A brace that would open a Jinja delimiter with the character after it.
_OPENING_BRACE = re.compile(r"\{(?=[{%#])")
_LITERAL_BRACE = "{{ '{' }}"


def dbt_literal(text: str) -> str:
    """``text`` as a string dbt renders back to exactly ``text``, running nothing in it."""
    return _OPENING_BRACE.sub(lambda _: _LITERAL_BRACE, text)


def dbt_literals(value: Any) -> Any:
    """``value`` with every string in it (mapping keys too, nested) made a dbt literal."""
    if isinstance(value, str):
        return dbt_literal(value)
    if isinstance(value, Mapping):
        return {dbt_literals(key): dbt_literals(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [dbt_literals(item) for item in value]
    return value

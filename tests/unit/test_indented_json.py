"""Reports in JSON and SARIF are written by orjson yet byte for byte what ``json.dumps(indent=2)`` writes."""

from __future__ import annotations

import json
import random
from datetime import date
from enum import Enum, IntEnum

import pytest

from dmesh_dbt.render import indented_json
from dmesh_dbt.report import Severity

#: Every ASCII character (controls and DEL too) and some beyond it: accents, the euro sign, line separators, a
#: byte order mark, CJK, and an emoji (a surrogate pair in json's escapes).
CHARACTERS = [chr(code) for code in range(0x80)] + ["é", "€", "\u2028", "\u2029", "\ufeff", "中", "😀", "\U0010ffff"]


def _document(rng: random.Random, depth: int = 0) -> object:
    text = "".join(rng.choice(CHARACTERS) for _ in range(rng.randint(0, 10)))
    choices: list[object] = [text, rng.randint(-(2**63), 2**64 - 1), True, False, None, Severity.ERROR]
    if depth < 3:
        choices += [
            [_document(rng, depth + 1) for _ in range(rng.randint(0, 3))],
            {text + str(i): _document(rng, depth + 1) for i in range(rng.randint(0, 3))},
            (),
        ]
    return rng.choice(choices)


def test_random_documents_come_out_as_json_dumps_writes_them() -> None:
    rng = random.Random(16)
    for _ in range(1000):
        document = {"findings": [_document(rng) for _ in range(3)]}
        assert indented_json(document) == json.dumps(document, indent=2)


class Colour(Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "document",
    [
        {"ratio": 1.5e-05, "big": 1e16, "plain": 0.5},  # floats: json's notation, not orjson's
        {"n": 2**64},  # past 64 bits
        {1: "a key that is not text"},
        [Level.HIGH, "é"],
    ],
)
def test_what_orjson_would_write_otherwise_goes_through_json(document: object) -> None:
    assert indented_json(document) == json.dumps(document, indent=2)


@pytest.mark.parametrize("document", [{"when": date(2027, 1, 31)}, [Colour.RED]])
def test_what_json_refuses_it_still_refuses(document: object) -> None:
    with pytest.raises(TypeError):
        indented_json(document)

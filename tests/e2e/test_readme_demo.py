"""README's demo transcript is what `scripts/demo.sh` prints: run the demo end to end and compare.

Every ```text block after a `<!-- demo transcript -->` marker in README.md is a transcript: its lines must appear in
the demo's output in the same order, each run of lines between `...` lines contiguous. Paths are normalised
(the demo runs in a temporary directory; README shows /tmp/demo) and timings too. About 70 s, in the normal suite.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import VENV_BIN

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MARKER = "<!-- demo transcript"
SHOWN_DEMO_DIR = "/tmp/demo"
GAP = "..."


def transcript_blocks(readme: str) -> list[list[str]]:
    """The lines of each ```text block that follows a demo-transcript marker."""
    blocks = []
    for part in readme.split(MARKER)[1:]:
        match = re.search(r"```text\n(.*?)```", part, re.DOTALL)
        assert match is not None, "a demo transcript marker without a ```text block after it"
        blocks.append(match.group(1).splitlines())
    return blocks


def normalise(line: str, demo_dir: Path | None = None) -> str:
    """Paths, timings and the mesh policy's digest (it changes with every policy edit) as README shows them."""
    if demo_dir is not None:
        line = line.replace(str(demo_dir), SHOWN_DEMO_DIR)
    line = re.sub(r"sha256 [0-9a-f]{64}", "sha256 ...", line)
    return re.sub(r"\(\d+(\.\d+)?s\)", "(N s)", line).rstrip()


def chunks(lines: list[str]) -> list[list[str]]:
    """Runs of lines between `...` gaps."""
    runs: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == GAP:
            runs.append([])
        else:
            runs[-1].append(normalise(line))
    return [run for run in runs if run]


def find_run(output: list[str], run: list[str], start: int) -> int:
    """The index just after ``run`` found contiguously in ``output`` at or after ``start``; -1 if it is not."""
    for index in range(start, len(output) - len(run) + 1):
        if output[index : index + len(run)] == run:
            return index + len(run)
    return -1


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    demo_dir = tmp_path_factory.mktemp("demo")
    # As on a fresh machine: no COLUMNS (pytest-xdist's workers get one, and a width set there wraps the report).
    unset = ("DMESH_MASKING_KEY", "DMESH_REGISTRY", "NO_COLOR", "COLUMNS", "LINES")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh"), str(demo_dir)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=900,
    )  # fmt: skip  (stderr merged, as a terminal shows both)
    assert result.returncode == 0, f"the demo failed:\n{result.stdout[-8000:]}"
    assert "\x1b[" not in result.stdout, "the demo wrote terminal escapes into a file"
    return [normalise(line, demo_dir) for line in result.stdout.splitlines()]


def test_readme_has_a_demo_transcript() -> None:
    blocks = transcript_blocks(README.read_text(encoding="utf-8"))
    assert blocks and all(chunks(block) for block in blocks)


def test_readme_transcripts_are_what_the_demo_prints(demo_output: list[str]) -> None:
    for block in transcript_blocks(README.read_text(encoding="utf-8")):
        position = 0
        for run in chunks(block):
            found = find_run(demo_output, run, position)
            assert found >= 0, (
                "README shows lines the demo does not print (in this order):\n"
                + "\n".join(run)
                + "\n-- the demo printed, from the first of them:\n"
                + "\n".join(_printed_near(demo_output, run[0], position))
            )
            position = found


def _printed_near(output: list[str], first: str, position: int, lines: int = 20) -> list[str]:
    """What the demo printed where README's run should start: its first line's next occurrence, else the rest."""
    start = next((i for i in range(position, len(output)) if output[i] == normalise(first)), position)
    return output[start : start + lines]


def test_the_demo_says_it_masks_with_the_development_key(demo_output: list[str]) -> None:
    # dbt's --quiet hides warnings; the dmesh macros print this one past it.
    assert any("hashes with the public development masking key" in line for line in demo_output)


def test_the_demo_records_risks_columns_without_a_second_consume(demo_output: list[str]) -> None:
    consumes = [line for line in demo_output if line.startswith("$ dmesh-dbt consume payments.customers")]
    assert consumes == ["$ dmesh-dbt consume payments.customers", "$ dmesh-dbt consume payments.customers@1"]
    assert "check: recorded that risk reads customer_id, email, country_code of payments.customers" in demo_output
    assert "  consumers: risk (customer_id, email, country_code)" in demo_output

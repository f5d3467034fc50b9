"""Timing helpers the benchmarks share (run them as `python bench/NAME.py`, so this folder is on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The fastest of ``repeat`` wall-clock timings of ``run()``: the least disturbed by other work on the machine."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)

"""Build time of `dmesh-dbt catalog` on a generated registry of 50 domains x 10 products x 3 releases.

    python bench/catalog.py [--domains 50] [--products 10] [--releases 3] [--runs 5]

Publishes the releases through the registry's own API (1,500 contracts, a consumer per domain; not timed), then
times the whole `dmesh-dbt catalog` process as a user runs it, median of --runs, against the goal of 10 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.catalog_registry import build_registry  # noqa: E402

GOAL_S = 10.0


def timed_build(registry: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one whole `dmesh-dbt catalog` process."""
    command = [str(Path(sys.executable).parent / "dmesh-dbt"), "catalog", "--registry", str(registry)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--products", type=int, default=10)
    parser.add_argument("--releases", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        registry = Path(scratch) / "registry"
        build_registry(registry, args.domains, args.products, args.releases)
        contracts = args.domains * args.products * args.releases
        runs = [timed_build(registry, Path(scratch) / "site") for _ in range(args.runs)]
        pages = sum(1 for _ in (Path(scratch) / "site").rglob("*.html"))
    timings = [wall for wall, _ in runs]
    median = statistics.median(timings)
    cpu = statistics.median(cpu for _, cpu in runs)
    print(f"dmesh-dbt catalog benchmark, {date.today()}, {platform.machine()} with {_cores()} cores")
    print(
        f"registry: {args.domains} domains x {args.products} products x {args.releases} releases "
        f"= {contracts} contracts"
    )
    print(
        f"site: {pages} pages; build (whole process) median of {args.runs}: {median:.2f} s "
        f"(min {min(timings):.2f} s, max {max(timings):.2f} s; CPU {cpu:.2f} s); goal < {GOAL_S:.0f} s: "
        f"{'met' if median < GOAL_S else 'NOT met'}"
    )


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()

"""How fast `dmesh-dbt check` reads and judges a manifest, beside a bare json.load and beside dbt-bouncer.

    python bench/check.py [--sizes 100,1000,5000] [--repeat 3]

Synthetic projects of 100, 1,000 and 5,000 models are generated from a real `dbt parse` of the example domain
(`dmesh-dbt init payments`): its public marts, private staging models and their tests are cloned, so every node
has the fields and bulk (SQL, config, macros) dbt writes. For each size it prints the CPU seconds (user +
system, so other load on a shared machine does not count) of the best of ``--repeat`` runs:

  json.load          a bare ``json.load`` of manifest.json (the floor: any tool must read the file)
  check              ``run_check`` in process, no baseline: read the manifest into the model, run every rule
  check --state      ``run_check`` against a previous manifest too (two manifests read, every change classified)
  CLI / dbt-bouncer  ``dmesh-dbt check`` and ``dbt-bouncer`` as processes, on the same manifest, with the rules
                     both have: public contracts enforced, columns typed and described, a unique test per model

dbt-bouncer 4.3.0 is pip-installed into its own virtualenv under ~/.cache/dmesh-bench (its pydantic and
dbt-artifacts-parser pins are not ours); without network the bouncer column says so and the rest still runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dmesh_dbt.check import baseline_from_state, run_check
from dmesh_dbt.project import COMPILE_SELECTION

BIN = Path(sys.executable).parent
BOUNCER = "dbt-bouncer==4.3.0"
BOUNCER_VENV = Path.home() / ".cache" / "dmesh-bench" / "dbt-bouncer-4.3.0"
BOUNCER_CONFIG = """\
dbt_artifacts_dir: target
manifest_checks:
  - name: check_model_contract_enforced_for_public_model
  - name: check_model_columns_have_types
    include: ^models/marts
  - name: check_model_column_description_populated
    include: ^models/marts
  - name: check_model_has_unique_test
    include: ^models/marts
"""


def parse_example_domain(workdir: Path) -> tuple[Path, dict[str, Any]]:
    """`dmesh-dbt init` the example domain and `dbt compile` its models, as check does: the real manifest the
    synthetic ones grow from, with the compiled SQL column lineage (DM011) reads."""
    project = workdir / "payments"
    subprocess.run([str(BIN / "dmesh-dbt"), "init", "payments", "--dir", str(project)], check=True, capture_output=True)
    dbt = [
        str(BIN / "dbt"),
        "compile",
        "--no-partial-parse",
        "--select",
        COMPILE_SELECTION,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
    ]
    subprocess.run(dbt, check=True, capture_output=True, cwd=project)
    return project, json.loads((project / "target" / "manifest.json").read_text())


def synthesize(seed: dict[str, Any], models: int) -> dict[str, Any]:
    """A manifest with ``models`` models: clones of the seed project's models with their tests, renamed."""
    manifest = copy.deepcopy(seed)
    package = manifest["metadata"]["project_name"]
    originals = [n for n in seed["nodes"].values() if n["resource_type"] == "model" and n["package_name"] == package]
    tests_of = {
        m["unique_id"]: [t for t in seed["nodes"].values() if t.get("attached_node") == m["unique_id"]]
        for m in originals
    }
    manifest["nodes"] = {k: v for k, v in seed["nodes"].items() if v["resource_type"] not in ("model", "test")}
    for index in range(models):
        original = originals[index % len(originals)]
        clone = _renamed(original, f"{original['name']}_{index}", package)
        manifest["nodes"][clone["unique_id"]] = clone
        for test in tests_of[original["unique_id"]]:
            test_clone = copy.deepcopy(test)
            test_clone["unique_id"] = f"{test['unique_id']}_{index}"
            test_clone["attached_node"] = clone["unique_id"]
            test_clone["depends_on"] = {**test["depends_on"], "nodes": [clone["unique_id"]]}
            manifest["nodes"][test_clone["unique_id"]] = test_clone
    return manifest


def _renamed(node: dict[str, Any], name: str, package: str) -> dict[str, Any]:
    clone = copy.deepcopy(node)
    clone.update(name=name, alias=name, unique_id=f"model.{package}.{name}")
    clone["relation_name"] = str(node.get("relation_name") or "").replace(node["name"], name)
    return clone


def drop_a_column_per_hundred(manifest: dict[str, Any]) -> dict[str, Any]:
    """The "new" manifest for check --state: one public model in a hundred loses a column."""
    changed = copy.deepcopy(manifest)
    public = [n for n in changed["nodes"].values() if n["resource_type"] == "model" and n.get("access") == "public"]
    for node in public[::100]:
        node["columns"].pop(next(iter(node["columns"])))
    return changed


def best_of(repeat: int, action: Callable[[], object]) -> float:
    """The least CPU time (user + system, this process and the processes it waited for) of ``repeat`` runs.

    CPU time, not wall time: the machine is shared, and CPU seconds do not count other processes' load.
    """
    times = []
    for _ in range(repeat):
        start = _cpu_seconds()
        action()
        times.append(_cpu_seconds() - start)
    return min(times)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def ensure_bouncer() -> Path | None:
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


def run_process(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):  # 1: the tool found violations, which is fine here
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")


def bench_size(
    seed_project: Path, seed: dict[str, Any], size: int, repeat: int, bouncer: Path | None
) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix=f"dmesh-bench-check-{size}-"))
    project = workdir / "payments"
    shutil.copytree(seed_project, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs"))
    (project / "target").mkdir()
    manifest = synthesize(seed, size)
    state = workdir / "state"
    state.mkdir()
    (state / "manifest.json").write_text(json.dumps(manifest))
    manifest_path = project / "target" / "manifest.json"
    manifest_path.write_text(json.dumps(drop_a_column_per_hundred(manifest)))
    (project / "dbt-bouncer.yml").write_text(BOUNCER_CONFIG)

    def load_json() -> object:
        with manifest_path.open("rb") as handle:
            return json.load(handle)

    timings = {
        "json.load": best_of(repeat, load_json),
        "check": best_of(repeat, lambda: run_check(project, parse=False)),
        "check --state": best_of(repeat, lambda: run_check(project, baseline_from_state(state), parse=False)),
        "cli": best_of(repeat, lambda: run_process([str(BIN / "dmesh-dbt"), "check", "--format", "json"], project)),
    }
    if bouncer is not None:
        command = [str(bouncer), "--config-file", "dbt-bouncer.yml"]
        timings["dbt-bouncer"] = best_of(repeat, lambda: run_process(command, project))
    shutil.rmtree(workdir, ignore_errors=True)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated model counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    args = parser.parse_args()
    bouncer = ensure_bouncer()
    with tempfile.TemporaryDirectory(prefix="dmesh-bench-seed-") as seed_dir:
        seed_project, seed = parse_example_domain(Path(seed_dir))
        header = (
            f"{'models':>7} {'MB':>6} {'json.load':>10} {'check':>7} {'x load':>7} "
            f"{'check --state':>14} {'x 2 loads':>10} {'CLI':>7} {'dbt-bouncer':>12} {'CLI / bouncer':>14}"
        )
        print(header)
        for size in (int(s) for s in args.sizes.split(",")):
            megabytes = len(json.dumps(synthesize(seed, size))) / 1e6
            t = bench_size(seed_project, seed, size, args.repeat, bouncer)
            bouncer_time = t.get("dbt-bouncer")
            print(
                f"{size:>7} {megabytes:>6.1f} {t['json.load']:>9.3f}s {t['check']:>6.3f}s "
                f"{t['check'] / t['json.load']:>6.2f}x {t['check --state']:>13.3f}s "
                f"{t['check --state'] / (2 * t['json.load']):>9.2f}x {t['cli']:>6.2f}s "
                + (
                    f"{bouncer_time:>11.2f}s {t['cli'] / bouncer_time:>13.2f}x"
                    if bouncer_time
                    else f"{'n/a':>12} {'n/a':>14}"
                ),
                flush=True,
            )
        print(
            "CPU seconds, best of",
            args.repeat,
            "runs; x load = check / json.load, x 2 loads = check --state / 2 json.load",
        )


if __name__ == "__main__":
    main()

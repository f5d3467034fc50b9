"""How long `dmesh-dbt check` takes as a process, beside a bare json.load of the manifest and beside dbt-bouncer.

    python bench/check.py [--sizes 1000,5000] [--runs 5]

Projects of each size are generated from a real `dbt compile` of the example domain (`dmesh-dbt init payments`):
one model in five is a clone of its public ``payments`` mart (contracted, typed, described, a unique test), the
others clones of its private ``stg_payments``, so the manifest weighs what real ones do (about 3.5 KB per model;
the table prints it). The clones keep their compiled SQL and read one another in chains of five (seed -> four
staging models -> a public one), so column lineage (DM011) parses every model and traces every public column.
The YAML that declares the clones is written too, so findings are located in real files.
Each size runs twice: with no findings, and with two per public model (a column without a description, a column
without a data_type), in the manifest and in the YAML alike.

Every figure is a whole process, as a user or a CI step runs it, timed in rounds: each round runs each command
once, in turn, so load on the shared machine falls on all of them alike. The table prints the median wall time
of ``--runs`` rounds and its ratio to the floor measured in the same rounds:

  json.load       ``python -c "import json; json.load(open(manifest))"``: any tool must at least read the file
  text / sarif    ``dmesh-dbt check`` (its default text report, to a pipe) and ``dmesh-dbt check --format sarif``
  dbt-bouncer     dbt-bouncer 4.3.0 with the checks both tools have: public contracts enforced, columns typed and
                  described, a unique test per model (installed by ``bench/peers.py`` into ~/.cache; without
                  network its column says n/a)

Each check is timed twice per round: ``cold``, with its lineage cache (``target/dmesh_lineage.cache``) deleted
first, so every model's SQL is parsed as on a fresh CI checkout; and ``warm``, right after, reading the cache the
cold run wrote, as a developer's repeated check of an unchanged project does. Rows say which.

Goals (issue 16): text and SARIF at most 2x json.load and at most 1/3 of dbt-bouncer; ``dmesh-dbt --help`` at
most 2x ``python -c pass``. Before timing, each check's output is verified: its exit code, the number of
findings, and a YAML line for every finding, cold and then warm.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from peers import ensure_bouncer  # noqa: E402  (bench/ is not a package)

from dmesh_dbt.lineage_cache import CACHE_FILE  # noqa: E402
from dmesh_dbt.project import COMPILE_SELECTION  # noqa: E402

BIN = Path(sys.executable).parent
#: As a CI step runs: no registry from the environment, and bytecode cached as a pip install leaves it.
ENV = {k: v for k, v in os.environ.items() if k not in ("DMESH_REGISTRY", "PYTHONDONTWRITEBYTECODE")}
PYTHON = sys.executable
PUBLIC_EVERY = 5  # one model in five is a public mart
MARTS_YAML = Path("models") / "marts" / "_marts.yml"
STAGING_YAML = Path("models") / "staging" / "_staging.yml"
#: The public mart's columns that lose their description and their data_type in the projects with findings.
UNDESCRIBED, UNTYPED = "card_brand", "amount_cents"
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


# ----------------------------------------------------------------------------------------------- projects


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


def synthesize(seed: dict[str, Any], models: int, findings: bool) -> dict[str, Any]:
    """A manifest of ``models`` models in chains of ``PUBLIC_EVERY``: a clone of the seed's private
    ``stg_payments`` reading its seed, three more reading each the one before, and a clone of the public
    ``payments`` (with its unique test) reading the last; each clone's compiled SQL and ``depends_on`` point at
    its parent, so column lineage (DM011) follows every public column through four models to the seed. With
    ``findings``, each public clone has an undescribed and an untyped column."""
    manifest = copy.deepcopy(seed)
    package = manifest["metadata"]["project_name"]
    nodes = seed["nodes"]
    public, private = nodes[f"model.{package}.payments"], nodes[f"model.{package}.stg_payments"]
    unique_test = next(
        n for n in nodes.values() if n.get("attached_node") == public["unique_id"] and _test_name(n) == "unique"
    )
    manifest["nodes"] = {k: v for k, v in nodes.items() if v["resource_type"] not in ("model", "test")}
    parent = nodes[private["depends_on"]["nodes"][0]]  # the seed the first model of each chain reads
    for index in range(models):
        is_public = index % PUBLIC_EVERY == PUBLIC_EVERY - 1
        template = public if is_public else private
        clone = _renamed(template, f"{'orders' if is_public else 'stg_orders'}_{index}")
        upstream = nodes[template["depends_on"]["nodes"][0]] if index % PUBLIC_EVERY == 0 else parent
        _reads(clone, nodes[template["depends_on"]["nodes"][0]], upstream)
        manifest["nodes"][clone["unique_id"]] = clone
        parent = clone
        if not is_public:
            continue
        if findings:
            clone["columns"][UNDESCRIBED]["description"] = ""
            clone["columns"][UNTYPED]["data_type"] = None
        test = copy.deepcopy(unique_test)
        test.update(unique_id=f"{unique_test['unique_id']}_{index}", attached_node=clone["unique_id"])
        test["depends_on"] = {**unique_test["depends_on"], "nodes": [clone["unique_id"]]}
        manifest["nodes"][test["unique_id"]] = test
    manifest["parent_map"], manifest["child_map"] = {}, {}
    return manifest


def _reads(clone: dict[str, Any], was: dict[str, Any], now: dict[str, Any]) -> None:
    """Point ``clone`` (compiled SQL and ``depends_on``) at ``now`` where its template read ``was``."""
    clone["compiled_code"] = clone["compiled_code"].replace(was["relation_name"], now["relation_name"])
    clone["depends_on"] = {**clone["depends_on"], "nodes": [now["unique_id"]]}


def _test_name(node: dict[str, Any]) -> str | None:
    return (node.get("test_metadata") or {}).get("name")


def _renamed(node: dict[str, Any], name: str) -> dict[str, Any]:
    clone = copy.deepcopy(node)
    package = node["package_name"]
    clone.update(name=name, alias=name, unique_id=f"model.{package}.{name}")
    clone["fqn"] = [*node["fqn"][:-1], name]
    for key in ("path", "original_file_path"):
        clone[key] = node[key].replace(node["name"], name)
    clone["relation_name"] = str(node.get("relation_name") or "").replace(node["name"], name)
    return clone


def schema_yaml(manifest: dict[str, Any], access: str) -> str:
    """The YAML that declares the manifest's models of ``access``, as a domain would write it."""
    lines = ["version: 2", "", "models:"]
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node.get("access") != access:
            continue
        lines += [f"  - name: {node['name']}", f"    description: {json.dumps(node['description'])}", "    columns:"]
        for column in node["columns"].values():
            lines.append(f"      - name: {column['name']}")
            if column["description"]:
                lines.append(f"        description: {json.dumps(column['description'])}")
            if column["data_type"]:
                lines.append(f"        data_type: {column['data_type']}")
            if column["meta"]:
                lines.append(f"        meta: {json.dumps(column['meta'])}")
    return "\n".join(lines) + "\n"


def write_project(seed_project: Path, seed: dict[str, Any], workdir: Path, size: int, findings: bool) -> Path:
    """The generated project on disk: the seed's files, the clones' YAML, then (newest) the manifest."""
    project = workdir / f"payments-{size}-{'findings' if findings else 'clean'}"
    ignored = shutil.ignore_patterns("target", "logs", "models")
    shutil.copytree(seed_project, project, ignore=ignored, symlinks=True)
    manifest = synthesize(seed, size, findings)
    for path, access in ((MARTS_YAML, "public"), (STAGING_YAML, "private")):
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(schema_yaml(manifest, access))
    (project / "dbt-bouncer.yml").write_text(BOUNCER_CONFIG)
    # No registry: check's own work (the policy over one manifest), not reading a baseline as well.
    descriptor = project / "dmesh.yml"
    descriptor.write_text("".join(x for x in descriptor.read_text().splitlines(True) if not x.startswith("registry:")))
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text(json.dumps(manifest))
    return project


# ----------------------------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Command:
    label: str
    argv: list[str]
    cold: bool = False  # delete check's lineage cache first (not timed)


def run_timed(
    argv: list[str], cwd: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[bytes], float, float]:
    """The finished process, its wall seconds and its CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def median_seconds(
    commands: list[Command], runs: int, cwd: Path, env: dict[str, str] = ENV
) -> dict[str, dict[str, float]]:
    """Per clock ("wall", and "cpu": user + system seconds of the process), each command's median over ``runs``
    rounds; each round runs every command once, in turn."""
    times: dict[str, dict[str, list[float]]] = {"wall": {}, "cpu": {}}
    for _ in range(runs):
        for command in commands:
            if command.cold:
                (cwd / "target" / CACHE_FILE).unlink(missing_ok=True)
            result, wall, cpu = run_timed(command.argv, cwd, env)
            if result.returncode not in (0, 1):  # 1: the tool found violations
                raise RuntimeError(f"{command.argv} exited {result.returncode}:\n{result.stderr.decode()}")
            times["wall"].setdefault(command.label, []).append(wall)
            times["cpu"].setdefault(command.label, []).append(cpu)
    return {clock: {k: statistics.median(v) for k, v in by.items()} for clock, by in times.items()}


def verify_check(project: Path, findings: bool, public_models: int) -> None:
    """Fail loudly unless check reports what the project holds, computing its lineage and then reading it from
    the cache: a bench of a broken check measures nothing."""
    (project / "target" / CACHE_FILE).unlink(missing_ok=True)
    for _ in ("cold", "warm"):
        _verify_check_once(project, findings, public_models)
    if not (project / "target" / CACHE_FILE).is_file():
        raise RuntimeError(f"check in {project} wrote no lineage cache")


def _verify_check_once(project: Path, findings: bool, public_models: int) -> None:
    argv = [str(BIN / "dmesh-dbt"), "check", "--format", "sarif"]
    result = subprocess.run(argv, cwd=project, env=ENV, capture_output=True, text=True, check=False)
    expected_exit, expected_results = (1, 2 * public_models) if findings else (0, 0)
    results = json.loads(result.stdout)["runs"][0]["results"] if result.stdout else []
    lines = [r["locations"][0]["physicalLocation"].get("region", {}).get("startLine") for r in results]
    if result.returncode != expected_exit or len(results) != expected_results or None in lines:
        raise RuntimeError(
            f"check in {project}: exit {result.returncode} (expected {expected_exit}), {len(results)} findings "
            f"(expected {expected_results}), {lines.count(None)} without a line\n{result.stderr}"
        )
    if result.stderr.strip():  # e.g. "check: running dbt parse": the manifest was meant to be fresh
        raise RuntimeError(f"check in {project} wrote to stderr:\n{result.stderr}")


def bench_project(project: Path, runs: int, bouncer: Path | None) -> dict[str, dict[str, float]]:
    check = [str(BIN / "dmesh-dbt"), "check"]
    commands = [
        Command("json.load", [PYTHON, "-c", "import json; json.load(open('target/manifest.json'))"]),
        Command("text cold", check, cold=True),
        Command("text", check),
        Command("sarif cold", [*check, "--format", "sarif"], cold=True),
        Command("sarif", [*check, "--format", "sarif"]),
    ]
    if bouncer is not None:
        commands.append(Command("dbt-bouncer", [str(bouncer), "--config-file", "dbt-bouncer.yml"]))
    return median_seconds(commands, runs, project)


#: The help and version lines timed, as the console script answers them (from its help cache once warm).
HELP_LINES = (("--help",), ("check", "--help"), ("--version",))


def bench_help(runs: int) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Per help line, its first run on an empty help cache (one run: "cold", by clock), then the medians of
    ``runs`` rounds of every help line and ``python -c pass`` ("warm", as every later run finds the cache)."""
    dmesh = str(BIN / "dmesh-dbt")
    with tempfile.TemporaryDirectory(prefix="dmesh-bench-help-") as cache:
        env = {**ENV, "XDG_CACHE_HOME": cache}  # never the user's own cache: cold must mean cold
        cold = {" ".join(line): _first_run([dmesh, *line], env) for line in HELP_LINES}  # also the warm-up
        commands = [Command("python -c pass", [PYTHON, "-c", "pass"])]
        commands += [Command(" ".join(line), [dmesh, *line]) for line in HELP_LINES]
        return cold, median_seconds(commands, runs, Path.cwd(), env)


def _first_run(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    result, wall, cpu = run_timed(argv, Path.cwd(), env)
    if result.returncode != 0:
        raise RuntimeError(f"{argv} exited {result.returncode}:\n{result.stderr.decode()}")
    return {"wall": wall, "cpu": cpu}


def entry_note() -> str | None:
    """A warning when the installed console script predates the help cache's entry point (an old install)."""
    script = BIN / "dmesh-dbt"
    if "dmesh_dbt._entry" in script.read_text(encoding="utf-8", errors="replace"):
        return None
    return f"note: {script} does not run dmesh_dbt._entry (installed before it): `pip install -e .` again"


# ----------------------------------------------------------------------------------------------- report


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value is not None and base else "n/a"


HEADER = (
    f"{'clock':<5} {'cache':<5} {'models':>6} {'findings':>8} {'MB':>5} {'KB/m':>4} {'json.load':>9} {'text':>7} "
    f"{'x load':>6} {'sarif':>7} {'x load':>6} {'bouncer':>7} {'text/b':>6} {'sarif/b':>7}"
)


def print_row(clock: str, cache: str, size: int, findings: int, size_bytes: int, t: dict[str, float]) -> None:
    bouncer, floor = t.get("dbt-bouncer"), t["json.load"]
    suffix = " cold" if cache == "cold" else ""
    text, sarif = t[f"text{suffix}"], t[f"sarif{suffix}"]
    print(
        f"{clock:<5} {cache:<5} {size:>6} {findings:>8} {size_bytes / 1e6:>5.1f} {size_bytes / size / 1e3:>4.1f} "
        f"{floor:>9.3f} {text:>7.3f} {_ratio(text, floor):>6} {sarif:>7.3f} "
        f"{_ratio(sarif, floor):>6} {bouncer if bouncer else float('nan'):>7.2f} "
        f"{_ratio(text, bouncer):>6} {_ratio(sarif, bouncer):>7}",
        flush=True,
    )


def bench_checks(sizes: list[int], runs: int, bouncer: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="dmesh-bench-check-") as tmp:
        seed_project, seed = parse_example_domain(Path(tmp))
        print(HEADER)
        for size in sizes:
            public_models = len(range(PUBLIC_EVERY - 1, size, PUBLIC_EVERY))
            for findings in (False, True):
                project = write_project(seed_project, seed, Path(tmp), size, findings)
                verify_check(project, findings, public_models)
                timings = bench_project(project, runs, bouncer)
                size_bytes = (project / "target" / "manifest.json").stat().st_size
                for clock, by_command in timings.items():
                    for cache in ("cold", "warm"):
                        print_row(clock, cache, size, 2 * public_models if findings else 0, size_bytes, by_command)
                shutil.rmtree(project)


def print_help(cold: dict[str, dict[str, float]], warm: dict[str, dict[str, float]]) -> None:
    """One line per clock: each help line's warm median and its ratio to python -c pass's, then the cold runs."""
    for clock, t in warm.items():
        floor = t["python -c pass"]
        shown = ", ".join(f"{label} {t[label]:.3f}s {_ratio(t[label], floor)}" for label in cold)
        print(f"{clock:<5} dmesh-dbt {shown}; python -c pass {floor:.3f}s (warm help cache, median)")
    for clock in warm:
        floor = warm[clock]["python -c pass"]
        shown = ", ".join(f"{label} {t[clock]:.3f}s {_ratio(t[clock], floor)}" for label, t in cold.items())
        print(f"{clock:<5} dmesh-dbt {shown} (cold: first run on an empty help cache, one run each)")
    note = entry_note()
    if note:
        print(note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,5000", help="comma-separated model counts; empty: only the --help timings"
    )
    parser.add_argument("--runs", type=int, default=5, help="rounds per measurement; the median is printed")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    bouncer = ensure_bouncer() if sizes else None
    load = os.getloadavg()
    print(
        f"dmesh-dbt check benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{os.cpu_count()} CPUs, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, Python {platform.python_version()}; "
        f"seconds, median of {args.runs} rounds (wall: elapsed; cpu: user + system of the process)"
    )
    if sizes:
        bench_checks(sizes, args.runs, bouncer)
    print_help(*bench_help(args.runs))
    print("goals: x load <= 2.00x, text/b and sarif/b <= 0.33x, --help <= 2.00x")


if __name__ == "__main__":
    main()

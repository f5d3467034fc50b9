"""What parsing costs when `check` must parse first: full parsing (``--no-partial-parse``) against partial.

    python bench/parse.py [--models 200] [--runs 3]

The example domain (`dmesh-dbt init payments`) grows ``--models`` extra private models (SQL and YAML). After a
first parse, each round edits one model's description and times ``dbt parse --no-partial-parse`` and
``dbt parse`` (partial, reading target/partial_parse.msgpack), each after the same edit. Then the same for the
command a user runs: ``dmesh-dbt check`` after the edit, which compiles the models first (column lineage reads
their compiled SQL), once without dbt's saved parse state (so dbt parses in full) and once with it. Then it
deletes a model file and compares the nodes each way finds, for ``dbt parse`` and for ``check`` (which drops the
saved state when a file it describes is gone): partial parsing is only worth using if it is also right.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dmesh_dbt.project import PARTIAL_PARSE_STATE, compile_parse_state, target_dir

BIN = Path(sys.executable).parent
EXTRA_YAML = Path("models") / "staging" / "_extra.yml"
#: As a CI step runs check: no registry from the environment.
ENV = {k: v for k, v in os.environ.items() if k != "DMESH_REGISTRY"}


def make_project(workdir: Path, models: int) -> Path:
    project = workdir / "payments"
    subprocess.run([str(BIN / "dmesh-dbt"), "init", "payments", "--dir", str(project)], check=True, capture_output=True)
    lines = ["version: 2", "models:"]
    for index in range(models):
        sql = project / "models" / "staging" / f"stg_extra_{index}.sql"
        sql.write_text(f"select {index} as id, 'x' as label from {{{{ ref('stg_payments') }}}}\n")
        lines += [f"  - name: stg_extra_{index}", f"    description: extra model {index}", "    columns:"]
        lines += ["      - name: id", "        data_tests: [unique]", "      - name: label"]
    (project / EXTRA_YAML).write_text("\n".join(lines) + "\n")
    return project


def parse(project: Path, *flags: str) -> float:
    command = [
        str(BIN / "dbt"),
        "parse",
        "--quiet",
        *flags,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=project)
    return time.perf_counter() - start


def check(project: Path) -> tuple[float, str]:
    """``dmesh-dbt check`` as a user runs it: seconds, and its line saying why and how it compiles first."""
    command = [str(BIN / "dmesh-dbt"), "check", "--format", "json", "--project-dir", str(project)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=project, env=ENV, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise RuntimeError(f"check exited {result.returncode}:\n{result.stderr}")
    return elapsed, next((line for line in result.stderr.splitlines() if "first:" in line), "(no compile)")


def forget_parse_state(project: Path) -> None:
    for state in (target_dir(project) / PARTIAL_PARSE_STATE, compile_parse_state(project)):
        state.unlink(missing_ok=True)


def edit(project: Path, round_number: int) -> None:
    path = project / EXTRA_YAML
    text = path.read_text()
    path.write_text(text.replace("description: extra model 0", f"description: extra model 0 (edit {round_number})", 1))


def node_ids(project: Path) -> set[str]:
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return set(manifest["nodes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200, help="extra models beside the example domain's")
    parser.add_argument("--runs", type=int, default=3, help="rounds; the median is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dmesh-bench-parse-") as tmp:
        project = make_project(Path(tmp), args.models)
        parse(project)  # the first parse writes target/partial_parse.msgpack
        full, partial = [], []
        for number in range(args.runs):
            edit(project, 2 * number)
            full.append(parse(project, "--no-partial-parse"))
            edit(project, 2 * number + 1)
            partial.append(parse(project))
        print(
            f"dbt parse after a one-line YAML edit, {args.models + 4} models, median of {args.runs}: "
            f"--no-partial-parse {statistics.median(full):.2f}s, partial {statistics.median(partial):.2f}s "
            f"({statistics.median(partial) / statistics.median(full):.2f}x)"
        )
        check(project)  # the first check compiles and saves the compile's parse state
        full_checks, partial_checks, said = [], [], {}
        for number in range(args.runs):
            edit(project, 2 * args.runs + 2 * number)
            forget_parse_state(project)
            elapsed, said["full"] = check(project)
            full_checks.append(elapsed)
            edit(project, 2 * args.runs + 2 * number + 1)
            elapsed, said["partial"] = check(project)
            partial_checks.append(elapsed)
        full_check, partial_check = statistics.median(full_checks), statistics.median(partial_checks)
        print(
            f"dmesh-dbt check after a one-line YAML edit (it compiles first), median of {args.runs}: "
            f"without saved parse state {full_check:.2f}s, partial {partial_check:.2f}s "
            f"({partial_check / full_check:.2f}x)"
        )
        for way, line in said.items():
            print(f"  {way}: {line}")
        (project / "models" / "staging" / "stg_extra_1.sql").unlink()
        text = (project / EXTRA_YAML).read_text()
        (project / EXTRA_YAML).write_text(text.replace("  - name: stg_extra_1\n", "  - name: stg_extra_1_gone\n"))
        parse(project)
        partial_nodes = node_ids(project)
        parse(project, "--no-partial-parse")
        full_nodes = node_ids(project)
        verdict = "same nodes" if partial_nodes == full_nodes else f"DIFFERENT: {sorted(partial_nodes ^ full_nodes)}"
        print(f"after deleting a model file: partial and full parsing find {verdict}")
        (project / "models" / "staging" / "stg_extra_2.sql").unlink()
        text = (project / EXTRA_YAML).read_text()
        (project / EXTRA_YAML).write_text(text.replace("  - name: stg_extra_2\n", "  - name: stg_extra_2_gone\n"))
        _, line = check(project)
        checked_nodes = node_ids(project)
        parse(project, "--no-partial-parse")
        full_nodes = node_ids(project)
        verdict = "same nodes" if checked_nodes == full_nodes else f"DIFFERENT: {sorted(checked_nodes ^ full_nodes)}"
        print(f"after deleting another: check's compile and a full parse find {verdict}\n  {line}")


if __name__ == "__main__":
    main()

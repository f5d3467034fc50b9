#!/usr/bin/env bash
# README command (2): set up a fresh machine and run the whole test suite, with lint and type checks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
# Real engines for the integration tests: a PostgreSQL server and a BigQuery emulator, both on 127.0.0.1.
# shellcheck source=scripts/engines.sh
source scripts/engines.sh
start_engines
trap stop_engines EXIT
ruff check dmesh_dbt tests bench
ruff format --check dmesh_dbt tests bench  # one layout, so a diff shows only what changed
mypy dmesh_dbt
# One worker per core, each test file on one worker (its module fixtures build a dbt project once); each worker
# starts its own PostgreSQL and emulator on free ports. Pass -n 0 to run in one process.
pytest -q -n auto --dist loadfile "$@"

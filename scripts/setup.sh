#!/usr/bin/env bash
# Create .venv (if needed) and install dmesh-dbt with everything the demo and the tests use. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "Setting up .venv (dmesh-dbt, dbt-core 1.11, dbt-duckdb, dbt-bigquery, dbt-postgres)..."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# dbt-loom goes into .dbt-loom/, apart from the venv: its plugin would otherwise patch every dbt run. The mesh
# e2e test puts it on PYTHONPATH to prove a consumer can ref() a published product through it.
if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[postgres,test]" \
      && .venv/bin/python -m pip install --no-deps --upgrade --target .dbt-loom "dbt-loom==0.9.6"; } >"$log" 2>&1; then
  cat "$log"
  echo "setup failed: see the pip output above" >&2
  exit 1
fi

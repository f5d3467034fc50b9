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
if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[postgres,test]"; } >"$log" 2>&1; then
  cat "$log"
  echo "setup failed: see the pip output above" >&2
  exit 1
fi

#!/usr/bin/env bash
# Create .venv (if needed) and install dmesh-dbt with everything the demo and the tests use. Idempotent: a warm run
# (same pyproject.toml, same Python) skips pip entirely; the install is editable, so code changes need no reinstall.
set -euo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
stamp=".venv/.dmesh-setup-stamp"
wanted="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1) $(python3 --version 2>&1)"
if [ -x .venv/bin/python ] && [ -x .venv/bin/dmesh-dbt ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  echo "Setting up .venv: up to date (delete .venv to reinstall)"
  exit 0
fi
started=$(date +%s)
step() { echo "Setting up .venv: $* ($(( $(date +%s) - started )) s so far)"; }
step "dmesh-dbt with dbt-core 1.11, dbt-duckdb, dbt-bigquery, dbt-postgres; the first run downloads about 800 MB" \
  "and takes 1-6 minutes"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
run() {
  if ! "$@" >"$log" 2>&1; then
    cat "$log"
    echo "setup failed: see the pip output above" >&2
    exit 1
  fi
}
# uv installs the same versions as pip (`pip freeze` compared) in a fraction of the time: this whole set-up took
# 64 s in a fresh clone's .ci/run against 218 s for pip's install alone (2026-12-02, this 2-core VM). Should
# uv be unavailable or fail, pip installs as before. --compile-bytecode, as pip does: without .pyc files, every
# dbt process under PYTHONDONTWRITEBYTECODE compiles its hundreds of modules again (the suite then took 1.4x).
step "installing dmesh-dbt and its dependencies (uv pip install -e '.[postgres,test]')"
if ! { .venv/bin/python -m pip install --quiet uv >"$log" 2>&1 &&
  .venv/bin/python -m uv pip install --compile-bytecode --python .venv/bin/python -e ".[postgres,test]" \
    >"$log" 2>&1; }; then
  step "uv failed (its output follows); installing with pip instead"
  cat "$log"
  run .venv/bin/python -m pip install --upgrade pip
  run .venv/bin/python -m pip install -e ".[postgres,test]"
fi
# dbt-loom goes into .dbt-loom/, apart from the venv: its plugin would otherwise patch every dbt run. The mesh
# e2e test puts it on PYTHONPATH to prove a consumer can ref() a published product through it.
step "installing dbt-loom 0.9.6 apart, into .dbt-loom/"
run .venv/bin/python -m pip install --no-deps --upgrade --target .dbt-loom "dbt-loom==0.9.6"
echo "$wanted" >"$stamp"
step "done"

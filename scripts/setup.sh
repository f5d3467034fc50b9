#!/usr/bin/env bash
# Create .venv (if needed) and install dmesh-dbt with everything the demo and the tests use. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[postgres,test]"

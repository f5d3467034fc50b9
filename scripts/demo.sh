#!/usr/bin/env bash
# README command (1): set up a fresh machine and run the end-to-end mesh demo on the embedded DuckDB default.
# Two domains are created side by side in ./demo (or $1) and built with plain dbt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
export DO_NOT_TRACK=1

demo="${1:-demo}"
rm -rf "$demo"
mkdir -p "$demo"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Create two domains: payments (the producer) and risk (a consumer)"
dmesh-dbt init payments --dir "$demo/payments" --owner payments-team@example.com \
  --description "Card payments and the customers who make them."
dmesh-dbt init risk --dir "$demo/risk" --owner risk-team@example.com --no-examples \
  --description "Fraud and credit risk scores."

step "Build payments with plain dbt (DuckDB file, offline)"
(cd "$demo/payments" && dbt build --no-partial-parse --quiet)
echo "payments built: $(ls "$demo/payments/warehouse.duckdb")"

step "Build risk"
(cd "$demo/risk" && dbt build --no-partial-parse --quiet)

step "Done: the mesh lives in $demo/"

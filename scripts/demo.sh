#!/usr/bin/env bash
# README command (1): set up a fresh machine and run the end-to-end mesh demo on the embedded DuckDB default.
# Two domains are created side by side in ./demo (or $1), sharing the registry ./demo/registry:
# payments builds, checks, scans and publishes its masked data products; risk consumes payments.customers,
# builds on it, and a breaking change in payments is then blocked because it would hit risk.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
export DO_NOT_TRACK=1

demo="${1:-demo}"
rm -rf "$demo"
mkdir -p "$demo"
demo="$(cd "$demo" && pwd)"
# Styles only on a terminal, and never under NO_COLOR: a log or a file gets plain lines.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' dim=$'\033[2m' plain=$'\033[0m'; else bold='' dim='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '%s$ %s%s\n' "$dim" "$*" "$plain"; "$@"; }

step "1. Create two domains: payments (producer) and risk (consumer)"
show dmesh-dbt init payments --dir "$demo/payments" --owner payments-team@acme.test \
  --description "Card payments and the customers who make them."
show dmesh-dbt init risk --dir "$demo/risk" --owner risk-team@acme.test --no-examples \
  --description "Fraud and credit risk scores."

step "2. payments: plain dbt build on DuckDB (marts are published masked into main_published)"
cd "$demo/payments"
show dbt build --no-partial-parse --quiet
python - <<'PY'
import duckdb
con = duckdb.connect("warehouse.duckdb", read_only=True)
print("raw (main.customers, never leaves the domain):")
print(con.sql("select customer_id, email, ssn, date_of_birth from main.customers order by customer_id limit 3"))
print("published (main_published.customers, what consumers read):")
print(con.sql("select customer_id, email, ssn, date_of_birth from main_published.customers order by customer_id limit 3"))
PY

step "3. payments: the mesh policy and the PII backstop"
show dmesh-dbt check
show dmesh-dbt scan --sample-rows 200

step "4. payments: publish release 1.0.0 (ODCS contracts + dbt-loom manifest) to $demo/registry"
show dmesh-dbt publish
show dmesh-dbt registry list

step "5. risk: consume payments.customers and build a model on it"
cd "$demo/risk"
show dmesh-dbt consume payments.customers
cat > models/customer_risk.sql <<'SQL'
-- Risk band per customer, from the payments domain's published (masked) customers.
select
    customer_id,
    email,
    country_code,
    case when country_code = 'US' then 'low' else 'review' end as risk_band
from {{ source('payments', 'customers') }}
SQL
show dbt build --no-partial-parse --quiet
show dmesh-dbt check   # in a consumer, also records the columns its compiled models read
show dmesh-dbt registry show payments.customers

step "6. payments: dropping a column risk reads, without a new model version, is blocked"
cd "$demo/payments"
cp models/marts/customers.sql "$demo/customers.sql.orig"
sed -i '/    customers.email,/d' models/marts/customers.sql
python - <<'PY'
from pathlib import Path
path = Path("models/marts/_marts.yml")
text = path.read_text()
block = "      - name: email\n        description: Contact email address, lowercased.\n        data_type: *string\n        meta: {pii: email}\n"
path.write_text(text.replace(block, "", 1))
PY
set +e
show dmesh-dbt check   # baseline: the last release in dmesh.yml's registry
status=$?
set -e
echo "check exit code: $status (1 = violations: the change would break risk)"
[ "$status" -eq 1 ]

step "7. payments: the same change as a new model version passes; risk keeps building on v1"
cd "$demo/payments"
cp models/marts/customers.sql models/marts/customers_v2.sql   # v2: step 6's change, without email
cp "$demo/customers.sql.orig" models/marts/customers.sql       # v1: as published
python - <<'PY'
from pathlib import Path
path = Path("models/marts/_marts.yml")
text = path.read_text()
email = "      - name: email\n        description: Contact email address, lowercased.\n        data_type: *string\n        meta: {pii: email}\n"
phone = "      - name: phone\n"
header = "  - name: customers\n    description: One row per customer, with lifetime totals of their succeeded payments.\n"
versions = (
    "    latest_version: 2\n    versions:\n      - v: 1\n        defined_in: customers\n"
    "        deprecation_date: 2027-06-30\n        config: {alias: customers}\n"
    "      - v: 2\n        columns:\n          - include: all\n            exclude: [email]\n"
)
path.write_text(text.replace(phone, email + phone, 1).replace(header, header + versions, 1))
PY
sed -i 's/^version: "1.0.0"/version: "1.1.0"/' dbt_project.yml
show dbt build --no-partial-parse --quiet
show dmesh-dbt check   # baseline: the last release in dmesh.yml's registry
show dmesh-dbt publish
cd "$demo/risk"
show dmesh-dbt consume payments.customers@1
show dbt build --no-partial-parse --quiet
show dmesh-dbt registry list

step "8. the mesh catalog: one static site of every domain, product, consumer and PII flow"
show dmesh-dbt catalog --out "$demo/catalog"

step "Done: the mesh lives in $demo (registry in $demo/registry; open $demo/catalog/index.html in a browser)"

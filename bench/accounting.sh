#!/usr/bin/env bash
# Automatic posting end to end, and report latency (issue 11 "Performance"). NOT YET RUN: written while the
# machine was shared; its figures belong in docs/benchmarks.md once it has run on a quiet machine.
#
#   1. release build of `atlas`, a private PostgreSQL cluster (scripts/lib/pg.sh), a fresh database
#   2. `atlas admin create-merchant` (sandbox key), a user (owner, Enterprise tier) of its organization,
#      `atlas serve`, then over the API: login, a company in NZD (the sales' currency), `setup-coa`
#   3. wrk: CONNECTIONS connections POSTing test-mode SALEs (a unique Idempotency-Key each) for DURATION s;
#      every sale credits the same revenue account (the hot account)
#   4. waits until the ledger has caught up: one journal entry per approved sale (consumer accounting.ledger);
#      prints sales/s over load + catch-up, the catch-up seconds, wrk's p50/p99, and lock waits seen meanwhile
#   5. REPORT_CALLS sequential GETs of trial balance, profit and loss and balance sheet: p50/p99 each
#
# Usage: bench/accounting.sh     env: DURATION=20 CONNECTIONS=64 REPORT_CALLS=200 PGPORT=55461 ATLAS_BIN=(prebuilt)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/pg.sh
source scripts/lib/deps.sh
atlas_apt_install wrk >&2

duration="${DURATION:-20}"
connections="${CONNECTIONS:-64}"
report_calls="${REPORT_CALLS:-200}"
pg_dir="${PGDIR:-/tmp/atlas-bench-accounting-pg}"
pg_port="${PGPORT:-55461}"
work_dir=".build/accounting-bench"
mkdir -p "$work_dir"

if [ -n "${ATLAS_BIN:-}" ]; then
    atlas="$ATLAS_BIN"
else
    swift build -c release --product atlas >&2
    atlas="$(swift build -c release --show-bin-path)/atlas"
fi

pg_local_start "$pg_dir" "$pg_port" >&2
psql_app() { "$ATLAS_TEST_PGBIN/psql" -h "$pg_dir" -p "$pg_port" -U atlas -d atlas_accounting_bench -qtA "$@"; }
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    pg_local_stop "$pg_dir" >&2 || true
}
trap cleanup EXIT
"$ATLAS_TEST_PGBIN/psql" -h "$pg_dir" -p "$pg_port" -U atlas -d postgres -qtA \
    -c "DROP DATABASE IF EXISTS atlas_accounting_bench" -c "CREATE DATABASE atlas_accounting_bench"
app_url="postgresql://atlas@/atlas_accounting_bench?host=$(cd "$pg_dir" && pwd -P)&port=$pg_port"
admin() { DATABASE_URL="$app_url" LOG_LEVEL=error "$atlas" admin "$@" 2>/dev/null; }

created=$(admin create-merchant --name Bench)
org=$(echo "$created" | sed -n 's/^organization //p')
merchant=$(echo "$created" | sed -n 's/^merchant //p')
key=$(echo "$created" | sed -n 's/.*(shown once): //p')
password="bench password $(date +%s)"
admin create-user --org "$org" --merchant "$merchant" --email owner@bench.example --password "$password" --role owner >/dev/null
admin set-org-tier --org "$org" --tier enterprise >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="$app_url" PORT="$port" HOST=127.0.0.1 ATLAS_ACCESS_LOG=false LOG_LEVEL=warning "$atlas" serve >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
base="http://127.0.0.1:$port/api/v1"
token=$(curl -fsS -X POST "$base/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"owner@bench.example\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')
company=$(curl -fsS -X POST "$base/companies/" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"Bench Books","fiscal_year_start_date":"2026-01-01","base_currency":"NZD"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fsS -X POST "$base/accounts/setup-coa?company_id=$company" -H "Authorization: Bearer $token" >/dev/null

run_id=$(date +%s%N)
cat > "$work_dir/sale.lua" <<LUA
local body = '{"type":"SALE","amount":2500,"tipAmount":300,"currency":"NZD"}'
local thread_count = 0
function setup(thread) thread:set("thread_id", thread_count); thread_count = thread_count + 1 end
function init(args) counter = 0 end
function request()
    counter = counter + 1
    return wrk.format("POST", "/v1/transaction/sale", {
        ["Content-Type"] = "application/json", ["X-Api-Key"] = "$key",
        ["Idempotency-Key"] = "acct-${run_id}-" .. thread_id .. "-" .. counter,
    }, body)
end
LUA

echo "wrk: $connections connections, ${duration} s (one key: its rate limit caps the load; raise it for a full run)" >&2
started=$(date +%s.%N)
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work_dir/sale.lua" "http://127.0.0.1:$port" | tee "$work_dir/wrk.txt" >&2
load_ended=$(date +%s.%N)
lock_waits=0
while :; do
    sales=$(psql_app -c "SELECT count(*) FROM transactions WHERE status = 'APPROVED'")
    entries=$(psql_app -c "SELECT count(*) FROM accounting_journal_entries WHERE source_type = 'transaction'")
    waits=$(psql_app -c "SELECT count(*) FROM pg_locks WHERE NOT granted")
    lock_waits=$((lock_waits > waits ? lock_waits : waits))
    [ "$entries" -ge "$sales" ] && break
    sleep 0.2
done
caught_up=$(date +%s.%N)
drift=$(DATABASE_URL="$app_url" LOG_LEVEL=error "$atlas" admin accounting-check-balances 2>&1 | tail -1)

report_p() {   # $1: path; prints p50 and p99 in ms of REPORT_CALLS sequential calls
    for _ in $(seq 1 "$report_calls"); do
        curl -fsS -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$base$1"
    done | sort -n | awk '{ v[NR] = $1 } END { printf "p50 %.1f ms  p99 %.1f ms\n", v[int(NR*0.5)]*1000, v[int(NR*0.99)]*1000 }'
}
echo "trial balance:  $(report_p "/reports/trial-balance?company_id=$company")"
echo "profit & loss:  $(report_p "/reports/profit-loss?company_id=$company&period_start=2026-01-01&period_end=2026-12-31")"
echo "balance sheet:  $(report_p "/reports/balance-sheet?company_id=$company")"

python3 - "$work_dir/wrk.txt" "$sales" "$started" "$load_ended" "$caught_up" "$lock_waits" "$drift" <<'PY'
import re, sys
wrk = open(sys.argv[1]).read()
sales, started, ended, caught = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
def latency(label):
    match = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", wrk, re.M)
    if not match: return "?"
    value, unit = float(match.group(1)), match.group(2)
    return "%.1f ms" % (value / 1000 if unit == "us" else value * 1000 if unit == "s" else value)
print("sales approved: %d, posted: all, catch-up after load: %.1f s" % (sales, caught - ended))
print("end to end: %.0f sales/s (load + catch-up)" % (sales / (caught - started)))
print("sale latency p50 %s, p99 %s" % (latency("50%"), latency("99%")))
print("max lock waits seen during catch-up: %s" % sys.argv[6])
print(sys.argv[7])
PY

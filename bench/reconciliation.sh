#!/usr/bin/env bash
# Reconciliation figures of the real server (issue 12): close day over SALES transactions, the export of
# that settlement (MB/s and the server's RSS growth), and GET /v1/totals latency.
#
#   1. release build of `atlas`, a private PostgreSQL cluster (scripts/lib/pg.sh), a fresh database
#   2. `atlas admin create-merchant`, KEYS more keys (each sk_ key allows 50 requests in flight)
#   3. `atlas serve`; wrk POSTs test-mode SALEs until SALES are approved, then waits until GET /v1/totals
#      counts them all (the reconciliation.totals consumer caught up)
#   4. times POST /v1/reconciliation {"closeDay":true} (target < 2 s for 100,000)
#   5. times GET /v1/settlements/{id}/export?format=csv and samples the server's RSS before and after
#      (targets ≥ 50 MB/s, growth < 20 MB)
#   6. wrk on GET /v1/totals?currency=NZD for DURATION seconds (target p99 < 2 ms)
#
# Usage: bench/reconciliation.sh     env: SALES=100000 CONNECTIONS=64 KEYS=64 DURATION=10 PGPORT=55461
#                                         ATLAS_BIN=(a prebuilt atlas; default: release build)
# Figures go to docs/benchmarks.md by hand; this script only prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/pg.sh
source scripts/lib/deps.sh
source scripts/lib/bench.sh
atlas_apt_install wrk >&2

sales="${SALES:-100000}"
connections="${CONNECTIONS:-64}"
keys="${KEYS:-64}"
duration="${DURATION:-10}"
pg_dir="${PGDIR:-/tmp/atlas-bench-reconciliation-pg}"
pg_port="${PGPORT:-55461}"
work_dir=".build/reconciliation-bench"
mkdir -p "$work_dir"

bench_setup "$pg_dir" "$pg_port"

psql_admin -c "DROP DATABASE IF EXISTS atlas_reconciliation_bench" -c "CREATE DATABASE atlas_reconciliation_bench"
app_url="postgresql://atlas@/atlas_reconciliation_bench?host=$(cd "$pg_dir" && pwd -P)&port=$pg_port"
first_key=$(DATABASE_URL="$app_url" LOG_LEVEL=error "$atlas" admin create-merchant --name Bench 2>/dev/null \
    | sed -n 's/.*(shown once): //p')
[ -n "$first_key" ] || { echo "could not create the bench merchant" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
DATABASE_URL="$app_url" PORT="$port" HOST=127.0.0.1 ATLAS_ACCESS_LOG=false LOG_LEVEL=warning \
    "$atlas" serve >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done

key_list=""
for index in $(seq 1 "$keys"); do
    secret=$(curl -fsS -X POST "$base/v1/api-keys" -H "X-Api-Key: $first_key" -H 'Content-Type: application/json' \
        -d "{\"name\":\"bench-$index\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')
    key_list="$key_list\"$secret\","
done

cat > "$work_dir/sale.lua" <<LUA
local keys = { ${key_list} }
local body = '{"type":"SALE","amount":2500,"currency":"NZD"}'
local counter = 0
request = function()
    counter = counter + 1
    local headers = { ["Content-Type"] = "application/json", ["X-Api-Key"] = keys[(counter % #keys) + 1] }
    return wrk.format("POST", "/v1/transaction/sale", headers, body)
end
LUA

totals() { curl -fsS "$base/v1/totals?currency=NZD" -H "X-Api-Key: $first_key" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["saleCount"])'; }

echo "loading $sales sales" >&2
while [ "$(totals)" -lt "$sales" ]; do
    wrk -t 2 -c "$connections" -d 5s -s "$work_dir/sale.lua" "$base" >/dev/null
done
count=$(totals)
for _ in $(seq 1 600); do   # the consumer catches up with the last sales
    sleep 0.1
    next=$(totals)
    [ "$next" = "$count" ] && break
    count=$next
done
echo "open period: $count sales" >&2

close_start=$(date +%s.%N)
close_body=$(curl -fsS -X POST "$base/v1/reconciliation" -H "X-Api-Key: $first_key" -H 'Content-Type: application/json' \
    -d '{"closeDay":true}')
close_end=$(date +%s.%N)
settlement=$(echo "$close_body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["settlements"][0]["id"])')
echo "close day: $count transactions in $(python3 -c "print(f'{$close_end - $close_start:.3f}')") s" 

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }
rss_before=$(rss_kb)
export_start=$(date +%s.%N)
bytes=$(curl -fsS "$base/v1/settlements/$settlement/export?format=csv" -H "X-Api-Key: $first_key" -o "$work_dir/export.csv" \
    -w '%{size_download}')
export_end=$(date +%s.%N)
rss_after=$(rss_kb)
python3 - "$bytes" "$export_start" "$export_end" "$rss_before" "$rss_after" <<'PY'
import sys
size, start, end, before, after = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"export: {size / 1e6:.1f} MB in {end - start:.3f} s = {size / 1e6 / (end - start):.1f} MB/s; "
      f"server RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB (+{(after - before) / 1024:.1f} MB)")
PY

cat > "$work_dir/totals.lua" <<LUA
wrk.headers["X-Api-Key"] = "$first_key"
done = function(summary, latency, requests)
    io.write(string.format("totals: %d requests, p50 %.3f ms, p99 %.3f ms\n", summary.requests,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
wrk -t 2 -c 16 -d "${duration}s" -s "$work_dir/totals.lua" "$base/v1/totals?currency=NZD" | tail -1

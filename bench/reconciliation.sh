#!/usr/bin/env bash
# Reconciliation figures of the real server (issue 12): close day over SALES transactions, the export of
# that settlement (MB/s and the server's RSS growth), GET /v1/totals latency, and the offline backend's
# POST /api/reconcile (500-event batch latency; events accepted per second across parallel terminals).
#
#   1. release build of `atlas`, a private PostgreSQL cluster (scripts/lib/pg.sh), a fresh database
#   2. `atlas admin create-merchant`, KEYS more keys (each sk_ key allows 50 requests in flight)
#   3. `atlas serve`; wrk POSTs test-mode SALEs until SALES are approved, then waits until GET /v1/totals
#      counts them all (the reconciliation.totals consumer caught up)
#   4. times POST /v1/reconciliation {"closeDay":true} (target < 2 s for 100,000); waits until the consumers have
#      processed the close's events, then runs VACUUM ANALYZE and a CHECKPOINT (again before step 7), so the timed phases after it do
#      not pay for the loading phases' checkpoint
#   5. times GET /v1/settlements/{id}/export?format=csv and samples the server's RSS before and after
#      (targets ≥ 50 MB/s, growth < 20 MB)
#   6. wrk on GET /v1/totals?currency=NZD for DURATION seconds (target p99 < 2 ms)
#   7. TERMINALS terminal devices (`atlas admin create-device`) and one operator; CARDS cards per terminal seeded
#      straight into reconciliation_cards by SQL (setup only: registering and topping up through the station routes
#      would take minutes under the per-device rate limit); then bench/reconciliation_offline.py:
#      LATENCY_BATCHES sequential 500-event batches (target p99 < 50 ms), then every terminal submitting
#      THROUGHPUT_BATCHES batches at once (target ≥ 20,000 events/s). Uploads count in each device's batch
#      bucket (Auth's deviceBatchUpload: 40 batches at once, then 2 a second; docs/reconciliation.md), so keep
#      ceil(LATENCY_BATCHES / TERMINALS) + THROUGHPUT_BATCHES ≤ 40 and the run measures the server, not the
#      limit (the defaults: 6 + 30). A 429 is waited out (Retry-After) and counted in the output.
#
# Usage: bench/reconciliation.sh     env: SALES=100000 CONNECTIONS=64 KEYS=64 DURATION=10 PGPORT=55461
#                                         TERMINALS=16 CARDS=50 LATENCY_BATCHES=96 THROUGHPUT_BATCHES=30
#                                         EVENTS_PER_BATCH=500
#                                         ATLAS_BIN=(a prebuilt atlas; default: release build)
# Smoke run (figures mean nothing): SALES=200 KEYS=2 DURATION=2 TERMINALS=2 LATENCY_BATCHES=4 THROUGHPUT_BATCHES=2
# Figures go to docs/benchmarks.md by hand, from a quiet machine only; this script only prints them.
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
terminals="${TERMINALS:-16}"
cards="${CARDS:-50}"
latency_batches="${LATENCY_BATCHES:-96}"
throughput_batches="${THROUGHPUT_BATCHES:-30}"
events_per_batch="${EVENTS_PER_BATCH:-500}"
pg_dir="${PGDIR:-/tmp/atlas-bench-reconciliation-pg}"
pg_port="${PGPORT:-55461}"
work_dir=".build/reconciliation-bench"
mkdir -p "$work_dir"
bench_loadavg start

bench_setup "$pg_dir" "$pg_port"
bench_database atlas_reconciliation_bench
bench_create_merchant
bench_serve "$work_dir/server.log"
base="$base_url"
key_list=$(bench_api_keys "$keys")

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
# The consumer catches up with the last sales: wait until the totals count every approved sale (two equal reads
# in a row could still be a pause of the consumer, and the close would then time fewer transactions than printed).
approved() { psql_admin -d atlas_reconciliation_bench -c \
    "SELECT count(*) FROM transactions WHERE merchant_id = '$merchant_id' AND type = 'SALE' AND status = 'APPROVED'"; }
for _ in $(seq 1 600); do
    count=$(totals)
    [ "$count" = "$(approved)" ] && break
    sleep 0.1
done
echo "open period: $count sales (approved: $(approved))" >&2

close_start=$(date +%s.%N)
close_body=$(curl -fsS -X POST "$base/v1/reconciliation" -H "X-Api-Key: $first_key" -H 'Content-Type: application/json' \
    -d '{"closeDay":true}')
close_end=$(date +%s.%N)
settlement=$(echo "$close_body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["settlements"][0]["id"])')
settled=$(echo "$close_body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["totals"]["saleCount"])')
echo "close day: $settled transactions settled in $(python3 -c "print(f'{$close_end - $close_start:.3f}')") s"

# After its answer the close appends a transaction.settled event per item (docs/reconciliation.md); the consumers
# (totals, transactions, ledger, webhooks) then work through them for a while. Wait until nothing is owed and every
# consumer is at the log's end before timing the export and totals, or those figures measure a busy machine.
consumers_behind() { psql_admin -d atlas_reconciliation_bench -c "
    SELECT (SELECT count(*) FROM reconciliation_settled_events_owed) + count(*)
    FROM event_log_consumers c, (SELECT writer_xid, seq FROM event_log
        ORDER BY writer_xid DESC, seq DESC LIMIT 1) last
    WHERE (c.cursor_xid, c.cursor_seq) < (last.writer_xid, last.seq)"; }
waited=0
while [ "$(consumers_behind)" != "0" ] && [ "$waited" -lt 600 ]; do sleep 0.5; waited=$((waited + 1)); done
echo "consumers caught up with the close's events after $(python3 -c "print($waited / 2)") s" >&2
# The sales load and the close wrote about a gigabyte of WAL and updated every transaction, so a checkpoint is under
# way by now and autovacuum is due on the big tables. Both done here, they do not land in the timed phases (a
# checkpoint in flight made single commits wait up to 70 ms, an autovacuum of `transactions` took a core for seconds;
# docs/benchmarks.md): the phases after this measure the server on a quiet database.
quiet_database() { psql_app -c "VACUUM ANALYZE" && psql_admin -c "CHECKPOINT"; }
quiet_database

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }
rss_before=$(rss_kb)
# The peak matters, not the value after: sample every 20 ms while the export streams. The marker and the peak
# of an earlier run (the work directory stays) go first, or the sampler would stop at once and leave a stale peak.
rm -f "$work_dir/export.done" "$work_dir/rss.peak"
( peak=$rss_before; echo "$peak" > "$work_dir/rss.peak"; while kill -0 "$server_pid" 2>/dev/null && [ ! -e "$work_dir/export.done" ]; do
      now=$(rss_kb); [ "${now:-0}" -gt "$peak" ] && peak=$now; echo "$peak" > "$work_dir/rss.peak"; sleep 0.02
  done ) &
sampler_pid=$!
export_start=$(date +%s.%N)
bytes=$(curl -fsS "$base/v1/settlements/$settlement/export?format=csv" -H "X-Api-Key: $first_key" -o "$work_dir/export.csv" \
    -w '%{size_download}')
export_end=$(date +%s.%N)
touch "$work_dir/export.done"
wait "$sampler_pid" 2>/dev/null || true
rss_after=$(cat "$work_dir/rss.peak" 2>/dev/null || rss_kb)
python3 - "$bytes" "$export_start" "$export_end" "$rss_before" "$rss_after" <<'PY'
import sys
size, start, end, before, after = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"export: {size / 1e6:.1f} MB in {end - start:.3f} s = {size / 1e6 / (end - start):.1f} MB/s; "
      f"server RSS {before / 1024:.1f} MB -> peak {after / 1024:.1f} MB (+{(after - before) / 1024:.1f} MB)")
PY

cat > "$work_dir/totals.lua" <<LUA
wrk.headers["X-Api-Key"] = "$first_key"
done = function(summary, latency, requests)
    io.write(string.format("totals: %d requests, p50 %.3f ms, p99 %.3f ms\n", summary.requests,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
wrk -t 2 -c 16 -d "${duration}s" -s "$work_dir/totals.lua" "$base/v1/totals?currency=NZD" | tail -1

# POST /api/reconcile: devices, an operator and seeded cards (live mode, where devices are), then the Python driver.
bench_admin set-tenant-slug --merchant "$merchant_id" --slug bench-shop >/dev/null
bench_admin create-operator --merchant "$merchant_id" --username bench --password "bench bench bench" >/dev/null
: > "$work_dir/devices.txt"
for _ in $(seq 1 "$terminals"); do
    out=$(bench_admin create-device --merchant "$merchant_id" --role terminal)
    echo "$(echo "$out" | sed -n 's/^deviceId //p') $(echo "$out" | sed -n 's/^terminal number //p') \
$(echo "$out" | sed -n 's/.*(one-time commissioning secret, shown once): //p')" >> "$work_dir/devices.txt"
done
chain_start=1764547200
psql_app -c "
    INSERT INTO reconciliation_cards (merchant_id, mode, card_id, user_id, name, status, balance, currency, card_balance,
        counter, chain_hash, chain_timestamp, key_version, created_at, registered_at, last_activity_at)
    SELECT '$merchant_id', 'live', lpad(to_hex(n), 12, '0'), 1, 'bench', 'ACTIVE', 4000000, 'NZD', 4000000, 0,
        '\\x000000000000'::bytea, $chain_start, 1, $chain_start, now(), now()
    FROM generate_series(0, $((terminals * cards - 1))) AS n"
quiet_database  # after the export, the totals load and the seeding, for the same reason
python3 bench/reconciliation_offline.py "$base" bench-shop bench "bench bench bench" "$chain_start" "$cards" \
    "$latency_batches" "$throughput_batches" "$events_per_batch" "$work_dir/devices.txt"
bench_loadavg end

#!/usr/bin/env bash
# Sale throughput of the real server against pgbench TPC-B on the same PostgreSQL.
#
#   1. release build of `atlas`, a private PostgreSQL cluster (scripts/lib/pg.sh), a fresh database
#   2. `atlas admin create-merchant` for the first key, then KEYS more keys over POST /v1/api-keys
#      (each sk_ key is rate limited to 1,000/min with a 1,000 burst and 50 in flight, so the load is
#      spread over many keys to measure the payment path, not the limiter)
#   3. `atlas serve`, then wrk: CONNECTIONS connections POSTing test-mode SALEs, each with a unique
#      Idempotency-Key (Lua), for DURATION seconds
#   4. pgbench -i (scale 10) and pgbench -c 8 -j 2 -T DURATION -M prepared (TPC-B) on the same cluster
#   5. prints sales/s, p50/p99 latency, non-2xx count and the sales/s ÷ TPS ratio
#
# Usage: bench/sale.sh            env: DURATION=20 CONNECTIONS=64 KEYS=256 ATLAS_TXN_BATCHING=1 PGPORT=55459
#                                      ATLAS_IDEMPOTENCY_DEFERRED=1 ATLAS_BIN=(a prebuilt atlas; default: release build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/pg.sh
source scripts/lib/deps.sh
source scripts/lib/bench.sh
atlas_apt_install wrk >&2   # the load generator (postgresql, which brings pgbench, comes with pg.sh's users)

duration="${DURATION:-20}"
connections="${CONNECTIONS:-64}"
keys="${KEYS:-256}"
pg_dir="${PGDIR:-/tmp/atlas-bench-sale-pg}"
pg_port="${PGPORT:-55459}"
work_dir=".build/sale-bench"
mkdir -p "$work_dir"

bench_setup "$pg_dir" "$pg_port"

psql_admin -c "DROP DATABASE IF EXISTS atlas_sale_bench" -c "CREATE DATABASE atlas_sale_bench" \
           -c "DROP DATABASE IF EXISTS atlas_pgbench" -c "CREATE DATABASE atlas_pgbench"
app_url="postgresql://atlas@/atlas_sale_bench?host=$(cd "$pg_dir" && pwd -P)&port=$pg_port"

first_key=$(DATABASE_URL="$app_url" LOG_LEVEL=error "$atlas" admin create-merchant --name Bench 2>/dev/null \
    | sed -n 's/.*(shown once): //p')
[ -n "$first_key" ] || { echo "could not create the bench merchant" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="$app_url" PORT="$port" HOST=127.0.0.1 ATLAS_ACCESS_LOG=false LOG_LEVEL=warning \
    ATLAS_DB_CONNECTIONS_MAX="${ATLAS_DB_CONNECTIONS_MAX:-16}" "$atlas" serve >"$work_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
done

echo "creating $keys API keys" >&2
key_list=""
for index in $(seq 1 "$keys"); do
    secret=$(curl -fsS -X POST "http://127.0.0.1:$port/v1/api-keys" -H "X-Api-Key: $first_key" \
        -H 'Content-Type: application/json' -d "{\"name\":\"bench-$index\"}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')
    key_list="$key_list\"$secret\","
done

run_id=$(date +%s%N)
cat > "$work_dir/sale.lua" <<LUA
-- Unique Idempotency-Key per request: run id, thread id, per-thread counter.
local keys = { ${key_list} }
local body = '{"type":"SALE","amount":2500,"currency":"NZD","referenceId":"bench"}'
local thread_count = 0
function setup(thread)
    thread:set("thread_id", thread_count)
    thread_count = thread_count + 1
end
function init(args)
    -- args[1] names the phase: the warm-up's keys must not come back as replays in the measured run.
    phase = args[1] or "main"
    counter = 0
end
function request()
    counter = counter + 1
    local key = keys[((counter * 131 + thread_id * 17) % #keys) + 1]
    return wrk.format("POST", "/v1/transaction/sale", {
        ["Content-Type"] = "application/json",
        ["X-Api-Key"] = key,
        ["Idempotency-Key"] = "bench-${run_id}-" .. phase .. "-" .. thread_id .. "-" .. counter,
    }, body)
end
LUA

echo "warm-up 3 s" >&2
wrk -t2 -c"$connections" -d3s -s "$work_dir/sale.lua" "http://127.0.0.1:$port" -- warmup >/dev/null
sleep 1  # sales still in flight when wrk stopped commit anyway; count them as the warm-up's
warmup_rows=$(psql_admin -d atlas_sale_bench -c "SELECT count(*) FROM transactions")
# CPU seconds (user + system) of a process tree: WHY: the machine is shared and noisy, so besides the
# rate the script reports the CPU each sale costs in atlas and in PostgreSQL, which noise barely moves.
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    done
    echo "$total"
}
postgres_pids() {
    local postmaster
    postmaster=$(head -1 "$pg_dir/postmaster.pid")
    echo "$postmaster" $(pgrep -P "$postmaster")
}
echo "wrk: $connections connections, ${duration} s" >&2
atlas_before=$(cpu_ticks "$server_pid")
postgres_before=$(cpu_ticks $(postgres_pids))
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work_dir/sale.lua" "http://127.0.0.1:$port" | tee "$work_dir/wrk.txt" >&2
atlas_ticks=$(( $(cpu_ticks "$server_pid") - atlas_before ))
postgres_ticks=$(( $(cpu_ticks $(postgres_pids)) - postgres_before ))

kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=""
rows=$(( $(psql_admin -d atlas_sale_bench -c "SELECT count(*) FROM transactions") - warmup_rows ))

echo "pgbench TPC-B: -c 8 -j 2 -T $duration -M prepared" >&2
"$ATLAS_TEST_PGBIN/pgbench" -h "$pg_dir" -p "$pg_port" -U atlas -i -s 10 -q atlas_pgbench >/dev/null 2>&1
"$ATLAS_TEST_PGBIN/pgbench" -h "$pg_dir" -p "$pg_port" -U atlas -c 8 -j 2 -T "$duration" -M prepared atlas_pgbench \
    2>/dev/null | tee "$work_dir/pgbench.txt" >&2

python3 - "$work_dir/wrk.txt" "$work_dir/pgbench.txt" "$rows" "$atlas_ticks" "$postgres_ticks" "$(getconf CLK_TCK)" <<'PY'
import re, sys
wrk = open(sys.argv[1]).read()
pgb = open(sys.argv[2]).read()
rows = sys.argv[3]
atlas_ticks, postgres_ticks, ticks_per_second = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
def latency_ms(label):
    match = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", wrk, re.M)
    if not match: return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", wrk)
tps = float(re.search(r"tps = ([\d.]+)", pgb).group(1))
print(f"sales/s        {rate:10.1f}")
print(f"p50 latency    {latency_ms('50%'):10.2f} ms")
print(f"p99 latency    {latency_ms('99%'):10.2f} ms")
print(f"non-2xx        {int(non2xx.group(1)) if non2xx else 0:10d}")
requests = int(re.search(r"(\d+) requests in", wrk).group(1))
# Every measured request has a fresh key, so each 2xx is one new row (a replay would write none); the
# count may exceed the requests by up to one per connection: sales in flight when wrk stopped still commit.
print(f"rows written   {int(rows):10d}  (measured run; requests {requests})")
def per_sale_us(ticks): return ticks / ticks_per_second * 1e6 / max(requests, 1)
print(f"atlas CPU      {per_sale_us(atlas_ticks):10.1f} us/sale")
print(f"postgres CPU   {per_sale_us(postgres_ticks):10.1f} us/sale")
print(f"pgbench TPS    {tps:10.1f}")
print(f"ratio          {rate / tps:10.2f}  (sales/s / pgbench TPS; target >= 1.0 with p99 < 25 ms)")
PY

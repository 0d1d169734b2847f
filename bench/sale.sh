#!/usr/bin/env bash
# Sale throughput of the real server against pgbench TPC-B on the same PostgreSQL; with POSTING=1, end to end
# with automatic posting on (issue 11 "Performance": sales/s until the ledger has caught up with every sale).
#
#   1. release build of `atlas`, a private PostgreSQL cluster (scripts/lib/pg.sh), a fresh database
#   2. `atlas admin create-merchant` for the first key, then KEYS more keys over POST /v1/api-keys
#      (each sk_ key is rate limited to 1,000/min with a 1,000 burst and 50 in flight, so the load is
#      spread over many keys to measure the payment path, not the limiter)
#   3. `atlas serve`; with POSTING=1 the merchant gets a company in NZD with a chart of accounts through the
#      accounting API (scripts/lib/bench.sh `bench_accounting_company`), so the consumer `accounting.ledger` posts
#      one journal entry per approved sale (DR 1150 card clearing / CR 4000 sales revenue: every sale credits the
#      same revenue account)
#   4. wrk: a 3 s warm-up (with POSTING=1 the ledger catches up with it before the measured run), then CONNECTIONS
#      connections POSTing test-mode SALEs, each with a unique Idempotency-Key (Lua), for DURATION seconds; with
#      POSTING=1 the clock runs on until the ledger has passed the last sale (then: one entry per approved sale and
#      no drift in `atlas admin accounting-check-balances`, else exit 1), and one psql session samples the backends
#      waiting on a lock every 100 ms
#   5. pgbench -i (scale 10) and pgbench -c 8 -j 2 -T DURATION -M prepared (TPC-B) on the same cluster
#   6. prints sales/s (with POSTING=1: approved sales of the measured run ÷ seconds from its start until the ledger
#      caught up), p50/p99 latency, non-2xx count, CPU per sale, the ratio to pgbench TPS, the targets beside them
#      (issue 5 / issue 11: ratio >= 1.0 with p99 < 25 ms) and the load average at start and end
#
# Usage: bench/sale.sh            env: DURATION=20 CONNECTIONS=64 KEYS=256 POSTING=0 ATLAS_TXN_BATCHING=1 PGPORT=55459
#                                      ATLAS_IDEMPOTENCY_DEFERRED=1 LEDGER_WAIT_SECONDS=900
#                                      ATLAS_BIN=(a prebuilt atlas; default: release build)
#        POSTING=1 bench/sale.sh  end to end with automatic posting (issue 11)
# Smoke run (figures mean nothing): POSTING=1 DURATION=3 CONNECTIONS=8 KEYS=4
# Figures only count from a quiet machine (check the load average it prints); they go to docs/benchmarks.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/pg.sh
source scripts/lib/deps.sh
source scripts/lib/bench.sh
atlas_apt_install wrk >&2   # the load generator (postgresql, which brings pgbench, comes with pg.sh's users)

duration="${DURATION:-20}"
connections="${CONNECTIONS:-64}"
keys="${KEYS:-256}"
posting="${POSTING:-0}"
pg_dir="${PGDIR:-/tmp/atlas-bench-sale-pg}"
pg_port="${PGPORT:-55459}"
work_dir=".build/sale-bench"
mkdir -p "$work_dir"
bench_loadavg start

bench_setup "$pg_dir" "$pg_port"
bench_database atlas_sale_bench
psql_admin -c "DROP DATABASE IF EXISTS atlas_pgbench" -c "CREATE DATABASE atlas_pgbench"
bench_create_merchant
bench_serve "$work_dir/server.log" ATLAS_DB_CONNECTIONS_MAX="${ATLAS_DB_CONNECTIONS_MAX:-16}"
if [ "$posting" = 1 ]; then bench_accounting_company NZD; fi
bench_sale_lua "$work_dir/sale.lua" "$(bench_api_keys "$keys")" \
    '{"type":"SALE","amount":2500,"currency":"NZD","referenceId":"bench"}'

echo "warm-up 3 s" >&2
wrk -t2 -c"$connections" -d3s -s "$work_dir/sale.lua" "$base_url" -- warmup >/dev/null
sleep 1  # sales still in flight when wrk stopped commit anyway; count them as the warm-up's
if [ "$posting" = 1 ]; then bench_wait_ledger; fi   # the measured run starts with no posting backlog
approved_sql="SELECT count(*) FROM transactions WHERE status = 'APPROVED'"
warmup_rows=$(psql_app -c "SELECT count(*) FROM transactions")
warmup_approved=$(psql_app -c "$approved_sql")
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
if [ "$posting" = 1 ]; then bench_sampler_start "$work_dir/ledger.txt" "$(bench_ledger_progress_sql)"; fi
atlas_before=$(cpu_ticks "$server_pid")
postgres_before=$(cpu_ticks $(postgres_pids))
started=$(date +%s.%N)
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work_dir/sale.lua" "$base_url" | tee "$work_dir/wrk.txt" >&2
load_ended=$(date +%s.%N)
caught_up=$load_ended
if [ "$posting" = 1 ]; then
    echo "waiting for the ledger to catch up" >&2
    sleep 1   # sales in flight when wrk stopped still commit; the moment of catching up comes from the sampler
    bench_wait_ledger
    caught_up=$(date +%s.%N)
    sleep 0.2   # a sample after the poll that saw it
fi
# With POSTING=1 the CPU counts until the ledger caught up: a sale's cost includes its posting.
atlas_ticks=$(( $(cpu_ticks "$server_pid") - atlas_before ))
postgres_ticks=$(( $(cpu_ticks $(postgres_pids)) - postgres_before ))
bench_sampler_stop
ledger_report=""
if [ "$posting" = 1 ]; then
    # The poll runs every 200 ms; the sampler saw the last posting commit to within 100 ms.
    caught_up=$(python3 bench/ledger_samples.py finished "$work_dir/ledger.txt" "$caught_up")
    if ! ledger_report=$(bench_check_ledger); then echo "$ledger_report"; exit 1; fi
    ledger_report="$ledger_report
$(python3 bench/ledger_samples.py locks "$work_dir/ledger.txt" "$started" "$caught_up")"
fi

bench_stop_server
rows=$(( $(psql_app -c "SELECT count(*) FROM transactions") - warmup_rows ))
approved=$(( $(psql_app -c "$approved_sql") - warmup_approved ))

echo "pgbench TPC-B: -c 8 -j 2 -T $duration -M prepared" >&2
"$ATLAS_TEST_PGBIN/pgbench" -h "$pg_dir" -p "$pg_port" -U atlas -i -s 10 -q atlas_pgbench >/dev/null 2>&1
"$ATLAS_TEST_PGBIN/pgbench" -h "$pg_dir" -p "$pg_port" -U atlas -c 8 -j 2 -T "$duration" -M prepared atlas_pgbench \
    2>/dev/null | tee "$work_dir/pgbench.txt" >&2

python3 - "$work_dir/wrk.txt" "$work_dir/pgbench.txt" "$rows" "$atlas_ticks" "$postgres_ticks" "$(getconf CLK_TCK)" \
    "$posting" "$approved" "$started" "$load_ended" "$caught_up" <<'PY'
import re, sys
wrk = open(sys.argv[1]).read()
pgb = open(sys.argv[2]).read()
rows = sys.argv[3]
atlas_ticks, postgres_ticks, ticks_per_second = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
posting, approved = sys.argv[7] == "1", int(sys.argv[8])
started, load_ended, caught_up = float(sys.argv[9]), float(sys.argv[10]), float(sys.argv[11])
def latency_ms(label):
    match = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", wrk, re.M)
    if not match: return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
wrk_rate = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", wrk)
tps = float(re.search(r"tps = ([\d.]+)", pgb).group(1))
# Without posting the rate is wrk's; with it, approved sales of the measured run over the seconds from its start
# until the ledger had posted every one of them (load + catch-up).
rate = approved / (caught_up - started) if posting else wrk_rate
if posting:
    print(f"sales/s        {rate:10.1f}  (approved sales until the ledger caught up; wrk alone: {wrk_rate:.1f}/s)")
    print(f"catch-up       {caught_up - load_ended:10.2f} s  after the load ended ({approved} sales in {caught_up - started:.2f} s)")
else:
    print(f"sales/s        {rate:10.1f}")
p99 = latency_ms('99%')
print(f"p50 latency    {latency_ms('50%'):10.2f} ms")
print(f"p99 latency    {p99:10.2f} ms  (target < 25 ms)")
print(f"non-2xx        {int(non2xx.group(1)) if non2xx else 0:10d}")
requests = int(re.search(r"(\d+) requests in", wrk).group(1))
# Every measured request has a fresh key, so each 2xx is one new row (a replay would write none); the
# count may exceed the requests by up to one per connection: sales in flight when wrk stopped still commit.
print(f"rows written   {int(rows):10d}  (measured run; requests {requests})")
def per_sale_us(ticks): return ticks / ticks_per_second * 1e6 / max(requests, 1)
cpu_note = "  (until the ledger caught up: sale + posting)" if posting else ""
print(f"atlas CPU      {per_sale_us(atlas_ticks):10.1f} us/sale{cpu_note}")
print(f"postgres CPU   {per_sale_us(postgres_ticks):10.1f} us/sale{cpu_note}")
print(f"pgbench TPS    {tps:10.1f}")
met = "met" if rate / tps >= 1.0 and p99 < 25 else "NOT met"
print(f"ratio          {rate / tps:10.2f}  (sales/s / pgbench TPS; target >= 1.0 with p99 < 25 ms: {met})")
PY
if [ -n "$ledger_report" ]; then echo "$ledger_report"; fi
bench_loadavg end

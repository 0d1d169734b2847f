#!/usr/bin/env bash
# Instructions PostgreSQL executes per sale, counted by callgrind: a figure the noise of a shared host does
# not move (sales/s on this VM swings ±15 % between two runs of the same binary, and `perf stat` cannot
# count instructions here). It compares builds on the database work a sale costs, not on speed: use it
# beside bench/sale.sh, never instead of it. atlas itself runs natively: valgrind 3.19 crashes inside
# libdispatch's signal thread of a Swift server, so atlas's side is bench/sale.sh's CPU per sale.
#
# Each run: a fresh private cluster under callgrind (autovacuum off), `atlas admin create-merchant`,
# `atlas serve`, WARMUP sales, then N sales from CLIENTS clients (one connection each, a unique
# Idempotency-Key per sale), then atlas and PostgreSQL stop and the backends' counts are summed. Two runs,
# N = 0 and N = SALES: the difference divided by SALES is the count per sale, start-up and set-up cancel.
#
# Usage: ATLAS_BIN=/tmp/atlas-before bench/sale_instructions.sh
#        env: SALES=400 WARMUP=50 CLIENTS=1 (1: no batching, so the count is repeatable; more: batches form)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/pg.sh
source scripts/lib/deps.sh
atlas_apt_install valgrind >&2

sales="${SALES:-400}"
warmup="${WARMUP:-50}"
clients="${CLIENTS:-1}"
pg_port="${PGPORT:-55461}"
atlas="${ATLAS_BIN:?set ATLAS_BIN to a release build of atlas}"
startup_wait_seconds=120

work_dir=""
pg_dir=""
server_pid=""
key=""
stop_all() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    server_pid=""
    if [ -n "$pg_dir" ]; then pg_local_stop "$pg_dir" >&2 || true; fi
}
cleanup() {
    stop_all
    if [ -n "$work_dir" ] && [ -z "${KEEP:-}" ]; then rm -rf "$work_dir"; fi
}
trap cleanup EXIT

start_postgres_under_callgrind() {
    # initdb through pg.sh, then the same cluster again under callgrind (fork()ed backends stay instrumented).
    pg_local_start "$pg_dir" "$pg_port" >&2
    pg_local_stop "$pg_dir" >&2
    local owner
    owner=$(stat -c %U "$pg_dir")
    pg_local_as_owner "$owner" valgrind --tool=callgrind --callgrind-out-file="$work_dir/postgres.%p" \
        "$ATLAS_TEST_PGBIN/postgres" -D "$pg_dir" -k "$pg_dir" -p "$pg_port" -c listen_addresses='' \
        -c autovacuum=off -c checkpoint_timeout=1h >"$work_dir/postgres.log" 2>&1 &
    for _ in $(seq 1 "$startup_wait_seconds"); do
        "$ATLAS_TEST_PGBIN/pg_isready" -q -h "$pg_dir" -p "$pg_port" -U atlas -d atlas && return 0
        sleep 1
    done
    echo "PostgreSQL did not start under callgrind:" >&2; tail -n 5 "$work_dir/postgres.log" >&2; return 1
}

# Sets `key` (the first API key) and `server_pid`. Not run in $(…): the pid must reach stop_all.
start_atlas() {
    local app_url="postgresql://atlas@/atlas?host=$pg_dir&port=$pg_port"
    key=$(DATABASE_URL="$app_url" LOG_LEVEL=error "$atlas" admin create-merchant --name Bench 2>/dev/null \
        | sed -n 's/.*(shown once): //p')
    [ -n "$key" ] || { echo "could not create the bench merchant" >&2; return 1; }
    DATABASE_URL="$app_url" PORT="$port" HOST=127.0.0.1 ATLAS_ACCESS_LOG=false LOG_LEVEL=warning \
        "$atlas" serve >"$work_dir/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 "$startup_wait_seconds"); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "atlas did not start:" >&2; tail -n 5 "$work_dir/server.log" >&2; return 1
}

run_sales() {  # <key> <count> <phase>
    python3 - "$port" "$1" "$2" "$clients" "$3" <<'PY'
import http.client, json, sys, threading
port, key, count, clients, phase = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
body = json.dumps({"type": "SALE", "amount": 2500, "currency": "NZD", "referenceId": "bench"})
failures = []
def client(index):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for number in range(index, count, clients):
        connection.request("POST", "/v1/transaction/sale", body, {
            "Content-Type": "application/json", "X-Api-Key": key, "Idempotency-Key": f"{phase}-{number}"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)
threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
for thread in threads: thread.start()
for thread in threads: thread.join()
if failures:
    sys.exit(f"{len(failures)} sales failed: {sorted(set(failures))}")
PY
}

# One run with `count` measured sales; prints PostgreSQL's instructions over the whole run.
measure_run() {  # <count>; runs in $(…), a subshell, which does not inherit the EXIT trap
    trap stop_all EXIT
    work_dir="$(mktemp -d /tmp/atlas-sale-instructions.XXXXXX)"
    chmod 777 "$work_dir"
    pg_dir="$work_dir/pg"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    start_postgres_under_callgrind
    start_atlas >&2
    run_sales "$key" "$warmup" warmup
    [ "$1" -eq 0 ] || run_sales "$key" "$1" measured
    stop_all
    python3 - "$work_dir" <<'PY'
import glob, os, re, sys
total = 0
for path in glob.glob(os.path.join(sys.argv[1], "postgres.*")):
    if not re.fullmatch(r"postgres\.\d+", os.path.basename(path)):
        continue
    text = open(path, errors="replace").read()
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    # Backends only: the postmaster, WAL writer, checkpointer and friends wake on timers, so their counts
    # follow the run's wall time (which a loaded host stretches), not the sales.
    if match and "PostgresMain" in text:
        total += int(match.group(1))
print(total)
PY
    [ -n "${KEEP:-}" ] || rm -rf "$work_dir"
}

echo "run 1: $warmup warm-up sales only" >&2
baseline=$(measure_run 0)
echo "run 2: $warmup warm-up sales, then $sales from $clients client(s)" >&2
measured=$(measure_run "$sales")
python3 -c "import sys; b, m, n = map(int, sys.argv[1:]); print(f'postgres instructions   {(m - b) / n:>12,.0f} per sale')" \
    "$baseline" "$measured" "$sales"

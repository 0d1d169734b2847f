# Shared set-up of the server benchmarks (bench/sale.sh, bench/accounting.sh, bench/reconciliation.sh), one copy
# of each piece: the `atlas` binary (ATLAS_BIN, or a release build), a private PostgreSQL cluster, `psql_admin`,
# `bench_admin`, the bench merchant and its API keys, `atlas serve`, the sale Lua script for wrk, an accounting
# company with its chart of accounts, waiting for the ledger consumer, a lock-wait sampler, the load average,
# and an exit trap that stops the sampler, the server (`server_pid`) and then the cluster.
# Source scripts/lib/pg.sh first. Usage: bench_setup PG_DIR PG_PORT   (sets $atlas)

bench_setup() {
    bench_pg_dir="$1"
    bench_pg_port="$2"
    if [ -n "${ATLAS_BIN:-}" ]; then
        atlas="$ATLAS_BIN"   # compare builds within one session: ATLAS_BIN=/tmp/atlas-before bench/….sh
    else
        swift build -c release --product atlas >&2
        atlas="$(swift build -c release --show-bin-path)/atlas"
    fi
    pg_local_start "$bench_pg_dir" "$bench_pg_port" >&2
    server_pid=""
    bench_sampler_pid=""
    trap bench_cleanup EXIT
}

psql_admin() { "$ATLAS_TEST_PGBIN/psql" -h "$bench_pg_dir" -p "$bench_pg_port" -U atlas -d postgres -qtA "$@"; }

bench_cleanup() {
    bench_sampler_stop
    bench_stop_server
    pg_local_stop "$bench_pg_dir" >&2 || true
}

# bench_database NAME: a fresh database NAME; sets $bench_db and $app_url (what `atlas` connects to).
bench_database() {
    bench_db="$1"
    psql_admin -c "DROP DATABASE IF EXISTS $bench_db" -c "CREATE DATABASE $bench_db"
    app_url="postgresql://atlas@/$bench_db?host=$(cd "$bench_pg_dir" && pwd -P)&port=$bench_pg_port"
}

psql_app() { psql_admin -d "$bench_db" "$@"; }
bench_admin() { DATABASE_URL="$app_url" LOG_LEVEL=error "$atlas" admin "$@" 2>/dev/null; }

# The load average (1, 5, 15 min) with a label: every script prints it at its start and end, because figures
# only count from a quiet machine.
bench_loadavg() { echo "load average ($1): $(cut -d' ' -f1-3 /proc/loadavg)"; }

# bench_create_merchant: `atlas admin create-merchant`; sets $org_id, $merchant_id and $first_key (its sandbox key).
bench_create_merchant() {
    local out
    out=$(bench_admin create-merchant --name Bench)
    org_id=$(echo "$out" | sed -n 's/^organization //p')
    merchant_id=$(echo "$out" | sed -n 's/^merchant //p')
    first_key=$(echo "$out" | sed -n 's/.*(shown once): //p')
    [ -n "$org_id" ] && [ -n "$merchant_id" ] && [ -n "$first_key" ] || { echo "could not create the bench merchant" >&2; return 1; }
}

# bench_serve LOG [NAME=VALUE…]: `atlas serve` on a free port (access log off, the variables added); sets $port,
# $base_url and $server_pid once /health answers.
bench_serve() {
    local log="$1"; shift
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    base_url="http://127.0.0.1:$port"
    env DATABASE_URL="$app_url" PORT="$port" HOST=127.0.0.1 ATLAS_ACCESS_LOG=false LOG_LEVEL=warning "$@" \
        "$atlas" serve >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 300); do
        curl -fsS "$base_url/health" >/dev/null 2>&1 && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "atlas serve did not become healthy (see $log)" >&2
    return 1
}

bench_stop_server() {
    if [ -n "${server_pid:-}" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    server_pid=""
}

# bench_api_keys COUNT: COUNT more sandbox keys of the bench merchant over POST /v1/api-keys, printed as a Lua list
# body (`"sk_…","sk_…",`). WHY many keys: each sk_ key is limited to 1,000 requests a minute (bursts of 1,000) and
# 50 in flight, so one key caps a load at about 17 sales/s once its burst is spent; spread over KEYS keys the
# bench measures the payment path, not the limiter.
bench_api_keys() {
    echo "creating $1 API keys" >&2
    python3 - "$base_url" "$first_key" "$1" <<'PY'
import json, sys, urllib.request
base, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
secrets = []
for index in range(1, count + 1):
    request = urllib.request.Request(base + "/v1/api-keys", data=json.dumps({"name": f"bench-{index}"}).encode(),
                                     headers={"X-Api-Key": first, "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as response:
        secrets.append(json.load(response)["secret"])
print("".join(f'"{secret}",' for secret in secrets))
PY
}

# bench_sale_lua FILE KEY_LIST BODY: the wrk script POSTing BODY to /v1/transaction/sale, a unique Idempotency-Key
# per request (run id, phase = wrk's first argument, thread id, per-thread counter), keys taken in turn from KEY_LIST.
bench_sale_lua() {
    local run_id
    run_id=$(date +%s%N)
    cat > "$1" <<LUA
-- Unique Idempotency-Key per request: run id, phase, thread id, per-thread counter.
local keys = { $2 }
local body = '$3'
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
}

# bench_user_token EMAIL ROLE: a user of the bench organization with home merchant $merchant_id (admin CLI), signed
# in over POST /api/v1/auth/login; prints its access token (valid 1 h).
bench_user_token() {
    local password="bench password $RANDOM$RANDOM"
    bench_admin create-user --org "$org_id" --merchant "$merchant_id" --email "$1" --password "$password" --role "$2" >/dev/null \
        || { echo "could not create user $1" >&2; return 1; }
    curl -fsS -X POST "$base_url/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$password\"}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["tokens"]["access_token"])'
}

# bench_accounting_company CURRENCY: turns automatic posting on for the bench merchant, the way a merchant does it
# through the accounting API: the organization on the enterprise tier, an owner (home merchant = the bench merchant),
# POST /api/v1/companies/ (linked to that merchant) in CURRENCY, POST /api/v1/accounts/setup-coa (us_gaap, both
# ledgers, default posting rules: every card sale credits the same 4000 Sales Revenue account). Needs bench_serve.
# Sets $owner_token and $company_id.
bench_accounting_company() {
    bench_admin set-org-tier --org "$org_id" --tier enterprise >/dev/null
    owner_token=$(bench_user_token owner@bench.example owner)
    company_id=$(curl -fsS -X POST "$base_url/api/v1/companies/" -H "Authorization: Bearer $owner_token" \
        -H 'Content-Type: application/json' \
        -d "{\"name\":\"Bench Books\",\"fiscal_year_start_date\":\"2026-01-01\",\"base_currency\":\"$1\"}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    curl -fsS -X POST "$base_url/api/v1/accounts/setup-coa?company_id=$company_id" -H "Authorization: Bearer $owner_token" >/dev/null
    local linked
    linked=$(psql_app -c "SELECT count(*) FROM accounting_companies WHERE id = '$company_id' AND merchant_id = '$merchant_id'")
    [ "$linked" = 1 ] || { echo "the bench company is not linked to the bench merchant: nothing would post" >&2; return 1; }
}

# The ledger consumer (`accounting.ledger`) has passed the last event of the log: every event appended so far has
# been posted (or was not for it). Cheap (a primary-key probe and one row), so it can be polled during a bench.
bench_ledger_caught_up() {
    psql_app -c "
        SELECT coalesce(bool_and((coalesce(c.cursor_xid, '0'::xid8), coalesce(c.cursor_seq, 0)) >= (e.writer_xid, e.seq)), true)
        FROM (SELECT writer_xid, seq FROM event_log ORDER BY writer_xid DESC, seq DESC LIMIT 1) e
        LEFT JOIN event_log_consumers c ON c.name = 'accounting.ledger'"
}

# bench_wait_ledger: polls every 200 ms until bench_ledger_caught_up (at most LEDGER_WAIT_SECONDS, default 900).
# WHY not faster: each poll is a psql process and a backend, CPU taken from what is measured; where the exact moment
# matters, the sampler's progress column gives it to 100 ms (bench/ledger_samples.py `finished`).
bench_wait_ledger() {
    local deadline=$(( $(date +%s) + ${LEDGER_WAIT_SECONDS:-900} ))
    until [ "$(bench_ledger_caught_up)" = t ]; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "the ledger did not catch up within ${LEDGER_WAIT_SECONDS:-900} s" >&2; return 1; }
        sleep 0.2
    done
}

# SQL: the entries numbered so far in the test ledger of $company_id (automatic postings): the sampler's progress.
bench_ledger_progress_sql() {
    echo "SELECT coalesce(max(last_value), 0) FROM accounting_sequences
          WHERE company_id = '$company_id' AND mode = 'test' AND kind = 'journal_entry'"
}

# bench_check_ledger: one journal entry per approved sale (automatic postings, test ledger of $company_id), and the
# admin check finds no drift between the day balances and the lines. Prints both; fails when either does not hold.
bench_check_ledger() {
    local counts
    counts=$(psql_app -F ' ' -c "
        SELECT (SELECT count(*) FROM transactions WHERE merchant_id = '$merchant_id' AND status = 'APPROVED'),
               (SELECT count(*) FROM accounting_journal_entries WHERE company_id = '$company_id' AND mode = 'test'
                   AND source_type = 'transaction')")
    set -- $counts
    echo "ledger: $2 journal entries for $1 approved sales"
    [ "$1" = "$2" ] || { echo "the ledger does not have one entry per approved sale" >&2; return 1; }
    bench_admin accounting-check-balances | tail -1
}

# bench_sampler_start FILE [PROGRESS_SQL]: one psql session samples every 100 ms, one line per sample into FILE:
# "epoch|backends waiting on a heavyweight lock|their wait events|PROGRESS_SQL". One session, not a psql per
# sample, so sampling costs next to nothing; each sample is its own transaction (no held-back horizon).
bench_sampler_start() {
    local query="SELECT extract(epoch FROM clock_timestamp()), count(*) FILTER (WHERE wait_event_type = 'Lock'),
        coalesce(string_agg(DISTINCT wait_event, '+') FILTER (WHERE wait_event_type = 'Lock'), ''), (${2:-NULL})
        FROM pg_stat_activity WHERE datname = current_database();"
    bench_sampler_stop_file="$1.stop"
    rm -f "$bench_sampler_stop_file"
    ( while [ ! -e "$bench_sampler_stop_file" ]; do echo "$query"; sleep 0.1; done ) \
        | psql_app -F '|' >"$1" 2>"$1.err" &
    bench_sampler_pid=$!
}

bench_sampler_stop() {
    [ -n "${bench_sampler_pid:-}" ] || return 0
    touch "$bench_sampler_stop_file"
    wait "$bench_sampler_pid" 2>/dev/null || true
    bench_sampler_pid=""
}

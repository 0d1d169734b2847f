#!/usr/bin/env bash
# Accounting performance (issue 11 "Performance"): the hot account and the reports. The end-to-end figure (sales/s
# until the ledger has caught up, against pgbench TPC-B, sale p99) is `POSTING=1 bench/sale.sh`.
#
#   1. release build of `atlas` (or ATLAS_BIN), a private PostgreSQL cluster (scripts/lib/pg.sh), a fresh database,
#      `atlas admin create-merchant`, `atlas serve`, and over the accounting API a company in NZD with the us_gaap
#      chart of accounts, linked to the merchant (scripts/lib/bench.sh `bench_accounting_company`)
#   2. MODE=hot (in `all`): the hot account. Every card sale posts DR 1150 card clearing / CR 4000 sales revenue /
#      CR 2150 tips payable, so every posting credits the same revenue account.
#      a. the ledger consumer is held back: the bench takes its lease (`event_log_consumers`, holder `bench-gate`,
#         the row the event log uses to pick the instance that runs a consumer), so the server's consumer waits
#      b. wrk (CONNECTIONS connections, KEYS API keys: one sk_ key is limited to 1,000/min and 50 in flight) POSTs
#         test-mode SALEs with a tip, in 5 s runs, until HOT_SALES are approved: a backlog of HOT_SALES events
#      c. the gate opens (the lease is released); the server's consumer takes it within a second and posts the
#         backlog through the real path (batches of 500 events, one statement per batch). A psql session samples
#         every 100 ms the entries numbered so far and the backends waiting on a lock
#      d. prints postings/s over the drain (mean; slowest and median full second) beside the target (>= 5,000/s
#         sustained), the lock waits seen, one entry per approved sale and `accounting-check-balances` (no drift)
#   3. MODE=reports (in `all`): SEED_LINES journal lines (default 1,000,000) in the company's live ledger, seeded by
#      SQL in transactions of SEED_CHUNK_ENTRIES entries: balanced posted entries of 2 lines over SEED_DAYS days
#      ending yesterday, each chunk ONE statement doing what the posting code does (`JournalStore.reserveNumbers`,
#      `insert`, `addToDayBalances`: numbers reserved in `accounting_sequences`, entries and lines through the
#      ledger's triggers, the day balances the reports read added from the lines written), the deferred balance
#      trigger checking every entry at commit; then VACUUM ANALYZE and `atlas admin accounting-check-balances`
#      (recomputes every account-day from the lines; exit 1 on drift). Then REPORT_CALLS sequential GETs (after
#      REPORT_WARMUP) of profit and loss (the last 365 days), balance sheet and trial balance (as of yesterday), and
#      cash flow (no target): p50/p99 each beside the target (p99 < 100 ms), bench/accounting_reports.py.
#      Rate limits: the accounting API limits each USER by the organization's tier; enterprise (set here) allows
#      1,000 requests a minute in bursts of 100 (docs/auth-users.md). There is no per-IP limit and no setting or
#      environment variable that lifts the tier limit, which is why one user's 1,000 sequential report calls were
#      refused 429 after the first 100. The bench therefore signs in enough users (accountants of the same
#      organization) that each makes at most 80 of the calls, and fails on any answer other than 200.
#   4. every figure is printed with its target, and the load average at start and end.
#
# Usage: bench/accounting.sh     env: MODE=all|hot|reports CONNECTIONS=64 KEYS=256 HOT_SALES=100000
#                                     SEED_LINES=1000000 SEED_DAYS=730 SEED_CHUNK_ENTRIES=100000
#                                     REPORT_CALLS=200 REPORT_WARMUP=10 WARM_SECONDS=3 LEDGER_WAIT_SECONDS=900 PGPORT=55461
#                                     ATLAS_DB_CONNECTIONS_MAX=16 (as bench/sale.sh)
#                                     ATLAS_BIN=(a prebuilt atlas; default: release build)
# Smoke run (figures mean nothing): HOT_SALES=2000 KEYS=8 CONNECTIONS=16 SEED_LINES=20000 SEED_CHUNK_ENTRIES=4000
#                                   REPORT_CALLS=20
# Figures only count from a quiet machine (check the load average it prints); they go to docs/benchmarks.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/pg.sh
source scripts/lib/deps.sh
source scripts/lib/bench.sh
atlas_apt_install wrk >&2

mode="${MODE:-all}"
connections="${CONNECTIONS:-64}"
keys="${KEYS:-256}"
hot_sales="${HOT_SALES:-100000}"
seed_lines="${SEED_LINES:-1000000}"
seed_days="${SEED_DAYS:-730}"
seed_chunk="${SEED_CHUNK_ENTRIES:-100000}"
report_calls="${REPORT_CALLS:-200}"
report_warmup="${REPORT_WARMUP:-10}"
warm_seconds="${WARM_SECONDS:-3}"
pg_dir="${PGDIR:-/tmp/atlas-bench-accounting-pg}"
pg_port="${PGPORT:-55461}"
work_dir=".build/accounting-bench"
case "$mode" in all|hot|reports) ;; *) echo "MODE must be all, hot or reports" >&2; exit 2 ;; esac
mkdir -p "$work_dir"
bench_loadavg start

bench_setup "$pg_dir" "$pg_port"
bench_database atlas_accounting_bench
bench_create_merchant
bench_serve "$work_dir/server.log" ATLAS_DB_CONNECTIONS_MAX="${ATLAS_DB_CONNECTIONS_MAX:-16}"
bench_accounting_company NZD

# The ledger consumer's lease, held by the bench (`bench-gate`) or released: while the bench holds it, the
# server's consumer cannot take it (ConsumerLeaseStore.acquire) and events wait in the log. An idle consumer that
# held it notices at its next renewal (2 s) and then retries every second until the gate opens.
ledger_gate() {
    if [ "$1" = close ]; then
        psql_app -c "INSERT INTO event_log_consumers AS c (name, lease_holder, lease_expires_at)
                     VALUES ('accounting.ledger', 'bench-gate', now() + interval '1 day')
                     ON CONFLICT (name) DO UPDATE SET lease_holder = excluded.lease_holder,
                         lease_expires_at = excluded.lease_expires_at"
    else
        psql_app -c "UPDATE event_log_consumers SET lease_holder = NULL, lease_expires_at = NULL
                     WHERE name = 'accounting.ledger' AND lease_holder = 'bench-gate'"
    fi
}

hot_account() {
    bench_sale_lua "$work_dir/sale.lua" "$(bench_api_keys "$keys")" \
        '{"type":"SALE","amount":2500,"tipAmount":300,"currency":"NZD","referenceId":"bench"}'
    bench_wait_ledger   # nothing of the set-up left to post
    # Warm-up: WARM_SECONDS of sales posted as they come, then ANALYZE of the ledger tables. WHY: PostgreSQL caches
    # the plan of each foreign-key check per connection at its first use; planned while the new database's ledger was
    # nearly empty, a check on a pooled connection scanned the whole table for the rest of the run (its cost grew
    # with every batch: 0.2 to 0.6 ms a line). Autovacuum's ANALYZE replans them within its first minute on a real
    # database, whose ledger is not empty anyway; the bench does it at once so the drain measures the steady state.
    echo "warm-up: ${warm_seconds} s of sales posted as they come, then ANALYZE of the ledger tables" >&2
    wrk -t2 -c"$connections" -d"${warm_seconds}s" -s "$work_dir/sale.lua" "$base_url" -- warmup >/dev/null
    bench_wait_ledger
    psql_app -c "ANALYZE accounting_journal_entries, accounting_journal_lines, accounting_account_days"
    ledger_gate close
    sleep 4             # longer than the consumer's lease renewal interval plus its poll: it has noticed
    local approved_sql="SELECT count(*) FROM transactions WHERE status = 'APPROVED'" run=0 approved loaded_at load_start
    echo "hot account: loading $hot_sales sales with the ledger consumer held back" >&2
    load_start=$(date +%s.%N)
    local warmed
    warmed=$(psql_app -c "$approved_sql")
    approved=0
    while [ "$approved" -lt "$hot_sales" ]; do
        run=$((run + 1))
        wrk -t2 -c"$connections" -d5s -s "$work_dir/sale.lua" "$base_url" -- "load$run" >/dev/null
        approved=$(( $(psql_app -c "$approved_sql") - warmed ))
    done
    loaded_at=$(date +%s.%N)
    sleep 1   # sales in flight when wrk stopped commit anyway
    approved=$(( $(psql_app -c "$approved_sql") - warmed ))
    echo "backlog: $approved approved sales ($(python3 -c "print(f'{$approved / ($loaded_at - $load_start):.0f}')") sales/s while loading)"
    bench_sampler_start "$work_dir/drain.txt" "$(bench_ledger_progress_sql)"
    sleep 0.5   # a few samples before the gate opens: the counter's starting value
    local opened caught
    opened=$(date +%s.%N)
    ledger_gate open
    bench_wait_ledger
    caught=$(date +%s.%N)
    sleep 0.3   # one more sample after the last posting
    bench_sampler_stop
    python3 bench/ledger_samples.py drain "$work_dir/drain.txt" "$opened" "$caught"
    python3 bench/ledger_samples.py locks "$work_dir/drain.txt" "$opened" "$caught"
    bench_check_ledger
}

# One chunk of the seed: entries FIRST..LAST (of the seed's numbering) in the live ledger, as one statement in one
# transaction (see the header, step 3). Accounts: the ledger's accounts without sub-accounts, the debit and credit
# account of an entry always different.
seed_chunk() {
    local first="$1" last="$2" count=$(($2 - $1 + 1))
    psql_app -v ON_ERROR_STOP=1 <<SQL
BEGIN;
WITH numbers AS (
    INSERT INTO accounting_sequences AS s (company_id, mode, kind, last_value)
    VALUES ('$company_id', 'live', 'journal_entry', $count)
    ON CONFLICT (company_id, mode, kind) DO UPDATE SET last_value = s.last_value + EXCLUDED.last_value
    RETURNING last_value - $count AS before),
accounts AS (
    SELECT array_agg(a.id ORDER BY a.account_number) AS ids, count(*)::int AS k FROM accounting_accounts a
    WHERE a.company_id = '$company_id' AND a.mode = 'live' AND a.is_active
      AND NOT EXISTS (SELECT 1 FROM accounting_accounts c WHERE c.parent_id = a.id)),
plan AS MATERIALIZED (
    SELECT gen_random_uuid()::text AS id, numbers.before + (n - $first + 1) AS number,
           (current_date - 1 - (n % $seed_days)::int) AS day, (100 + (n * 7919) % 1000000)::bigint AS amount,
           accounts.ids[(n % accounts.k)::int + 1] AS debit_account,
           accounts.ids[((n % accounts.k + 1 + (n / accounts.k) % (accounts.k - 1)) % accounts.k)::int + 1] AS credit_account
    FROM numbers, accounts, generate_series($first::bigint, $last::bigint) AS n),
entries AS (
    INSERT INTO accounting_journal_entries (id, company_id, mode, entry_number, status, entry_type, entry_date,
        posting_date, description, currency, total_base_minor, posted_at, posted_by, created_by, created_at, updated_at)
    SELECT id, '$company_id', 'live',
           'JE-' || CASE WHEN number < 1000000 THEN lpad(number::text, 6, '0') ELSE number::text END,
           'posted', 'manual', day, day, 'bench seed', 'NZD', amount, now(), 'bench', 'bench', now(), now()
    FROM plan
    RETURNING id, posting_date),
lines AS (
    INSERT INTO accounting_journal_lines (id, entry_id, company_id, mode, line_number, account_id, side, amount_minor,
        currency, exchange_rate, base_amount_minor)
    SELECT gen_random_uuid()::text, plan.id, '$company_id', 'live', side.line_number,
           CASE side.line_number WHEN 1 THEN plan.debit_account ELSE plan.credit_account END, side.side,
           plan.amount, 'NZD', 1, plan.amount
    FROM plan CROSS JOIN (VALUES (1, 'debit'), (2, 'credit')) AS side(line_number, side)
    RETURNING entry_id, company_id, mode, account_id, side, base_amount_minor)
INSERT INTO accounting_account_days AS d (company_id, mode, account_id, day, debit_minor, credit_minor,
    closing_debit_minor, closing_credit_minor)
SELECT l.company_id, l.mode, l.account_id, e.posting_date,
       sum(CASE WHEN l.side = 'debit' THEN l.base_amount_minor ELSE 0 END)::bigint,
       sum(CASE WHEN l.side = 'credit' THEN l.base_amount_minor ELSE 0 END)::bigint, 0, 0
FROM lines l JOIN entries e ON e.id = l.entry_id
GROUP BY l.company_id, l.mode, l.account_id, e.posting_date
ORDER BY l.account_id, e.posting_date
ON CONFLICT (company_id, mode, account_id, day) DO UPDATE
    SET debit_minor = d.debit_minor + EXCLUDED.debit_minor, credit_minor = d.credit_minor + EXCLUDED.credit_minor;
COMMIT;
SQL
}

reports() {
    local entries=$((seed_lines / 2)) first seeded_at began
    echo "reports: seeding $seed_lines journal lines ($entries entries over $seed_days days) in the live ledger" >&2
    began=$(date +%s.%N)
    for ((first = 1; first <= entries; first += seed_chunk)); do
        seed_chunk "$first" $((first + seed_chunk - 1 < entries ? first + seed_chunk - 1 : entries))
    done
    psql_app -c "VACUUM ANALYZE accounting_journal_entries" -c "VACUUM ANALYZE accounting_journal_lines" \
        -c "VACUUM ANALYZE accounting_account_days"
    seeded_at=$(date +%s.%N)
    echo "seeded: $(psql_app -c "SELECT count(*) FROM accounting_journal_lines WHERE company_id = '$company_id' AND mode = 'live'") journal lines," \
         "$(psql_app -c "SELECT count(*) FROM accounting_account_days WHERE company_id = '$company_id' AND mode = 'live'") account-days" \
         "in $(python3 -c "print(f'{$seeded_at - $began:.1f}')") s"
    bench_admin accounting-check-balances | tail -1
    # Enough users that none makes more than 80 calls (the enterprise burst is 100): see the header.
    local calls=$((4 * (report_calls + report_warmup))) users index
    users=$(( (calls + 79) / 80 ))
    echo "$owner_token" > "$work_dir/tokens.txt"
    for ((index = 2; index <= users; index++)); do
        bench_user_token "reports-$index@bench.example" accountant >> "$work_dir/tokens.txt"
    done
    local as_of period_start
    as_of=$(psql_app -c "SELECT current_date - 1")
    period_start=$(psql_app -c "SELECT current_date - 365")
    echo "reports: $report_calls sequential calls each (after $report_warmup), $users users in turn" >&2
    python3 bench/accounting_reports.py "$port" "$work_dir/tokens.txt" "$company_id" "$report_calls" "$report_warmup" \
        "$as_of" "$period_start" "$as_of"
}

if [ "$mode" != reports ]; then hot_account; fi
if [ "$mode" != hot ]; then reports; fi
bench_loadavg end

# Shared set-up of the server benchmarks (bench/sale.sh, bench/reconciliation.sh): the `atlas` binary
# (ATLAS_BIN, or a release build), a private PostgreSQL cluster, `psql_admin`, and an exit trap that stops
# the server (`server_pid`, set it after starting `atlas serve`) and then the cluster.
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
    trap bench_cleanup EXIT
}

psql_admin() { "$ATLAS_TEST_PGBIN/psql" -h "$bench_pg_dir" -p "$bench_pg_port" -U atlas -d postgres -qtA "$@"; }

bench_cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    pg_local_stop "$bench_pg_dir" >&2 || true
}

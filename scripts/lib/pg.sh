# shellcheck shell=bash
# Private PostgreSQL cluster helpers for Atlas run/test scripts. Source this file, then:
#
#   pg_local_start <datadir> <port>   initdb if needed, start, wait, create db `atlas`, export DATABASE_URL,
#                                     ATLAS_TEST_PGDATA and ATLAS_TEST_PGBIN
#   pg_local_stop <datadir>           fast shutdown (no error when it is not running)
#   pg_local_restart <datadir>        fast restart, waits until ready
#
# The server listens on a unix socket inside <datadir> only (listen_addresses=''), so two clusters never
# fight over a TCP port and nothing is reachable from the network. The port number only names the socket
# file (.s.PGSQL.<port>). initdb/postgres refuse to run as root: as root we run them as the `postgres`
# system user (or create `atlas-pg` when there is none) and give the data folder to that user.
#
# Same rules as the Swift `LocalCluster` type (Modules/Postgres/LocalCluster.swift).

PG_LOCAL_SUPERUSER="atlas"
PG_LOCAL_DATABASE="atlas"
PG_LOCAL_READY_WAIT_SECONDS=30

pg_local_bindir() {
    local dir
    if [ -n "${ATLAS_PGBIN:-}" ] && [ -x "${ATLAS_PGBIN}/pg_ctl" ]; then
        echo "$ATLAS_PGBIN"; return 0
    fi
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0; fi
    echo "pg.sh: no PostgreSQL binaries found (install postgresql or set ATLAS_PGBIN)" >&2
    return 1
}

# The user that owns and runs the cluster: ourselves, or a system user when we are root.
pg_local_run_user() {
    if [ "$(id -u)" != "0" ]; then id -un; return 0; fi
    if id postgres >/dev/null 2>&1; then echo postgres; return 0; fi
    if ! id atlas-pg >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin atlas-pg >&2 || {
            echo "pg.sh: cannot create system user atlas-pg" >&2; return 1; }
    fi
    echo atlas-pg
}

# Runs a command as the cluster user (directly when not root).
pg_local_as_owner() {
    local user="$1"; shift
    if [ "$(id -u)" = "0" ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

pg_local_socket_dir() { (cd "$1" && pwd -P); }

pg_local_start() {
    local datadir="${1:-}" port="${2:-}"
    if [ -z "$datadir" ] || [ -z "$port" ]; then echo "usage: pg_local_start <datadir> <port>" >&2; return 2; fi
    local bindir user
    bindir=$(pg_local_bindir) || return 1
    user=$(pg_local_run_user) || return 1
    case "$datadir" in
        *[!A-Za-z0-9/._-]*) echo "pg.sh: data folder path may only contain [A-Za-z0-9/._-]: $datadir" >&2; return 1 ;;
    esac
    mkdir -p "$datadir" || return 1
    datadir=$(pg_local_socket_dir "$datadir")
    case "$port" in
        ''|*[!0-9]*) echo "pg.sh: port must be a number: $port" >&2; return 1 ;;
    esac
    if [ ${#datadir} -gt 90 ]; then
        echo "pg.sh: data folder path too long for a unix socket (${#datadir} > 90 chars): $datadir" >&2; return 1
    fi
    if [ "$(id -u)" = "0" ]; then
        chown "$user" "$datadir" && chmod 700 "$datadir" || return 1
        if ! runuser -u "$user" -- test -x "$datadir"; then
            echo "pg.sh: user $user cannot reach $datadir (a parent folder is not traversable)" >&2; return 1
        fi
    fi
    if [ ! -f "$datadir/PG_VERSION" ]; then
        if [ -n "$(ls -A "$datadir")" ]; then
            echo "pg.sh: $datadir is not empty and holds no cluster; refusing to initdb there" >&2; return 1
        fi
        echo "pg.sh: initdb $datadir" >&2
        # collation C: the order C.UTF-8 gives, compared as bytes, not through strcoll (docs/postgres.md)
        pg_local_as_owner "$user" "$bindir/initdb" -D "$datadir" --auth=trust -U "$PG_LOCAL_SUPERUSER" \
            -E UTF8 --lc-collate=C --lc-ctype=C.UTF-8 >"$datadir.initdb.log" 2>&1 || {
            echo "pg.sh: initdb failed, see $datadir.initdb.log" >&2; return 1; }
    fi
    local opts="-k $datadir -p $port -c listen_addresses='' ${PG_LOCAL_EXTRA_OPTS:-}"
    if pg_local_as_owner "$user" "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
        local running_port
        running_port=$(sed -n '4p' "$datadir/postmaster.pid" 2>/dev/null)
        if [ -n "$running_port" ] && [ "$running_port" != "$port" ]; then
            echo "pg.sh: cluster in $datadir already runs on port $running_port, not $port; stop it first" >&2
            return 1
        fi
        echo "pg.sh: cluster in $datadir already running" >&2
    else
        if [ -f "$datadir/postmaster.pid" ]; then
            echo "pg.sh: removing stale $datadir/postmaster.pid" >&2
            rm -f "$datadir/postmaster.pid"
        fi
        if [ -S "$datadir/.s.PGSQL.$port" ] || [ -f "$datadir/.s.PGSQL.$port.lock" ]; then
            rm -f "$datadir/.s.PGSQL.$port" "$datadir/.s.PGSQL.$port.lock"
        fi
        if ! pg_local_as_owner "$user" "$bindir/pg_ctl" -D "$datadir" -l "$datadir/postgresql.log" -w \
            -t "$PG_LOCAL_READY_WAIT_SECONDS" -o "$opts" start >/dev/null; then
            echo "pg.sh: server did not start; last log lines:" >&2
            tail -n 15 "$datadir/postgresql.log" >&2
            return 1
        fi
    fi
    local waited=0
    until "$bindir/pg_isready" -q -h "$datadir" -p "$port" -U "$PG_LOCAL_SUPERUSER" -d postgres; do
        waited=$((waited + 1))
        if [ "$waited" -gt "$PG_LOCAL_READY_WAIT_SECONDS" ]; then
            echo "pg.sh: server in $datadir not ready after ${PG_LOCAL_READY_WAIT_SECONDS}s" >&2; return 1
        fi
        sleep 1
    done
    local exists
    exists=$("$bindir/psql" -h "$datadir" -p "$port" -U "$PG_LOCAL_SUPERUSER" -d postgres -tAq \
        -c "SELECT 1 FROM pg_database WHERE datname = '$PG_LOCAL_DATABASE'") || return 1
    if [ "$exists" != "1" ]; then
        "$bindir/createdb" -h "$datadir" -p "$port" -U "$PG_LOCAL_SUPERUSER" "$PG_LOCAL_DATABASE" || return 1
    fi
    export DATABASE_URL="postgresql://$PG_LOCAL_SUPERUSER@/$PG_LOCAL_DATABASE?host=$datadir&port=$port"
    export ATLAS_TEST_PGDATA="$datadir"
    export ATLAS_TEST_PGBIN="$bindir"
    echo "pg.sh: ready, DATABASE_URL=$DATABASE_URL" >&2
}

pg_local_stop() {
    local datadir="${1:-}"
    if [ -z "$datadir" ]; then echo "usage: pg_local_stop <datadir>" >&2; return 2; fi
    [ -f "$datadir/PG_VERSION" ] || return 0
    local bindir user
    bindir=$(pg_local_bindir) || return 1
    user=$(stat -c %U "$datadir")
    if pg_local_as_owner "$user" "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
        pg_local_as_owner "$user" "$bindir/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null
    fi
}

pg_local_restart() {
    local datadir="${1:-}"
    if [ -z "$datadir" ]; then echo "usage: pg_local_restart <datadir>" >&2; return 2; fi
    local bindir user
    bindir=$(pg_local_bindir) || return 1
    user=$(stat -c %U "$datadir")
    # Without -o, pg_ctl reuses the options recorded in postmaster.opts (socket dir, port).
    pg_local_as_owner "$user" "$bindir/pg_ctl" -D "$datadir" -l "$datadir/postgresql.log" -m fast -w restart >/dev/null
}

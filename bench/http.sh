#!/usr/bin/env bash
# HTTP server throughput: Atlas's HTTPServer (atlas-httpbench, GET /ping) against nginx-light
# serving a static 200 on the same machine, both measured with wrk.
# Usage: bench/http.sh [duration_seconds=10] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
ATLAS_PORT="${ATLAS_PORT:-18181}"
NGINX_PORT="${NGINX_PORT:-18182}"

need() { command -v "$1" >/dev/null 2>&1 || command -v "/usr/sbin/$1" >/dev/null 2>&1; }
if ! need wrk || ! need nginx; then
    apt-get update -qq && apt-get install -y -qq wrk nginx-light >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

swift build -c release --scratch-path .build-bench --product atlas-httpbench >/dev/null
BIN=".build-bench/release/atlas-httpbench"

WORK="$(mktemp -d)"
ATLAS_PID=""
cleanup() {
    [ -n "$ATLAS_PID" ] && kill "$ATLAS_PID" 2>/dev/null || true
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    sleep 0.3
    rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
daemon on;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/body;
    proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location /ping { default_type text/plain; return 200 "pong\n"; }
    }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK"

"$BIN" "$ATLAS_PORT" "$(nproc)" 0 >/dev/null 2>&1 &
ATLAS_PID=$!
for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$ATLAS_PORT/ping" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$NGINX_PORT/ping" >/dev/null 2>&1 && break
    sleep 0.1
done

run_wrk() { # name url
    local out
    wrk -t2 -c"$CONNECTIONS" -d3s "$2" >/dev/null 2>&1 # warm-up
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$2")"
    echo "$out" > "$WORK/$1.txt"
    local rps p99 errors
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
    errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)"
    printf '%-8s req/s=%-12s p99=%-10s %s\n' "$1" "$rps" "$p99" "$errors"
    eval "${1}_RPS=$rps"
}

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency, $(nproc) cores, atlas event loops=$(nproc)"
run_wrk atlas "http://127.0.0.1:$ATLAS_PORT/ping"
run_wrk nginx "http://127.0.0.1:$NGINX_PORT/ping"
awk -v a="$atlas_RPS" -v n="$nginx_RPS" 'BEGIN { printf "ratio atlas/nginx = %.2f\n", a / n }'

#!/usr/bin/env bash
# WebSocket scale against atlas-httpbench's /ws (our HTTPServer, release build), issue 14's two targets:
#   1. idle: SESSIONS idle sessions (Python asyncio, bench/websocket_idle.py), the server's RSS with them open.
#      Target: 10,000 sessions under 300 MB.
#   2. fan-out: FANOUT sessions, one event to all of them per round, latency = receipt - the server's stamp (same host,
#      CLOCK_MONOTONIC), measured by a compiled epoll client (bench/ws_fanout.c, built here with cc).
#      Target: 1,000 sessions, p99 < 10 ms. One line per mode (WS_FANOUT_MODES):
#        broadcast       one frame encoded once and shared by every session (the fan-out of one event)
#        broadcast text  the same text encoded by each session's send (the path before the shared frame; A/B)
#        broadcast json  a numbered JSON event built and serialized per session (how /v1/session sends: each
#                        session its own event; see docs/benchmarks.md "WebSocket")
#        broadcast tasks the same, each session's event emitted from a task of its own (as /v1/session's sales do)
#   3. optional cross-check (WS_PYTHON_CROSSCHECK=1): the old Python fan-out client, whose own receive cost is in its
#      figure.
# Usage: bench/websocket.sh [sessions=10000] [fanout_sessions=1000] [rounds=20]
# Environment:
#   ATLAS_WS_PORT=18191           the server's port
#   ATLAS_WS_BENCH_BIN=<binary>   skip the release build (e.g. .build/debug/atlas-httpbench: smoke runs only)
#   WS_FANOUT_MODES="broadcast|broadcast text|broadcast json|broadcast tasks"   modes to measure, |-separated
#   WS_WARMUP_ROUNDS=2            rounds before the measured ones, not counted
#   WS_ROUND_GAP_MS=50            pause between rounds
#   WS_PYTHON_CROSSCHECK=0        1: also run the Python fan-out client (mode "broadcast")
#   CC=cc                         the C compiler for the fan-out client
# Load average is printed at the start and the end: both clients and the server share the machine's cores, so figures
# from a shared or busy machine are not results.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS="${1:-10000}"
FANOUT="${2:-1000}"
ROUNDS="${3:-20}"
PORT="${ATLAS_WS_PORT:-18191}"
MODES="${WS_FANOUT_MODES:-broadcast|broadcast text|broadcast json|broadcast tasks}"
WARMUP="${WS_WARMUP_ROUNDS:-2}"
GAP_MS="${WS_ROUND_GAP_MS:-50}"

echo "websocket bench: $(date -u +%FT%TZ) cores=$(nproc) loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"

# One descriptor per session on each side, plus slack.
ulimit -n "$(( SESSIONS * 2 + 1024 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ATLAS_WS_BENCH_BIN=.build/debug/atlas-httpbench skips the release build (smoke runs only).
BIN="${ATLAS_WS_BENCH_BIN:-}"
if [ -z "$BIN" ]; then
    swift build -c release --scratch-path .build-bench --product atlas-httpbench >/dev/null
    BIN=".build-bench/release/atlas-httpbench"
fi
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
command -v "${CC:-cc}" >/dev/null || { echo "no C compiler (${CC:-cc}) for bench/ws_fanout.c: set CC"; exit 1; }
"${CC:-cc}" -O2 -Wall -Wextra -o "$WORK/ws_fanout" bench/ws_fanout.c

"$BIN" "$PORT" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
# Wait for the port (the server's "listening" line may sit in its stdout buffer).
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
for _ in $(seq 1 100); do listening && break; sleep 0.1; done
listening || { echo "the server did not start:"; cat "$WORK/server.log"; exit 1; }

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }

if [ "$SESSIONS" -gt 0 ]; then
    python3 bench/websocket_idle.py "$PORT" "$SERVER_PID" "$SESSIONS" 0
    echo "  target: 10,000 sessions with server RSS < 300 MB"
    sleep 2  # the server tears down the idle sessions before the fan-out opens its own
fi

if [ "$FANOUT" -gt 0 ]; then
    IFS='|' read -r -a MODE_LIST <<< "$MODES"
    for MODE in "${MODE_LIST[@]}"; do
        "$WORK/ws_fanout" "$PORT" "$FANOUT" "$ROUNDS" "$MODE" "$WARMUP" "$GAP_MS"
    done
    echo "  target: fan-out to 1,000 sessions, p99 < 10 ms"
    if [ "${WS_PYTHON_CROSSCHECK:-0}" = "1" ]; then
        python3 bench/websocket_idle.py "$PORT" "$SERVER_PID" "$FANOUT" "$FANOUT" "$ROUNDS" broadcast
    fi
fi

echo "server_rss_end_mb=$(rss_mb) loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"

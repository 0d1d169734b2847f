#!/usr/bin/env bash
# Webhook delivery: commit-to-first-attempt p99 and deliveries/s with a local receiver (issue 13 "Performance":
# p99 < 250 ms, >= 2,000 deliveries/s sustained). Figures belong in docs/benchmarks.md once run on a quiet
# machine; a run on a shared machine (other builds, other benches) is a smoke run, not a result.
#
#   1. release build of `atlas` (or ATLAS_BIN), a private PostgreSQL cluster and the Python receiver
#      (bench/webhooks_bench.py, on bench/webhooks_crash.py's harness)
#   2. ENDPOINTS endpoints, EVENTS events appended to the event log at RATE/s, each stamped with its append time
#   3. prints deliveries/s, commit-to-first-attempt p50/p99/max and how busy the receiver was
#
# Usage: bench/webhooks.sh     env: EVENTS=20000 RATE=2500 BATCH_EVENTS=250 ENDPOINTS=16 ATLAS_BIN=(prebuilt)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${ATLAS_BIN:-}" ]; then
    atlas="$ATLAS_BIN"
else
    swift build -c release --product atlas >&2
    atlas=".build/release/atlas"
fi
exec python3 bench/webhooks_bench.py "$atlas"

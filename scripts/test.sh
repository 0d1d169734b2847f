#!/usr/bin/env bash
# Runs the whole Atlas test suite against a throwaway PostgreSQL that this script starts and removes.
# Usage: scripts/test.sh [extra swift test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
source scripts/lib/pg.sh

atlas_require_swift
atlas_install_test_deps

export ATLAS_TEST_PG_DIR="${ATLAS_TEST_PG_DIR:-$(mktemp -d /tmp/atlas-test-pg.XXXXXX)}"
chmod 755 "$ATLAS_TEST_PG_DIR"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cleanup() {
    pg_local_stop "$ATLAS_TEST_PG_DIR/data" >/dev/null 2>&1 || true
    rm -rf "$ATLAS_TEST_PG_DIR"
}
trap cleanup EXIT

pg_local_start "$ATLAS_TEST_PG_DIR/data" "$port"
echo "atlas: test database ready on port $port" >&2

swift build --build-tests
# Swift Testing runs suites in parallel; 2 workers keep a 2-core machine responsive.
swift test --skip-build --parallel --num-workers 2 "$@"

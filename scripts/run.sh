#!/usr/bin/env bash
# Builds and runs the Atlas server. Without DATABASE_URL, the server starts a private PostgreSQL
# cluster under .local/postgres, migrates it, and prints a sandbox API key.
# Usage: scripts/run.sh [atlas serve arguments]; configuration via environment (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh

atlas_require_swift
atlas_install_runtime_deps

swift build -c release --product atlas
export ATLAS_GIT_COMMIT="${ATLAS_GIT_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || true)}"
exec .build/release/atlas serve "$@"

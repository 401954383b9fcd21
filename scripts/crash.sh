#!/usr/bin/env bash
# The crash test (tests/it/reliability/crash.rs) with more kill cycles, on an
# optimised build: `offtake serve` is killed with SIGKILL at random moments
# under concurrent load, restarted, and checked (acknowledged work exactly
# once, nothing half-applied, currencies sum to zero, chain verifies).
#
#   scripts/crash.sh [CYCLES] [SEED]        (default 100 cycles, a random seed)
#
# PostgreSQL: OFFTAKE_TEST_POSTGRES_URL (default the local trust-auth
# server); the test creates and drops a database of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export CRASH_CYCLES="${1:-100}"
if [ -n "${2:-}" ]; then export CRASH_SEED="$2"; fi
exec cargo test --release --test it reliability::crash -- --nocapture --test-threads=1

#!/usr/bin/env bash
# offtake vs pgbench, in one run on the same PostgreSQL server.
#
#   1. pgbench TPC-B (scale 10, 8 clients, 2 threads, DURATION_S seconds) in its
#      own database `offtake_pgbench` (dropped and recreated);
#   2. the offtake `transfers` scenario (uniform, 10,000 accounts, 64 clients,
#      the same duration) in a fresh schema of OFFTAKE_BENCH_POSTGRES_URL;
#   3. prints offtake transfers/s ÷ pgbench TPC-B tps.
#
# Durable settings only: the script refuses to run if the server has
# fsync=off or synchronous_commit=off (offtake-bench checks again).
#
# Env: PG_BASE_URL (default postgres://postgres@127.0.0.1:5432),
#      OFFTAKE_BENCH_POSTGRES_URL (default $PG_BASE_URL/test),
#      DURATION_S (default 30), CONCURRENCY (default 64), ACCOUNTS (default 10000).
set -euo pipefail

PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}
OFFTAKE_URL=${OFFTAKE_BENCH_POSTGRES_URL:-$PG_BASE_URL/test}
DURATION_S=${DURATION_S:-30}
CONCURRENCY=${CONCURRENCY:-64}
ACCOUNTS=${ACCOUNTS:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -1 || true)
[ -n "$PGBENCH" ] || { echo "pgbench not found (apt-get install postgresql-contrib or postgresql-client)" >&2; exit 1; }

setting() { psql -XAtq "$PG_BASE_URL/postgres" -c "SHOW $1"; }
# CPU seconds (user+system, all processes named $1) from /proc: the machine
# may be shared, so the script also compares CPU per transaction, which
# neighbours' load does not distort. Clock ticks are 100/s on Linux.
cpu_ticks() {
    local total=0 f comm rest
    for f in /proc/[0-9]*/stat; do
        comm=$(cat "${f%/stat}/comm" 2>/dev/null) || continue
        [ "$comm" = "$1" ] || continue
        rest=$(sed 's/.*) //' "$f" 2>/dev/null) || continue
        set -- "$1" $rest
        # utime + stime, plus cutime + cstime: backends that exit (pgbench's
        # connections) are reaped by the postmaster and land in its cutime.
        total=$((total + ${13} + ${14} + ${15} + ${16}))
    done
    echo "$total"
}
for s in fsync synchronous_commit; do
    if [ "$(setting $s)" = "off" ]; then
        echo "refusing to compare: $s=off is not durable" >&2
        exit 1
    fi
done
echo "# server: $(psql -XAtq "$PG_BASE_URL/postgres" -c 'SELECT version()' | cut -d, -f1)"
echo "# settings: fsync=$(setting fsync) synchronous_commit=$(setting synchronous_commit)" \
     "wal_sync_method=$(setting wal_sync_method) full_page_writes=$(setting full_page_writes)" \
     "shared_buffers=$(setting shared_buffers)"
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## pgbench TPC-B: scale 10, -c 8 -j 2 -T $DURATION_S"
psql -XAtq "$PG_BASE_URL/postgres" -c "DROP DATABASE IF EXISTS offtake_pgbench" -c "CREATE DATABASE offtake_pgbench"
"$PGBENCH" -i -s 10 -q "$PG_BASE_URL/offtake_pgbench" 2>&1 | tail -1
SERVER_T0=$(cpu_ticks postgres)
PGBENCH_OUT=$("$PGBENCH" -c 8 -j 2 -T "$DURATION_S" "$PG_BASE_URL/offtake_pgbench" 2>&1)
SERVER_T1=$(cpu_ticks postgres)
echo "$PGBENCH_OUT" | grep -E "latency average|tps =" || true
TPS=$(echo "$PGBENCH_OUT" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -1)
TXNS=$(echo "$PGBENCH_OUT" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' | tail -1)
[ -n "$TPS" ] || { echo "could not read pgbench tps:" >&2; echo "$PGBENCH_OUT" >&2; exit 1; }
psql -XAtq "$PG_BASE_URL/postgres" -c "DROP DATABASE IF EXISTS offtake_pgbench"

echo "## offtake transfers: $ACCOUNTS accounts, concurrency $CONCURRENCY, $DURATION_S s"
BIN=${OFFTAKE_BENCH_BIN:-}
if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build --release -q -p offtake-bench)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/offtake-bench"
fi
JSON=$(mktemp)
trap 'rm -f "$JSON"' EXIT
"$BIN" --backend postgres --scenario transfers --concurrency "$CONCURRENCY" --accounts "$ACCOUNTS" \
       --duration-s "$DURATION_S" --postgres-url "$OFFTAKE_URL" --json "$JSON"
OFFTAKE=$(sed -n 's/.*"throughput_per_s":\([0-9.e+]*\).*/\1/p' "$JSON" | tail -1)
OFFTAKE_SRV=$(sed -n 's/.*"server_cpu_us_per_op":\([0-9.e+]*\).*/\1/p' "$JSON" | tail -1)
[ -n "$OFFTAKE" ] || { echo "could not read the offtake result" >&2; exit 1; }

echo "## result"
awk -v c="$CONCURRENCY" -v o="$OFFTAKE" -v t="$TPS" -v n="${TXNS:-0}" -v st=$((SERVER_T1 - SERVER_T0)) -v os="${OFFTAKE_SRV:-0}" 'BEGIN {
    printf "pgbench TPC-B tps            %10.0f\n", t
    printf "offtake transfers/s (c%-3s)   %10.0f\n", c, o
    printf "ratio offtake / pgbench      %10.2f   (target >= 10)\n", o / t
    if (n > 0 && os > 0) {
        ps = st * 10000 / n
        printf "server CPU per TPC-B txn     %10.0f us\n", ps
        printf "server CPU per transfer      %10.0f us\n", os
        printf "CPU-normalised ratio         %10.2f   (server CPU per pgbench txn / per offtake transfer)\n", ps / os
    }
}'

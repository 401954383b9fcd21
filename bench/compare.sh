#!/usr/bin/env bash
# offtake against PostgreSQL's own floors, in ONE run on the same server, so
# that every figure is a ratio to something measured minutes apart under the
# same neighbours' load:
#
#   1. pgbench TPC-B (scale 10, 8 clients, 2 threads, DURATION_S seconds) in
#      its own database `offtake_pgbench` (dropped and recreated);
#   2. the insert-only floor: bench/floor.sql (an entry and two legs per
#      transfer, FLOOR_BATCH per transaction, one head row) on offtake's own
#      tables in a database `offtake_floor`, ANALYZEd after loading;
#   3. offtake-bench on PostgreSQL: the core (`transfers`, CONCURRENCY
#      clients), the HTTP API (`http`: POST /v1/transfers), 8 ledgers
#      written in parallel (`parallel-ledgers`) and payment notices through
#      the waterfall (`settlement`), in a fresh schema of
#      OFFTAKE_BENCH_POSTGRES_URL;
#   4. offtake-bench on SQLite: core and HTTP (SQLITE=0 skips);
#   5. the `scale` scenario on PostgreSQL (SCALE=0 skips): each operation's
#      p99 at a small program (10 facilities / 100 invoices / 1,000
#      notices) and at SCALE_LARGE, and their ratio;
#   6. prints the ratios: core/TPC-B, HTTP/TPC-B, HTTP/core, core/floor,
#      parallel/TPC-B, settlement/TPC-B (and SQLite HTTP/core), then the
#      scale ratios (target <= 1.5).
#
# Durable settings only: the script refuses to run if the server has
# fsync=off or synchronous_commit=off (offtake-bench checks again).
#
# Env: PG_BASE_URL (default postgres://postgres@127.0.0.1:5432),
#      OFFTAKE_BENCH_POSTGRES_URL (default $PG_BASE_URL/test),
#      DURATION_S (default 30), CONCURRENCY (default 64), ACCOUNTS (default 10000),
#      FLOOR_BATCH (default 64), LEDGERS (default 8), SQLITE (default 1),
#      SCALE (default 1), SCALE_LARGE (default 10000,100000,1000000: issue 21's
#      program; loading it takes long, set smaller for a quick run),
#      SCALE_SAMPLES (default 1000 per operation and size: the p99 of 200 is the
#      second-worst sample, and one scheduling hiccup on a shared machine doubled it).
set -euo pipefail

PG_BASE_URL=${PG_BASE_URL:-postgres://postgres@127.0.0.1:5432}
OFFTAKE_URL=${OFFTAKE_BENCH_POSTGRES_URL:-$PG_BASE_URL/test}
DURATION_S=${DURATION_S:-30}
CONCURRENCY=${CONCURRENCY:-64}
ACCOUNTS=${ACCOUNTS:-10000}
FLOOR_BATCH=${FLOOR_BATCH:-64}
LEDGERS=${LEDGERS:-8}
SQLITE=${SQLITE:-1}
SCALE=${SCALE:-1}
SCALE_LARGE=${SCALE_LARGE:-10000,100000,1000000}
SCALE_SAMPLES=${SCALE_SAMPLES:-1000}
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

echo "## insert-only floor: bench/floor.sql, $FLOOR_BATCH entries per transaction, -c 8 -j 2 -T $DURATION_S"
psql -XAtq "$PG_BASE_URL/postgres" -c "DROP DATABASE IF EXISTS offtake_floor" -c "CREATE DATABASE offtake_floor"
psql -XAtq -v ON_ERROR_STOP=1 "$PG_BASE_URL/offtake_floor" -f "$ROOT/migrations/postgres/0001_ledger.sql" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 "$PG_BASE_URL/offtake_floor" \
     -c "INSERT INTO ledgers (ledger_id, created_at_us, head_hash) VALUES ('floor', 0, sha256('floor'))" \
     -c "ANALYZE"
FLOOR_OUT=$("$PGBENCH" -n -c 8 -j 2 -T "$DURATION_S" -D batch="$FLOOR_BATCH" -f "$ROOT/bench/floor.sql" \
            "$PG_BASE_URL/offtake_floor" 2>&1)
echo "$FLOOR_OUT" | grep -E "latency average|tps =" || true
FLOOR_TPS=$(echo "$FLOOR_OUT" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -1)
[ -n "$FLOOR_TPS" ] || { echo "could not read the floor's tps:" >&2; echo "$FLOOR_OUT" >&2; exit 1; }
FLOOR=$(awk -v t="$FLOOR_TPS" -v b="$FLOOR_BATCH" 'BEGIN { printf "%.1f", t * b }')
psql -XAtq "$PG_BASE_URL/postgres" -c "DROP DATABASE IF EXISTS offtake_floor"

echo "## offtake on PostgreSQL: core, HTTP, $LEDGERS parallel ledgers; $ACCOUNTS accounts, concurrency $CONCURRENCY, $DURATION_S s"
BIN=${OFFTAKE_BENCH_BIN:-}
if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build --release -q -p offtake-bench)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/offtake-bench"
fi
JSON=$(mktemp)
# JSON_OUT=FILE keeps every report line (one JSON object a line).
trap 'if [ -n "${JSON_OUT:-}" ]; then cp "$JSON" "$JSON_OUT"; fi; rm -f "$JSON"' EXIT
"$BIN" --backend postgres --scenario transfers,http,parallel-ledgers,settlement --concurrency "$CONCURRENCY" \
       --accounts "$ACCOUNTS" --ledgers "$LEDGERS" --duration-s "$DURATION_S" --postgres-url "$OFFTAKE_URL" \
       --settlement-duration-s "$DURATION_S" --json "$JSON"
if [ "$SQLITE" = 1 ]; then
    echo "## offtake on SQLite: core and HTTP"
    "$BIN" --backend sqlite --scenario transfers,http --concurrency "$CONCURRENCY" --accounts "$ACCOUNTS" \
           --duration-s "$DURATION_S" --json "$JSON"
fi
SCALE_OUT=""
if [ "$SCALE" = 1 ]; then
    echo "## offtake on PostgreSQL: scale, small 10,100,1000 vs large $SCALE_LARGE, $SCALE_SAMPLES samples"
    SCALE_OUT=$("$BIN" --backend postgres --scenario scale --scale-large "$SCALE_LARGE" --samples "$SCALE_SAMPLES" \
                --postgres-url "$OFFTAKE_URL" --json "$JSON" | tee -a /dev/stderr)
fi
# throughput of one report line: backend, scenario (variant if several)
pick() { jq -r --arg b "$1" --arg s "$2" --arg v "${3:-}" \
    'select(.backend == $b and .scenario == $s and ($v == "" or .variant == $v)) | .throughput_per_s' "$JSON" | tail -1; }
CORE=$(pick postgres transfers uniform)
HTTP=$(pick postgres http)
PARALLEL=$(pick postgres parallel-ledgers)
SETTLE=$(pick postgres settlement waterfall)
SETTLE_BATCHED=$(pick postgres settlement batched)
CORE_SRV=$(jq -r 'select(.backend == "postgres" and .scenario == "transfers" and .variant == "uniform") | .server_cpu_us_per_op // 0' "$JSON" | tail -1)
[ -n "$CORE" ] && [ -n "$HTTP" ] && [ -n "$PARALLEL" ] || { echo "could not read the offtake results" >&2; exit 1; }
LITE_CORE=$(pick sqlite transfers uniform)
LITE_HTTP=$(pick sqlite http)

echo "## result (one run, same server; ratios are what to compare across runs)"
awk -v c="$CONCURRENCY" -v t="$TPS" -v f="$FLOOR" -v core="$CORE" -v http="$HTTP" -v par="$PARALLEL" \
    -v nl="$LEDGERS" -v se="${SETTLE:-0}" -v sb="${SETTLE_BATCHED:-0}" -v lc="${LITE_CORE:-0}" -v lh="${LITE_HTTP:-0}" \
    -v n="${TXNS:-0}" -v st=$((SERVER_T1 - SERVER_T0)) -v os="${CORE_SRV:-0}" 'BEGIN {
    printf "pgbench TPC-B tps                     %10.0f\n", t
    printf "insert-only floor entries/s           %10.0f\n", f
    printf "core transfers/s (c%-3s)               %10.0f\n", c, core
    printf "HTTP transfers/s (c%-3s)               %10.0f\n", c, http
    printf "%d ledgers in parallel transfers/s     %10.0f\n", nl, par
    printf "ratio core / TPC-B                    %10.2f\n", core / t
    printf "ratio HTTP / TPC-B                    %10.2f   (target >= 2)\n", http / t
    printf "ratio HTTP / core                     %10.2f   (target >= 0.70)\n", http / core
    printf "ratio core / floor                    %10.2f   (target >= 0.70)\n", core / f
    printf "ratio %d ledgers / TPC-B               %10.2f   (target >= 10)\n", nl, par / t
    printf "settlement notices/s (c%-3s)           %10.0f\n", c, se
    printf "ratio settlement / TPC-B              %10.2f   (target >= 0.5)\n", se / t
    printf "settlement batched passes notices/s   %10.0f\n", sb
    printf "ratio batched settlement / TPC-B      %10.2f   (target >= 0.5)\n", sb / t
    if (lc > 0) {
        printf "SQLite core transfers/s               %10.0f\n", lc
        printf "SQLite HTTP transfers/s               %10.0f\n", lh
        printf "ratio SQLite HTTP / core              %10.2f   (target >= 0.70)\n", lh / lc
    }
    if (n > 0 && os > 0) {
        ps = st * 10000 / n
        printf "server CPU per TPC-B txn              %10.0f us\n", ps
        printf "server CPU per core transfer          %10.0f us\n", os
    }
}'
# `# scale-ratio BACKEND OP SMALL_P99_MS LARGE_P99_MS RATIO` lines of the scale run.
echo "$SCALE_OUT" | awk '$2 == "scale-ratio" {
    printf "scale p99 %-16s %8.2f ms -> %8.2f ms  ratio %6.2f   (target <= 1.5)\n", $4, $5, $6, $7
}'

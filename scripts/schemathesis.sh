#!/usr/bin/env bash
# API schema fuzzing: schemathesis (PyPI) against the served /openapi.json of
# `offtake serve` on a fresh SQLite database with an admin key. Fails on any
# 5xx and on any response that does not match the document (status, headers,
# content type, body schema). Not part of CI (it needs PyPI and takes a while).
# The server runs without its per-key rate limit: schemathesis sends
# thousands of requests with one key, and a 429 would only measure that.
#
#   scripts/schemathesis.sh [MAX_EXAMPLES]      (default 25 per operation)
#
# The virtualenv is kept in ${SCHEMATHESIS_VENV:-target/schemathesis-venv}.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

examples="${1:-25}"
venv="${SCHEMATHESIS_VENV:-$PWD/target/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

cargo build --quiet --bin offtake
bin="${CARGO_TARGET_DIR:-target}/debug/offtake"
work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

url="sqlite:$work/st.db"
key="$("$bin" --database-url "$url" init | grep -o 'otk_[A-Za-z0-9_]*')"
# A few objects so that GETs by id can find something.
"$bin" --database-url "$url" account create cash:a --currency USD >/dev/null
"$bin" --database-url "$url" account create cash:b --currency USD >/dev/null
"$bin" --database-url "$url" transfer --from cash:a --to cash:b --amount 1.00 --key seed >/dev/null

OFFTAKE_LOG=warn "$bin" --database-url "$url" serve --listen 127.0.0.1:0 --rate-limit-per-s 0 >"$work/serve.out" 2>"$work/serve.log" &
server=$!
for _ in $(seq 1 50); do
  grep -q 'listening on' "$work/serve.out" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/^listening on //p' "$work/serve.out")"
echo "== schemathesis against $base/openapi.json ($examples examples per operation)"

set +e
# Run from the work directory: schemathesis keeps a cache (.schemathesis/)
# in its working directory.
cd "$work"
"$venv/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$base/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $key" \
  --checks all \
  --max-examples "$examples" \
  --seed 1 \
  --request-timeout 10 \
  --report junit --report-dir "${SCHEMATHESIS_REPORT_DIR:-$work/report}"
rc=$?
set -e
if grep -qiE 'panicked|request failed' "$work/serve.log"; then
  echo "!! the server logged failures:"; grep -iE 'panicked|request failed' "$work/serve.log" | head -n 20
  rc=1
fi
exit "$rc"

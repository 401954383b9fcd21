#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (not part of CI).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]     (default 600 s, all targets)
#
# Targets (fuzz/fuzz_targets/): amount_parse, canonical_json,
# envelope_verify, bundle_line, bundle_verify, date_parse,
# record_chain_verify, checkpoint_note. Corpora grow in
# fuzz/corpus/TARGET (git-ignored), seeded from fuzz/seeds/ and from a real
# audit bundle exported from `offtake demo` (OFFTAKE_BIN names an existing
# binary, else one is built); a crash leaves its input in
# fuzz/artifacts/TARGET and the script exits non-zero.
#
# cargo-fuzz passes nightly-only flags (-Zsanitizer=address, …) to rustc.
# Only the stable toolchain is installed here, so RUSTC_BOOTSTRAP=1 lets
# stable rustc accept them; libFuzzer itself is built from the
# libfuzzer-sys crate with the system C++ compiler.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-600}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(amount_parse canonical_json envelope_verify bundle_line bundle_verify date_parse record_chain_verify checkpoint_note)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/fuzz/target}"
mkdir -p fuzz/corpus fuzz/logs

# Seeds: a real bundle (packed into one input), real envelopes, amounts, JSON.
seed_bundle() {
  local work; work="$(mktemp -d)"
  local bin="${OFFTAKE_BIN:-}"
  if [ -z "$bin" ]; then
    CARGO_TARGET_DIR="${OFFTAKE_TARGET_DIR:-$PWD/target}" cargo build --quiet --bin offtake
    bin="${OFFTAKE_TARGET_DIR:-$PWD/target}/debug/offtake"
  fi
  "$bin" demo --demo-database-url "sqlite:$work/demo.db" >/dev/null
  "$bin" --database-url "sqlite:$work/demo.db" --ledger demo audit keygen --key "$work/ledger.key" >/dev/null
  "$bin" --database-url "sqlite:$work/demo.db" --ledger demo export bundle --key "$work/ledger.key" --out "$work/bundle" >/dev/null
  mkdir -p fuzz/corpus/bundle_verify fuzz/corpus/bundle_line
  # Packed as name\0content\0… (offtake_fuzz::unpack).
  python3 - "$work/bundle" fuzz/corpus/bundle_verify/demo-bundle <<'PY'
import os, sys
root, out = sys.argv[1], sys.argv[2]
parts = []
for d, _, files in sorted(os.walk(root)):
    for f in sorted(files):
        path = os.path.join(d, f)
        parts += [os.path.relpath(path, root).encode(), open(path, "rb").read()]
open(out, "wb").write(b"".join(p + b"\0" for p in parts))
PY
  local n=0
  for f in "$work"/bundle/*.jsonl; do
    head -n 20 "$f" | while IFS= read -r line; do
      n=$((n + 1)); printf '%s' "$line" > "fuzz/corpus/bundle_line/$(basename "$f")-$RANDOM$n"
    done
  done
  rm -rf "$work"
}
[ -e fuzz/corpus/bundle_verify/demo-bundle ] || seed_bundle
mkdir -p fuzz/corpus/envelope_verify
for f in tests/vectors/*.envelope.json; do
  { printf '\000'; cat "$f"; } > "fuzz/corpus/envelope_verify/$(basename "$f")"
done

status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "== $t: ${secs}s"
  seeds=()
  [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
  max_len=65536
  [ "$t" = bundle_verify ] && max_len=2097152
  if ! cargo fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" "${seeds[@]}" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
      >"fuzz/logs/$t.log" 2>&1; then
    echo "!! $t found a crash: see fuzz/logs/$t.log and fuzz/artifacts/$t/"
    status=1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "fuzz/logs/$t.log" || tail -n 5 "fuzz/logs/$t.log"
  echo "corpus: $(ls "fuzz/corpus/$t" | wc -l) inputs"
done
exit "$status"

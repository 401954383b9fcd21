#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (not part of CI).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]     (default 600 s, all targets)
#
# Targets (fuzz/fuzz_targets/): amount_parse, canonical_json,
# envelope_verify, bundle_line, bundle_verify. Corpora grow in
# fuzz/corpus/TARGET (git-ignored), seeded from fuzz/seeds/ and from a real
# audit bundle exported from `offtake demo`; a crash leaves its input in
# fuzz/artifacts/TARGET and stops the script with a non-zero exit.
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
  targets=(amount_parse canonical_json envelope_verify bundle_line bundle_verify)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/fuzz/target}"
mkdir -p fuzz/corpus fuzz/logs

# Seeds: a real bundle (packed into one input), real envelopes, amounts, JSON.
seed_bundle() {
  local work; work="$(mktemp -d)"
  cargo build --quiet --bin offtake
  local bin="$CARGO_TARGET_DIR/debug/offtake"
  "$bin" demo --demo-database-url "sqlite:$work/demo.db" >/dev/null
  "$bin" --database-url "sqlite:$work/demo.db" audit keygen --key "$work/ledger.key" >/dev/null
  "$bin" --database-url "sqlite:$work/demo.db" export bundle --key "$work/ledger.key" --out "$work/bundle" >/dev/null
  mkdir -p fuzz/corpus/bundle_verify fuzz/corpus/bundle_line
  (cd fuzz && cargo run --quiet --bin pack_bundle -- "$work/bundle" "$PWD/corpus/bundle_verify/demo-bundle")
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
  if ! cargo fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" "${seeds[@]}" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      >"fuzz/logs/$t.log" 2>&1; then
    echo "!! $t found a crash: see fuzz/logs/$t.log and fuzz/artifacts/$t/"
    status=1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "fuzz/logs/$t.log" || tail -n 5 "fuzz/logs/$t.log"
  echo "corpus: $(ls "fuzz/corpus/$t" | wc -l) inputs"
done
exit "$status"

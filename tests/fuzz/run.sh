#!/usr/bin/env bash
# The sanitizer half of the test command: builds the tree with clang,
# ASan+UBSan and libFuzzer coverage into build-fuzz/, runs every unit test
# there, then each fuzzer for a bounded time on its seed corpus
# (tests/fuzz/corpus/<name>/, plus the production policy for the policy
# fuzzer). Fails on the first failed unit test, sanitizer report, crash or
# failed check; the input that did it is kept under build-fuzz/findings/.
# The corpus grown by earlier runs is kept in build-fuzz/corpus/ and reused.
#   tests/fuzz/run.sh [name...]      (default: every fuzzer)
# Env: QUOTAD_FUZZ_SECONDS (per fuzzer, default 20), QUOTAD_FUZZ_BUILD_DIR,
#      QUOTAD_FUZZ_UNIT_TESTS=0 to skip the unit tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${QUOTAD_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${QUOTAD_FUZZ_SECONDS:-20}"
FUZZERS=("$@")
[ "${#FUZZERS[@]}" -gt 0 ] || FUZZERS=(policy callers acquire gossip_push admin rls)

"$ROOT/deploy/install-deps.sh"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DQUOTAD_SANITIZE=ON -DQUOTAD_FUZZ=ON -DQUOTAD_BUILD_BENCHMARKS=OFF -DQUOTAD_WERROR=ON >/dev/null
cmake --build "$BUILD" -j "${QUOTAD_JOBS:-$(nproc)}" --target fuzzers unit_tests

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if [ "${QUOTAD_FUZZ_UNIT_TESTS:-1}" != 0 ]; then
  (cd "$BUILD" && ctest --output-on-failure -L unit -j "${QUOTAD_TEST_JOBS:-2}" --timeout 600)
fi

# Seeds: a file whose first line is "# fuzz: <byte|-> <message>" is a
# textproto of <message>, encoded to protobuf wire form and prefixed with
# <byte> (the fuzzer's selector) unless "-"; any other file is used as is.
seed_corpus() {
  local name="$1" out="$2" f first byte type
  mkdir -p "$out"
  for f in "$ROOT/tests/fuzz/corpus/$name"/*; do
    first="$(head -n 1 "$f")"
    if [[ "$first" =~ ^#\ fuzz:\ ([0-9]+|-)\ ([A-Za-z0-9_.]+)$ ]]; then
      byte="${BASH_REMATCH[1]}"; type="${BASH_REMATCH[2]}"
      {
        [ "$byte" = "-" ] || printf "\\$(printf '%03o' "$byte")"
        tail -n +2 "$f" | protoc -I"$ROOT/proto" --encode="$type" "$ROOT"/proto/quotad/v1/*.proto \
          "$ROOT"/proto/envoy/service/ratelimit/v3/rls.proto
      } > "$out/seed-$(basename "$f")"
    else
      cp "$f" "$out/seed-$(basename "$f")"
    fi
  done
  [ "$name" != policy ] || cp "$ROOT/deploy/policy/aup.textproto" "$out/seed-aup.textproto"
}

mkdir -p "$BUILD/findings"
for name in "${FUZZERS[@]}"; do
  corpus="$BUILD/corpus/$name"
  seed_corpus "$name" "$corpus"
  echo "fuzz: ${name}_fuzzer for ${SECONDS_EACH}s on $(ls "$corpus" | wc -l) inputs"
  if ! "$BUILD/tests/fuzz/${name}_fuzzer" -max_total_time="$SECONDS_EACH" -timeout=20 \
      -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$BUILD/findings/${name}-" \
      "$corpus" > "$BUILD/findings/${name}.log" 2>&1; then
    tail -n 60 "$BUILD/findings/${name}.log"
    echo "fuzz: ${name}_fuzzer FAILED; input and log under $BUILD/findings/" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added)" "$BUILD/findings/${name}.log" |
    tr '\n' ' '; echo
done
echo "fuzz: all ${#FUZZERS[@]} fuzzers clean"

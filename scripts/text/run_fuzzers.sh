#!/usr/bin/env bash
# Builds the src/text fuzz targets with clang-14 (libFuzzer + ASan + UBSan) in their own
# build directory and runs each for SECONDS (default 60) from the committed seed corpora.
#
#   scripts/text/run_fuzzers.sh [SECONDS] [BUILD_DIR]
#
# Needs clang-14, libclang-rt-14-dev, libpcre2-dev, nlohmann-json3-dev and the tokenizer
# installed by scripts/setup.sh. New inputs found go to BUILD_DIR/corpus/<target>, the
# committed seeds are only read. Exits non-zero on the first crash or broken invariant.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SECONDS_PER_TARGET=${1:-60}
BUILD=${2:-$ROOT/build-fuzz-text}
CXX=${CXX_FUZZ:-clang++-14}
TOK_DIR=$ROOT/.cache/tokenizer
[[ -f $TOK_DIR/tokenizer.json ]] || { echo "run_fuzzers.sh: $TOK_DIR/tokenizer.json missing: run scripts/setup.sh" >&2; exit 2; }

mkdir -p "$BUILD/include_roots" "$BUILD/obj"
ln -sfn "$ROOT/src/text" "$BUILD/include_roots/text"
ln -sfn "$ROOT/src/core" "$BUILD/include_roots/core"
FLAGS=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -I"$BUILD/include_roots" -I"$ROOT/include" $(pkg-config --cflags libpcre2-8)
       -DDSV4_FUZZ_TOKENIZER_DIR="\"$TOK_DIR\"")
LIBS=($(pkg-config --libs libpcre2-8) -lpthread)

# The library, instrumented for coverage but without libFuzzer's main.
objs=()
for src in "$ROOT"/src/text/*.cpp "$ROOT/src/core/log.cpp" "$ROOT/src/core/mapped_file.cpp"; do
  obj="$BUILD/obj/$(basename "${src%.cpp}").o"
  if [[ ! -f $obj || $src -nt $obj ]]; then
    "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done

status=0
for target in tokenizer chat_request output_parser; do
  bin="$BUILD/fuzz_$target"
  "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer "$ROOT/tests/fuzz/text/fuzz_$target.cpp" "${objs[@]}" "${LIBS[@]}" -o "$bin"
  mkdir -p "$BUILD/corpus/$target"
  echo "== fuzz_$target: ${SECONDS_PER_TARGET}s"
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
       -artifact_prefix="$BUILD/crash_${target}_" -print_final_stats=1 \
       "$BUILD/corpus/$target" "$ROOT/tests/fuzz/text/corpus/$target" 2>"$BUILD/fuzz_$target.log"; then
    echo "fuzz_$target FAILED (see $BUILD/fuzz_$target.log)" >&2
    tail -40 "$BUILD/fuzz_$target.log" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|^Done" "$BUILD/fuzz_$target.log" || true
done
exit $status

#!/usr/bin/env bash
# README command 2 (and CI): the same set-up as start.sh, then the whole test suite:
#   1. the release build's ctest (unit, kernels, model incl. transformers parity, text;
#      gpu tests skip with a message where there is no GPU);
#   2. an ASan + UBSan build of the C++ code and its ctest (without the long `soak` label);
#   3. the libFuzzer targets of the text layer, 60 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${DSV4_TEST_JOBS:-$(nproc)}
FUZZ_SECONDS=${DSV4_FUZZ_SECONDS:-60}

t0=$SECONDS
scripts/setup.sh
echo "[test] release suite"
ctest --test-dir build --output-on-failure -j "$JOBS"

echo "[test] ASan + UBSan suite"
scripts/setup.sh --build-dir build-asan --sanitize --no-model
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" -LE soak

echo "[test] fuzzers (${FUZZ_SECONDS}s each)"
scripts/text/run_fuzzers.sh "$FUZZ_SECONDS"
echo "[test] all passed in $((SECONDS - t0)) s"

#!/usr/bin/env bash
# dsv4_gpu_bench's flags: bad values get a precise message and exit 2, before any GPU
# work; a good one runs (or, without a GPU, says why and exits 0).
set -u
bench="$1"
fail() { echo "FAIL: $*"; exit 1; }
for args in "--reps x" "--reps 0" "--reps 100001" "--reps" "--foo 2" "--reps 3x"; do
  # shellcheck disable=SC2086
  err=$("$bench" $args 2>&1 >/dev/null); rc=$?
  [[ $rc -eq 2 ]] || fail "'$args' exited $rc"
  [[ "$err" == "dsv4_gpu_bench: expected --reps N with N in [1, 100000], got '$args'" ]] || fail "'$args': $err"
done
out=$("$bench" --reps 1) || fail "--reps 1 exited $?"
[[ "$out" == *"measured ceilings"* || "$out" == *"skipped, no supported GPU"* ]] || fail "--reps 1 printed: $out"
echo "gpu bench flags: ok"

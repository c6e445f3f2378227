#!/usr/bin/env bash
# On a machine with a GPU: builds dsv4, runs the GPU test suite (ctest -L gpu: the CUDA
# runtime, the routed MoE layer kernel by kernel, the CUDA backend op by op, each against
# the CPU references) and the GPU kernel benchmarks (time, GB/s and GFLOP/s next to the
# device's measured copy bandwidth and FMA rate), the engine's throughput on the embedded
# tiny model on the GPU (with and without decode graphs) next to the CPU, and writes
# everything to one report.
#
#   scripts/gpu/run_gpu_suite.sh [--report FILE]     (default: build/gpu_report.md)
#
# Exits non-zero when a GPU test fails; the report is written either way. Without a GPU the
# tests skip and the benchmark says why, so the script still runs (and says so).
set -uo pipefail
cd "$(dirname "$0")/../.."
REPORT=build/gpu_report.md
while [[ $# -gt 0 ]]; do
  case "$1" in
    --report) REPORT="$2"; shift 2 ;;
    *) echo "usage: $0 [--report FILE]" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh || exit 1  # with models/tiny, for the engine benchmark
mkdir -p "$(dirname "$REPORT")"
tests_log=$(mktemp)
ctest --test-dir build -L gpu --output-on-failure >"$tests_log" 2>&1
tests_rc=$?
{
  echo "# dsv4 GPU report"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | head -1)"
  else
    echo "- GPU: none (nvidia-smi not found)"
  fi
  echo
  echo "## GPU tests (ctest -L gpu), exit $tests_rc"
  echo
  echo '```'
  grep -E "Passed|Failed|Skipped|tests passed|tests failed|no supported GPU" "$tests_log"
  echo '```'
  echo
  echo "## Kernel benchmarks"
  echo
  build/benchmarks/gpu/dsv4_gpu_bench
  echo
  echo "## Engine throughput, tiny model (dsv4_bench_throughput, greedy, 128-token prompts, 64 new tokens)"
  echo
  for run in "cuda" "cuda --decode-graphs" "cpu"; do
    echo "### --device $run"
    echo '```'
    # shellcheck disable=SC2086  # $run is the device and its flags
    build/benchmarks/engine/dsv4_bench_throughput --model models/tiny --device $run --concurrency 1,8,32 \
      --prompt 128 --output 64 2>&1 | grep -v "^\[dsv4 info\]"
    echo '```'
  done
  echo
  echo "## ptxas resource report"
  echo
  echo '```'
  cat build/ptxas_report.txt 2>/dev/null || echo "(no ptxas report: nvcc not found at build time)"
  echo '```'
} >"$REPORT"
echo "report: $REPORT"
rm -f "$tests_log"
exit $tests_rc

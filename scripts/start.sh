#!/usr/bin/env bash
# README command 1: install what is missing, build, generate the embedded tiny model, and
# serve it over the OpenAI-compatible API on http://127.0.0.1:8000/v1 (Ctrl-C stops it).
# Arguments go to `dsv4 serve` (e.g. --port 9000, --model DIR, --api-key KEY).
#
#   scripts/start.sh [dsv4 serve options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "[start] build/dsv4 serve --model models/tiny $*"
exec build/dsv4 serve --model models/tiny "$@"

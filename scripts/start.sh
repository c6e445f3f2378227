#!/usr/bin/env bash
# README command 1: install what is missing, build, generate the embedded tiny model, and
# run it: a generation from the tiny model (the OpenAI server replaces this once it exists).
#
#   scripts/start.sh [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PROMPT=${1:-"DeepSeek-V4 runs on dsv4."}
echo "[start] build/dsv4 run --model models/tiny -p \"$PROMPT\""
exec build/dsv4 run --model models/tiny --prompt "$PROMPT" --max-tokens 32

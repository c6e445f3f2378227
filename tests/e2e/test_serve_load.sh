#!/usr/bin/env bash
# Bounded load test of `dsv4 serve`: 200 streaming clients at once against the tiny model,
# driven by `dsv4 bench serve` on both endpoints. Every request must finish with exactly the
# tokens asked for, the server must stay healthy, and afterwards it must shut down cleanly
# on SIGTERM with its KV pages all returned (the metrics endpoint says so).
#   test_serve_load.sh DSV4_BINARY TOKENIZER_DIR
set -euo pipefail
DSV4=$1
TOK_DIR=$2
TMP=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill -9 "$SERVER_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $TMP/server.err ]] && tail -30 "$TMP/server.err" >&2; exit 1; }

"$DSV4" make-tiny --out "$TMP/m" --seed 8 --tokenizer-dir "$TOK_DIR" 2>/dev/null
# Bad serve flags: a precise message and exit code 1, before anything listens.
expect_error() {  # "substring" command...
  local want=$1 out rc; shift
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  [[ $rc -eq 1 ]] || fail "expected exit code 1 (got $rc) from: $*"
  [[ $out == *"$want"* ]] || fail "expected '$want' from: $* -- got: $out"
}
expect_error "unknown size unit 'xb'" "$DSV4" serve --model "$TMP/m" --port 0 --kv-cache-memory 12XB
expect_error "cannot hold 64 sequences" "$DSV4" serve --model "$TMP/m" --port 0 --kv-cache-memory 1M
expect_error "cannot listen on 999.1.1.1" "$DSV4" serve --model "$TMP/m" --host 999.1.1.1 --port 0 --kv-cache-memory 256M

"$DSV4" serve --model "$TMP/m" --port 0 --max-num-seqs 64 --kv-cache-memory 512M --max-concurrent-requests 512 \
  > "$TMP/server.out" 2> "$TMP/server.err" &
SERVER_PID=$!
for _ in $(seq 1 300); do grep -q "dsv4 serving" "$TMP/server.out" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$TMP/server.out" | head -1)
[[ -n $URL ]] || fail "server did not start"
BASE=${URL%/v1}
PORT=${BASE##*:}
expect_error "cannot listen on 127.0.0.1:$PORT" "$DSV4" serve --model "$TMP/m" --port "$PORT" --kv-cache-memory 256M

run_load() {  # endpoint --num-prompts N | --duration S
  "$DSV4" bench serve --base-url "$BASE" --endpoint "$1" "$2" "$3" --max-concurrency 200 \
    --input-len 24 --output-len 12 --seed 3 --timeout 300 --json "$TMP/$1.json" > "$TMP/$1.txt" 2>&1 ||
    fail "bench serve ($1) exited with $?: $(tail -20 "$TMP/$1.txt")"
  python3 - "$TMP/$1.json" "$2" "$3" <<'EOF' || fail "bench serve ($1) results: $(cat "$TMP/$1.txt")"
import json, sys
r = json.load(open(sys.argv[1]))
# With --duration the count is whatever finished in time; every one of them must be whole.
n = int(sys.argv[3]) if sys.argv[2] == "--num-prompts" else r["completed"]
assert n >= 200 and r["completed"] == n and r["failed"] == 0, (r["completed"], r["failed"], r.get("error_summary"))
assert r["total_output_tokens"] == n * 12, r["total_output_tokens"]
assert r["max_concurrent_requests"] >= 150, f"only {r['max_concurrent_requests']} requests were in flight at once"
EOF
  grep -E "Successful requests|Output token throughput|Mean TTFT|P99 TTFT|Mean TPOT" "$TMP/$1.txt"
}

run_load completions --num-prompts 400
run_load chat --duration 20

# The server is still healthy and its KV pages are all free again.
curl -sf "$BASE/health" > /dev/null || fail "/health failed after the load"
curl -sf "$BASE/metrics" > "$TMP/metrics.txt" || fail "/metrics failed"
grep -E '^dsv4:num_requests_running(\{[^}]*\})? 0$' "$TMP/metrics.txt" > /dev/null ||
  fail "requests still running: $(grep num_requests_running "$TMP/metrics.txt")"

kill -TERM "$SERVER_PID"
for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER_PID" 2>/dev/null && fail "server ignored SIGTERM"
wait "$SERVER_PID" || fail "server exited with $? on SIGTERM"
SERVER_PID=""
echo "serve load e2e: ok"

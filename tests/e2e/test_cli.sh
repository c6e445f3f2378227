#!/usr/bin/env bash
# End-to-end test of the dsv4 executable: make-tiny writes a checkpoint the loader accepts,
# logits and run work on it, and bad input fails with a precise message and exit code 1.
#   test_cli.sh DSV4_BINARY
set -euo pipefail
DSV4=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error "substring" command...: the command must exit 1 and print the substring.
expect_error() {
  local want=$1; shift
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  [[ $rc -ne 0 ]] || fail "expected failure from: $*"
  [[ $out == *"$want"* ]] || fail "expected '$want' from: $* -- got: $out"
}

"$DSV4" make-tiny --out "$TMP/m" --preset tiny-small-vocab --seed 3 2>/dev/null
[[ -f $TMP/m/config.json && -f $TMP/m/model.safetensors ]] || fail "make-tiny wrote no checkpoint"
expect_error "already holds a model" "$DSV4" make-tiny --out "$TMP/m" --preset tiny-small-vocab

# logits: .npy with the right header and size, JSON lines, and a NLL summary.
"$DSV4" logits --model "$TMP/m" --tokens 0,5,17,300,2 --npy "$TMP/l.npy" --jsonl "$TMP/l.jsonl" --top-k 2 \
  2> "$TMP/log.txt"
grep -q "mean NLL" "$TMP/log.txt" || fail "no NLL summary: $(cat "$TMP/log.txt")"
[[ $(wc -l < "$TMP/l.jsonl") -eq 5 ]] || fail "expected 5 JSON lines"
grep -q '"next_token": 17' "$TMP/l.jsonl" || fail "JSON lines lack next_token"
head -c 6 "$TMP/l.npy" | grep -q "NUMPY" || fail "not an .npy file"
[[ $(stat -c %s "$TMP/l.npy") -eq $((128 + 5 * 1024 * 4)) ]] || fail "unexpected .npy size $(stat -c %s "$TMP/l.npy")"

# The same logits in one chunk and in chunks of 2 (the forward pass is chunking-invariant).
"$DSV4" logits --model "$TMP/m" --tokens 0,5,17,300,2 --npy "$TMP/a.npy" 2>/dev/null
"$DSV4" logits --model "$TMP/m" --tokens 0,5,17,300,2 --npy "$TMP/b.npy" --chunk 2 2>/dev/null
cmp -s "$TMP/a.npy" "$TMP/b.npy" || fail "chunked logits differ"

"$DSV4" run --model "$TMP/m" --raw --prompt-tokens 0,5,17 -n 4 > "$TMP/run.txt" 2>/dev/null
[[ $(wc -w < "$TMP/run.txt") -eq 4 ]] || fail "run --raw should print 4 token ids: $(cat "$TMP/run.txt")"
expect_error "tokenizer.json" "$DSV4" run --model "$TMP/m" -p "hello"
expect_error "--prompt-tokens needs --raw" "$DSV4" run --model "$TMP/m" --prompt-tokens 1,2

# Bad input: precise messages, no crash.
expect_error "outside the vocabulary [0, 1024)" "$DSV4" logits --model "$TMP/m" --tokens 0,99999
expect_error "expected an integer at offset 2" "$DSV4" logits --model "$TMP/m" --tokens "1,x"
expect_error "give exactly one of --tokens" "$DSV4" logits --model "$TMP/m"
expect_error "config.json" "$DSV4" logits --model "$TMP/nowhere" --tokens 1
# Devices: a malformed name, CPU-only options on a GPU, and a GPU that is not there (every CI
# machine has none: either the build has no CUDA backend or the device is missing).
expect_error "expected cpu, cuda or cuda:N" "$DSV4" run --model "$TMP/m" --raw --prompt-tokens 1 --device gpu
expect_error "does not apply to --device cuda" "$DSV4" logits --model "$TMP/m" --tokens 1 --device cuda --kernels reference
"$DSV4" devices > "$TMP/devices.txt" || fail "dsv4 devices failed"
grep -q "^cpu .* hardware threads" "$TMP/devices.txt" || fail "devices lists no cpu: $(cat "$TMP/devices.txt")"
grep -q "^cuda" "$TMP/devices.txt" || fail "devices says nothing about CUDA: $(cat "$TMP/devices.txt")"
if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > /dev/null 2>&1; then
  grep -q "^cuda     none: " "$TMP/devices.txt" || fail "devices should say why there is no GPU: $(cat "$TMP/devices.txt")"
  expect_error "unavailable:" "$DSV4" run --model "$TMP/m" --raw --prompt-tokens 1 --device cuda:3
fi
cp -r "$TMP/m" "$TMP/broken"
truncate -s 1000 "$TMP/broken/model.safetensors"
expect_error "model.safetensors" "$DSV4" logits --model "$TMP/broken" --tokens 1
# A config that does not match the checkpoint: the error names the tensor and both shapes.
cp -r "$TMP/m" "$TMP/mismatch"
sed -i 's/"hidden_size": 256/"hidden_size": 384/' "$TMP/mismatch/config.json"
expect_error "expected BF16 [1024, 384], found BF16 [1024, 256]" "$DSV4" run --model "$TMP/mismatch" --raw --prompt-tokens 1
# serve: bad flags and a model without a tokenizer fail before anything listens.
expect_error "not in range 0 to 65535" "$DSV4" serve --model "$TMP/m" --port 70000
expect_error "tokenizer.json" "$DSV4" serve --model "$TMP/m" --port 0
echo "cli e2e: ok"

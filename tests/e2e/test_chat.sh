#!/usr/bin/env bash
# End-to-end test of `dsv4 chat`: a scripted session on stdin (commands, a turn whose answer
# matches `dsv4 run` on the same prompt), and Ctrl-C mid-answer, which must stop the answer,
# keep the program alive and take the next command.
#   test_chat.sh DSV4_BINARY TOKENIZER_DIR
set -euo pipefail
DSV4=$1
TOK_DIR=$2
TMP=$(mktemp -d)
CHAT_PID=""
cleanup() {
  [[ -n $CHAT_PID ]] && kill -9 "$CHAT_PID" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $TMP/out.txt ]] && { echo "--- chat output:" >&2; cat "$TMP/out.txt" >&2; }; exit 1; }

[[ -f $TOK_DIR/tokenizer.json ]] || fail "no tokenizer.json in $TOK_DIR (scripts/setup.sh installs it)"
"$DSV4" make-tiny --out "$TMP/m" --seed 11 --tokenizer-dir "$TOK_DIR" 2>/dev/null

# 1. A scripted session: every command answers, and the greedy answer to a message is the
#    one `dsv4 run` gives for the same single-turn conversation.
"$DSV4" run --model "$TMP/m" --no-think -p "hello there" -n 12 --temperature 0 > "$TMP/run.txt" 2>/dev/null
want=$(tr -d '\n' < "$TMP/run.txt")
[[ -n $want ]] || fail "dsv4 run produced no text"
printf '/help\n/think off\nhello there\n/effort max\n/bogus\n/reset\n/system be brief\n/quit\n' |
  "$DSV4" chat --model "$TMP/m" -n 12 --temperature 0 > "$TMP/out.txt" 2>"$TMP/err.txt" || fail "chat exited with $?"
for s in "commands: /think" "(thinking off)" "(reasoning effort max)" "unknown command /bogus" \
         "(conversation cleared)" "(new system message; conversation cleared)"; do
  grep -qF -- "$s" "$TMP/out.txt" || fail "chat output lacks '$s'"
done
got=$(tr -d '\n' < "$TMP/out.txt")
[[ $got == *"$want"* ]] || fail "chat answer differs from dsv4 run's: want '$want'"

# 2. End of input ends the program cleanly.
printf 'hi\n' | "$DSV4" chat --model "$TMP/m" -n 2 --temperature 0 > "$TMP/out.txt" 2>&1 || fail "Ctrl-D: exit $?"

# 3. Ctrl-C mid-answer: the long answer stops with "(interrupted)", the process lives on and
#    the next command still works.
mkfifo "$TMP/in"
"$DSV4" chat --model "$TMP/m" -n 100000 --max-model-len 200000 --temperature 0 --no-think \
  < "$TMP/in" > "$TMP/out.txt" 2>"$TMP/err.txt" &
CHAT_PID=$!
exec 3>"$TMP/in"
echo "tell me a very long story" >&3
# Wait for the first prompt, then for the answer to stream past it.
for _ in $(seq 1 300); do grep -q "> " "$TMP/out.txt" && break; sleep 0.1; done
start=$(stat -c %s "$TMP/out.txt")
for _ in $(seq 1 300); do (( $(stat -c %s "$TMP/out.txt") > start + 40 )) && break; sleep 0.1; done
(( $(stat -c %s "$TMP/out.txt") > start + 40 )) || fail "no answer streamed"
sleep 0.5
kill -INT "$CHAT_PID"
for _ in $(seq 1 100); do grep -qF "(interrupted)" "$TMP/out.txt" && break; sleep 0.1; done
grep -qF "(interrupted)" "$TMP/out.txt" || fail "Ctrl-C did not interrupt the answer"
kill -0 "$CHAT_PID" 2>/dev/null || fail "chat died on Ctrl-C"
echo "/think on" >&3
for _ in $(seq 1 50); do grep -qF "(thinking on)" "$TMP/out.txt" && break; sleep 0.1; done
grep -qF "(thinking on)" "$TMP/out.txt" || fail "chat did not take a command after Ctrl-C"
echo "/quit" >&3
exec 3>&-
wait "$CHAT_PID" || fail "chat exited with $? after /quit"
CHAT_PID=""
echo "chat e2e: ok"

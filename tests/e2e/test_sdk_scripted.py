"""The official OpenAI Python SDK against the dsv4 HTTP layer over a scripted engine.

`dsv4_scripted_server` (tests/server/scripted_serve_main.cpp) is the real server whose
engine plays back fixed model outputs (reasoning, content, DSML tool calls) chosen by a
"SCRIPT:<name>" keyword in the user message, split "CHUNK:<n>" tokens per engine event. The
tests check what a client sees: reasoning_content and content deltas concatenate to the
scripted text; tool calls reassembled from the deltas, by hand and by the SDK's own stream
helper, have exactly the expected names and argument strings (the argument strings follow
Python's json.dumps(..., ensure_ascii=False) spelling, computed here by Python itself); the
non-streaming answer agrees; every chunking gives the same result; usage counts reasoning
tokens (counted here with the Hugging Face `tokenizers` library). Every chunk and response is
also validated against the SDK's pydantic models, which the SDK itself skips when parsing.

    python test_sdk_scripted.py DSV4_SCRIPTED_SERVER TOKENIZER_DIR
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from tokenizers import Tokenizer

SERVER_BIN = ""
TOK_DIR = ""
API_KEY = "sk-dsv4-scripted"  # the scripted server's key
MODEL = "dsv4-scripted"

# What each script of the server plays back (see make_scripts() in scripted_serve_main.cpp):
# reasoning, content, and tool calls as (name, [(parameter, value as written, string="true")]).
SCRIPTS = {
    "reasoning": {
        "reasoning": "The user greets me.\nI'll answer briefly — and kindly.",
        "content": 'Hello! 你好 👋 "quoted" \\ done.',
        "calls": [],
    },
    "tools": {
        "reasoning": "I should look this up.",
        "content": "Checking the weather.",
        "calls": [("get_weather", [("city", 'Paris "центр"', True), ("days", "3", False)])],
    },
    "parallel": {
        "reasoning": "Two lookups are needed.",
        "content": "",
        "calls": [("get_weather", [("city", "Tokyo", True), ("days", "1", False)]),
                  ("get_time", [("tz", "Asia/Tokyo", True)])],
    },
    "tricky": {
        "reasoning": "Recording it.",
        "content": "",
        "calls": [("record", [
            ("note", 'Zoë said "héllo" \\ back\\slash\nnew line\ttab — 日本語 🎉 a < b </ c', True),
            ("flag", "true", True),
            ("literal", '{"not": "parsed"}', True),
            ("nested", '{"a": [1, 2.5, {"b": null}], "c": "x \\"q\\"", "d": {}}', False),
            ("enabled", "false", False),
            ("count", "-7", False),
            ("empty", "", True),
        ]), ("ping", [])],
    },
}

# The decoded arguments of "tricky"'s first call, written out by hand.
TRICKY_RECORD_ARGS = {
    "note": 'Zoë said "héllo" \\ back\\slash\nnew line\ttab — 日本語 🎉 a < b </ c',
    "flag": "true",
    "literal": '{"not": "parsed"}',
    "nested": {"a": [1, 2.5, {"b": None}], "c": 'x "q"', "d": {}},
    "enabled": False,
    "count": -7,
    "empty": "",
}

CHUNKINGS = ["1", "2", "5", "13", "all"]


def expected_arguments(params):
    """The argument string the server must produce: string parameters as json.dumps strings,
    other values exactly as the model wrote them, Python's ", " and ": " separators."""
    parts = []
    for name, value, is_string in params:
        rendered = json.dumps(value, ensure_ascii=False) if is_string else value
        parts.append(f"{json.dumps(name, ensure_ascii=False)}: {rendered}")
    return "{" + ", ".join(parts) + "}"


def expected_calls(script):
    return [(name, expected_arguments(params)) for name, params in SCRIPTS[script]["calls"]]


def tool(name, properties):
    # strict: the SDK's stream helper only accepts strict function tools.
    return {"type": "function", "function": {
        "name": name, "strict": True,
        "parameters": {"type": "object", "properties": properties, "required": list(properties),
                       "additionalProperties": False}}}


TOOLS = [
    tool("get_weather", {"city": {"type": "string"}, "days": {"type": "integer"}}),
    tool("get_time", {"tz": {"type": "string"}}),
    tool("record", {"note": {"type": "string"}, "flag": {"type": "string"}, "literal": {"type": "string"},
                    "nested": {"type": "object"}, "enabled": {"type": "boolean"}, "count": {"type": "integer"},
                    "empty": {"type": "string"}}),
    tool("ping", {}),
]


class ScriptedServer:
    """A dsv4_scripted_server process; it prints "READY <port>" and ends when stdin closes."""

    def __init__(self):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([SERVER_BIN, TOK_DIR], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        box = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        line = box[0] if box else ""
        if not line.startswith("READY "):
            self.proc.kill()
            self.proc.wait()
            log = self.stderr()
            self.close()
            raise RuntimeError(f"scripted server did not start: {line!r}\n{log}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}/v1"

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self, how="stdin"):
        """Stops the server by closing its stdin or by SIGTERM; its exit status."""
        if how == "stdin":
            self.proc.stdin.close()
        else:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"scripted server ignored {how} for 20 s:\n{self.stderr()}")
        finally:
            for f in (self.proc.stdin, self.proc.stdout):
                f.close()

    def close(self):
        self.log.close()


def reasoning_of(obj):
    """reasoning_content (DeepSeek's field, an extra to the SDK's models) or None."""
    return (obj.model_extra or {}).get("reasoning_content")


class Assembled:
    """One choice reassembled from stream chunks."""

    def __init__(self):
        self.roles = []
        self.content = ""
        self.reasoning = ""
        self.calls = {}  # tool index -> {"id", "type", "name", "arguments"}
        self.finish_reason = None

    def call_list(self):
        self.check_indices()
        return [(self.calls[i]["name"], self.calls[i]["arguments"]) for i in sorted(self.calls)]

    def check_indices(self):
        if sorted(self.calls) != list(range(len(self.calls))):
            raise AssertionError(f"tool indices are not 0..n-1: {sorted(self.calls)}")


def assemble(test, chunks):
    """Reassembles streamed chunks by hand, the strict way: each tool call's id, type and name
    arrive once, in its first fragment; later fragments carry only index and arguments."""
    choices = {}
    for chunk in chunks:
        for c in chunk.choices:
            a = choices.setdefault(c.index, Assembled())
            d = c.delta
            if d.role is not None:
                a.roles.append(d.role)
            a.content += d.content or ""
            a.reasoning += reasoning_of(d) or ""
            for tc in d.tool_calls or []:
                fn = tc.function
                if tc.index not in a.calls:
                    test.assertTrue(tc.id and tc.id.startswith("call_"), f"first fragment has no call id: {tc}")
                    test.assertEqual(tc.type, "function")
                    test.assertTrue(fn is not None and fn.name, f"first fragment has no name: {tc}")
                    a.calls[tc.index] = {"id": tc.id, "type": tc.type, "name": fn.name,
                                         "arguments": fn.arguments or ""}
                    continue
                test.assertIsNone(tc.id, f"call id repeated: {tc}")
                test.assertIsNone(tc.type, f"type repeated: {tc}")
                test.assertIsNotNone(fn, f"a fragment without function: {tc}")
                test.assertIsNone(fn.name, f"name repeated: {tc}")
                a.calls[tc.index]["arguments"] += fn.arguments or ""
            if c.finish_reason is not None:
                test.assertIsNone(a.finish_reason, "two finish_reasons for one choice")
                a.finish_reason = c.finish_reason
    return choices


class SdkScriptedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hf = Tokenizer.from_file(os.path.join(TOK_DIR, "tokenizer.json"))
        cls.server = ScriptedServer()
        cls.client = openai.OpenAI(base_url=cls.server.url, api_key=API_KEY, max_retries=0, timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        rc = cls.server.stop("stdin")
        log = cls.server.stderr()
        cls.server.close()
        if rc != 0:
            raise AssertionError(f"scripted server exited with {rc} when its stdin closed:\n{log}")

    # --- helpers ----------------------------------------------------------------------
    def request(self, script, chunk="1"):
        return dict(model=MODEL, tools=TOOLS,
                    messages=[{"role": "user", "content": f"Please go. SCRIPT:{script} CHUNK:{chunk}"}])

    def stream_chunks(self, script, chunk="1", **kw):
        """The chunks of a streamed request, each also validated against ChatCompletionChunk."""
        chunks = list(self.client.chat.completions.create(stream=True, **self.request(script, chunk), **kw))
        self.assertTrue(chunks, "an empty stream")
        ids = {c.id for c in chunks}
        self.assertEqual(len(ids), 1, f"chunks of one stream carry several ids: {ids}")
        for c in chunks:
            ChatCompletionChunk.model_validate(c.to_dict())
            self.assertEqual(c.object, "chat.completion.chunk")
            self.assertEqual(c.model, MODEL)
        return chunks

    def streamed(self, script, chunk="1"):
        chunks = self.stream_chunks(script, chunk)
        choices = assemble(self, chunks)
        self.assertEqual(list(choices), [0])
        return choices[0], chunks

    def check_against_script(self, a, script, what):
        s = SCRIPTS[script]
        self.assertEqual(a.roles, ["assistant"], what)
        self.assertEqual(a.reasoning, s["reasoning"], what)
        self.assertEqual(a.content, s["content"], what)
        self.assertEqual(a.call_list(), expected_calls(script), what)
        self.assertEqual(a.finish_reason, "tool_calls" if s["calls"] else "stop", what)
        ids = [a.calls[i]["id"] for i in sorted(a.calls)]
        self.assertEqual(len(set(ids)), len(ids), f"{what}: call ids repeat: {ids}")

    def ids(self, text):
        return self.hf.encode(text, add_special_tokens=False).ids

    # --- (a) streaming: reasoning, content, one tool call -------------------------------
    def test_stream_reassembles_reasoning_content_and_tool_call_exactly(self):
        a, _ = self.streamed("tools")
        self.check_against_script(a, "tools", "tools")
        # The exact argument string, written out, besides the json.dumps-derived one.
        self.assertEqual(a.calls[0]["arguments"], '{"city": "Paris \\"центр\\"", "days": 3}')
        self.assertEqual(json.loads(a.calls[0]["arguments"]), {"city": 'Paris "центр"', "days": 3})

    def test_stream_without_tool_calls(self):
        a, _ = self.streamed("reasoning")
        self.check_against_script(a, "reasoning", "reasoning")
        self.assertEqual(a.calls, {})

    def test_sdk_stream_helper_reassembles_the_same(self):
        for script in ("tools", "parallel", "tricky"):
            with self.subTest(script=script):
                events = []
                with self.client.chat.completions.stream(**self.request(script, "3")) as stream:
                    for event in stream:
                        events.append(event)
                    final = stream.get_final_completion()
                choice = final.choices[0]
                self.assertEqual(choice.finish_reason, "tool_calls")
                msg = choice.message
                self.assertEqual(msg.content or "", SCRIPTS[script]["content"])
                self.assertEqual(reasoning_of(msg), SCRIPTS[script]["reasoning"])
                want = expected_calls(script)
                self.assertEqual([(t.function.name, t.function.arguments) for t in msg.tool_calls], want)
                self.assertEqual([t.function.parsed_arguments for t in msg.tool_calls],
                                 [json.loads(args) for _, args in want])
                self.assertEqual([t.type for t in msg.tool_calls], ["function"] * len(want))
                # The helper's per-call "done" events carry the same name and arguments.
                done = [(e.name, e.arguments, e.parsed_arguments) for e in events
                        if e.type == "tool_calls.function.arguments.done"]
                self.assertEqual(done, [(n, args, json.loads(args)) for n, args in want])
                # Its per-fragment deltas add up to the arguments too.
                for i, (_, args) in enumerate(want):
                    deltas = [e.arguments_delta for e in events
                              if e.type == "tool_calls.function.arguments.delta" and e.index == i]
                    self.assertEqual("".join(deltas), args)

    # --- (b) parallel tool calls ----------------------------------------------------------
    def test_parallel_tool_calls_have_indices_0_and_1(self):
        a, chunks = self.streamed("parallel")
        self.check_against_script(a, "parallel", "parallel")
        self.assertEqual(sorted(a.calls), [0, 1])
        seen = [tc.index for c in chunks for ch in c.choices for tc in (ch.delta.tool_calls or [])]
        # Call 1 starts only after call 0 is complete: the indices never go back.
        self.assertEqual(seen, sorted(seen))
        self.assertEqual(json.loads(a.calls[0]["arguments"]), {"city": "Tokyo", "days": 1})
        self.assertEqual(json.loads(a.calls[1]["arguments"]), {"tz": "Asia/Tokyo"})

    # --- (c) non-streaming equals the streamed reassembly ---------------------------------
    def test_non_streaming_equals_streamed_reassembly(self):
        for script in SCRIPTS:
            with self.subTest(script=script):
                whole = self.client.chat.completions.create(**self.request(script, "2"))
                ChatCompletion.model_validate(whole.to_dict())
                a, _ = self.streamed(script, "2")
                choice = whole.choices[0]
                msg = choice.message
                self.assertEqual(msg.role, "assistant")
                self.assertEqual(choice.finish_reason, a.finish_reason)
                self.assertEqual(reasoning_of(msg), a.reasoning)
                # OpenAI's convention: no content next to tool calls is null, not "".
                self.assertEqual(msg.content, a.content if a.content or not a.calls else None)
                got = [(t.function.name, t.function.arguments) for t in msg.tool_calls or []]
                self.assertEqual(got, a.call_list())
                for t in msg.tool_calls or []:
                    self.assertEqual(t.type, "function")
                    self.assertTrue(t.id.startswith("call_"))

    # --- (d) awkward arguments -------------------------------------------------------------
    def test_arguments_with_escapes_non_ascii_nested_json_and_string_true(self):
        a, _ = self.streamed("tricky")
        self.check_against_script(a, "tricky", "tricky")
        record, ping = a.call_list()
        self.assertEqual(record[0], "record")
        self.assertEqual(json.loads(record[1]), TRICKY_RECORD_ARGS)
        # string="true" values stay strings even when they read as JSON.
        self.assertIsInstance(json.loads(record[1])["flag"], str)
        self.assertIsInstance(json.loads(record[1])["literal"], str)
        # Non-ASCII is sent as is, not \\u-escaped; the nested object keeps the model's spelling.
        self.assertIn("日本語 🎉", record[1])
        self.assertIn('"nested": {"a": [1, 2.5, {"b": null}], "c": "x \\"q\\"", "d": {}}', record[1])
        self.assertEqual(ping, ("ping", "{}"))

    # --- (e) the chunking of engine events does not matter ----------------------------------
    def test_every_chunking_reassembles_identically(self):
        for script in SCRIPTS:
            n_chunks = {}
            for chunk in CHUNKINGS:
                with self.subTest(script=script, chunk=chunk):
                    a, chunks = self.streamed(script, chunk)
                    n_chunks[chunk] = len(chunks)
                    self.check_against_script(a, script, f"{script} CHUNK:{chunk}")
            # The chunkings really differ on the wire.
            self.assertGreater(n_chunks["1"], n_chunks["all"], f"{script}: {n_chunks}")

    # --- (f) usage ---------------------------------------------------------------------------
    def test_usage_chunk_counts_reasoning_tokens(self):
        for script in SCRIPTS:
            with self.subTest(script=script):
                chunks = self.stream_chunks(script, "4", stream_options={"include_usage": True})
                *body, last = chunks
                self.assertEqual(last.choices, [])
                for c in body:
                    self.assertIsNone(c.usage)
                u = last.usage
                self.assertIsNotNone(u, "no usage chunk with include_usage")
                s = SCRIPTS[script]
                # The reasoning tokens are those up to and including </think>.
                self.assertEqual(u.completion_tokens_details.reasoning_tokens,
                                 len(self.ids(s["reasoning"] + "</think>")))
                self.assertEqual(u.total_tokens, u.prompt_tokens + u.completion_tokens)
                self.assertGreater(u.completion_tokens, u.completion_tokens_details.reasoning_tokens)
                if not s["calls"]:
                    self.assertEqual(u.completion_tokens, len(self.ids(s["reasoning"] + "</think>" + s["content"])))
                whole = self.client.chat.completions.create(**self.request(script))
                self.assertEqual(whole.usage.completion_tokens, u.completion_tokens)
                self.assertEqual(whole.usage.prompt_tokens, u.prompt_tokens)
                self.assertEqual(whole.usage.completion_tokens_details.reasoning_tokens,
                                 u.completion_tokens_details.reasoning_tokens)

    def test_sdk_stream_helper_keeps_the_usage(self):
        with self.client.chat.completions.stream(stream_options={"include_usage": True},
                                                 **self.request("tools")) as stream:
            final = stream.get_final_completion()
        self.assertEqual(final.usage.completion_tokens_details.reasoning_tokens,
                         len(self.ids(SCRIPTS["tools"]["reasoning"] + "</think>")))

    # --- the harness itself -------------------------------------------------------------------
    def test_an_unknown_script_is_a_400_naming_it(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            self.client.chat.completions.create(**self.request("no-such-script"))
        self.assertIn("no-such-script", str(cm.exception))

    def test_sigterm_stops_the_server_cleanly(self):
        other = ScriptedServer()
        self.addCleanup(other.close)
        with openai.OpenAI(base_url=other.url, api_key=API_KEY, max_retries=0, timeout=30) as client:
            answer = client.chat.completions.create(**self.request("reasoning"))
            self.assertEqual(answer.choices[0].message.content, SCRIPTS["reasoning"]["content"])
            # The client still holds its keep-alive connection: stop must not wait it out.
            started = time.monotonic()
            self.assertEqual(other.stop("sigterm"), 0, other.stderr())
            self.assertLess(time.monotonic() - started, 3.0)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: test_sdk_scripted.py DSV4_SCRIPTED_SERVER TOKENIZER_DIR")
    SERVER_BIN, TOK_DIR = sys.argv[1], sys.argv[2]
    # Strict: a warning from the SDK or pydantic while parsing a chunk is a failure too.
    warnings.simplefilter("error")
    started = time.monotonic()
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    print(f"sdk_scripted_e2e: {time.monotonic() - started:.1f} s", file=sys.stderr)
    sys.exit(0 if result.wasSuccessful() else 1)

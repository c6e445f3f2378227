"""`dsv4 serve` driven by the official OpenAI Python SDK over loopback.

The server runs a generated tiny model (random weights, the real DeepSeek-V4 tokenizer), so
the tests check the protocol and the plumbing, not the prose: what the SDK parses, streaming
against non-streaming, chat against the raw completions endpoint on a prompt rendered and
tokenized by the Hugging Face `tokenizers` library (not our code), logprobs, n > 1, seeds,
prefix-cache usage, cost reporting and authentication.

    python test_openai_sdk.py DSV4_BINARY TOKENIZER_DIR
"""

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import openai
from tokenizers import Tokenizer

DSV4 = ""
TOK_DIR = ""
API_KEY = "sk-dsv4-e2e"
PRICES = {"input": 0.5, "cached": 0.1, "output": 2.0}  # USD per 1M tokens
BOS = "<｜begin▁of▁sentence｜>"


class Server:
    """A `dsv4 serve` process on a free loopback port."""

    def __init__(self, model_dir, *extra):
        cmd = [DSV4, "serve", "--model", model_dir, "--port", "0", "--host", "127.0.0.1",
               "--kv-cache-memory", "256M", *extra]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.url = None
        deadline = time.time() + 120
        line_box = []
        reader = threading.Thread(target=lambda: line_box.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(max(0.0, deadline - time.time()))
        line = line_box[0] if line_box else ""
        if "dsv4 serving" not in line:
            self.stop()
            raise RuntimeError(f"server did not start: {line!r}\n{self.stderr()}")
        # "dsv4 serving NAME at http://127.0.0.1:PORT/v1 (...)"
        self.url = line.split(" at ", 1)[1].split(" ", 1)[0]

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("server ignored SIGTERM for 60 s")
        return self.proc.returncode


class OpenAISdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.model = os.path.join(cls.tmp, "tiny")
        subprocess.run([DSV4, "make-tiny", "--out", cls.model, "--seed", "5", "--tokenizer-dir", TOK_DIR],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.hf = Tokenizer.from_file(os.path.join(TOK_DIR, "tokenizer.json"))
        cls.server = Server(cls.model, "--api-key", API_KEY, "--served-model-name", "tiny-e2e",
                            "--price-input", str(PRICES["input"]), "--price-cached-input", str(PRICES["cached"]),
                            "--price-output", str(PRICES["output"]))
        cls.client = openai.OpenAI(base_url=cls.server.url, api_key=API_KEY, max_retries=0, timeout=120)

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if rc != 0:
            raise AssertionError(f"server exited with {rc} on SIGTERM:\n{cls.server.stderr()}")

    def chat(self, content, **kw):
        kw.setdefault("model", "tiny-e2e")
        kw.setdefault("max_tokens", 8)
        kw.setdefault("temperature", 0)
        return self.client.chat.completions.create(messages=[{"role": "user", "content": content}], **kw)

    def ids(self, text):
        return self.hf.encode(text, add_special_tokens=False).ids

    # --- models ---------------------------------------------------------------------
    def test_models_lists_the_served_name(self):
        names = [m.id for m in self.client.models.list().data]
        self.assertIn("tiny-e2e", names)
        self.assertEqual(self.client.models.retrieve("tiny-e2e").id, "tiny-e2e")

    def test_the_public_model_names_are_accepted(self):
        for name in ("deepseek-v4-flash", "deepseek/deepseek-v4-flash"):
            r = self.chat("Hi", model=name, max_tokens=1, extra_body={"thinking": {"type": "disabled"}})
            self.assertEqual(r.usage.completion_tokens, 1)

    def test_unknown_model_is_404(self):
        with self.assertRaises(openai.NotFoundError):
            self.chat("Hi", model="gpt-nothing")

    # --- chat -----------------------------------------------------------------------
    def test_chat_prompt_and_tokens_match_the_raw_completion_of_the_reference_rendering(self):
        # The chat prompt, rendered by hand from the spec's grammar and tokenized by HF
        # `tokenizers`, sent to /v1/completions as token ids: same prompt length, same tokens.
        msg = "Write one line about the sea."
        chat = self.chat(msg, max_tokens=10, logprobs=True, top_logprobs=2,
                         extra_body={"thinking": {"type": "disabled"}})
        prompt_ids = self.ids(f"{BOS}<｜User｜>{msg}<｜Assistant｜></think>")
        self.assertEqual(chat.usage.prompt_tokens, len(prompt_ids))
        comp = self.client.completions.create(model="tiny-e2e", prompt=prompt_ids, max_tokens=10, temperature=0,
                                              logprobs=2)
        self.assertEqual(chat.usage.completion_tokens, comp.usage.completion_tokens)
        chat_tokens = [t.token for t in chat.choices[0].logprobs.content]
        self.assertEqual(chat_tokens, comp.choices[0].logprobs.tokens)
        for a, b in zip(chat.choices[0].logprobs.content, comp.choices[0].logprobs.token_logprobs):
            self.assertAlmostEqual(a.logprob, b, places=4)

    def test_thinking_mode_puts_the_output_in_reasoning_content(self):
        r = self.chat("Hi", max_tokens=6, extra_body={"thinking": {"type": "enabled"}})
        msg = r.choices[0].message
        reasoning = getattr(msg, "reasoning_content", None) or (msg.model_extra or {}).get("reasoning_content")
        self.assertTrue(reasoning, f"no reasoning_content in {msg}")
        self.assertGreater(r.usage.completion_tokens_details.reasoning_tokens, 0)
        self.assertEqual(r.usage.prompt_tokens, len(self.ids(f"{BOS}<｜User｜>Hi<｜Assistant｜><think>")))

    def test_streaming_equals_non_streaming_and_ends_with_usage(self):
        kw = dict(max_tokens=12, extra_body={"thinking": {"type": "enabled"}})
        whole = self.chat("Count to five.", **kw)
        stream = self.chat("Count to five.", stream=True, stream_options={"include_usage": True}, **kw)
        content, reasoning, finish, usage, roles = "", "", None, None, []
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for c in chunk.choices:
                d = c.delta
                if d.role:
                    roles.append(d.role)
                content += d.content or ""
                reasoning += (d.model_extra or {}).get("reasoning_content") or ""
                finish = c.finish_reason or finish
        m = whole.choices[0].message
        self.assertEqual(roles, ["assistant"])
        self.assertEqual(content, m.content or "")
        self.assertEqual(reasoning, (m.model_extra or {}).get("reasoning_content") or "")
        self.assertEqual(finish, whole.choices[0].finish_reason)
        self.assertIsNotNone(usage, "no usage chunk with include_usage")
        self.assertEqual(usage.completion_tokens, whole.usage.completion_tokens)
        self.assertEqual(usage.prompt_tokens, whole.usage.prompt_tokens)

    def test_max_tokens_ends_with_length(self):
        r = self.chat("Hi", max_tokens=3, extra_body={"thinking": {"type": "disabled"}, "ignore_eos": True})
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 3)

    def test_logprobs_are_sorted_and_greedy_picks_the_top(self):
        r = self.chat("Hi", max_tokens=6, logprobs=True, top_logprobs=4, extra_body={"thinking": {"type": "disabled"}})
        content = r.choices[0].logprobs.content
        self.assertEqual(len(content), r.usage.completion_tokens)
        for t in content:
            tops = [x.logprob for x in t.top_logprobs]
            self.assertEqual(len(tops), 4)
            self.assertEqual(tops, sorted(tops, reverse=True))
            self.assertAlmostEqual(t.logprob, tops[0], places=5)
            self.assertLessEqual(t.logprob, 0.0)
            self.assertLessEqual(sum(math.exp(x) for x in tops), 1.0 + 1e-4)

    def test_n_choices_and_seeds(self):
        kw = dict(max_tokens=8, temperature=1.0, n=3, seed=1234,
                  extra_body={"thinking": {"type": "disabled"}, "ignore_eos": True})
        a = self.chat("Tell me something.", **kw)
        b = self.chat("Tell me something.", **kw)
        self.assertEqual([c.index for c in a.choices], [0, 1, 2])
        texts_a = [c.message.content for c in a.choices]
        self.assertEqual(texts_a, [c.message.content for c in b.choices], "same seed, different samples")
        self.assertGreater(len(set(texts_a)), 1, "n=3 at temperature 1 gave three identical samples")
        self.assertEqual(a.usage.completion_tokens, 3 * 8)
        c = self.chat("Tell me something.", **{**kw, "seed": 99})
        self.assertNotEqual(texts_a, [x.message.content for x in c.choices], "the seed changed nothing")

    def test_tools_are_accepted(self):
        tools = [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
        r = self.chat("Weather in Paris?", tools=tools, max_tokens=4)
        self.assertIn(r.choices[0].finish_reason, ("length", "stop", "tool_calls"))
        plain = self.chat("Weather in Paris?", max_tokens=4)
        self.assertGreater(r.usage.prompt_tokens, plain.usage.prompt_tokens + 100, "the tools block was not rendered")

    # --- completions ----------------------------------------------------------------
    def test_text_prompt_is_bos_plus_text(self):
        text = "The quick brown fox"
        a = self.client.completions.create(model="tiny-e2e", prompt=text, max_tokens=5, temperature=0, logprobs=1)
        b = self.client.completions.create(model="tiny-e2e", prompt=self.ids(BOS + text), max_tokens=5,
                                           temperature=0, logprobs=1)
        self.assertEqual(a.usage.prompt_tokens, len(self.ids(BOS + text)))
        self.assertEqual(a.choices[0].text, b.choices[0].text)
        self.assertEqual(a.choices[0].logprobs.tokens, b.choices[0].logprobs.tokens)

    def test_fill_in_the_middle_uses_the_fim_layout(self):
        pre, suf = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"
        a = self.client.completions.create(model="tiny-e2e", prompt=pre, suffix=suf, max_tokens=6, temperature=0,
                                           logprobs=1)
        ids = self.ids(f"{BOS}<｜fim▁begin｜>{pre}<｜fim▁hole｜>{suf}<｜fim▁end｜>")
        b = self.client.completions.create(model="tiny-e2e", prompt=ids, max_tokens=6, temperature=0, logprobs=1)
        self.assertEqual(a.usage.prompt_tokens, len(ids))
        self.assertEqual(a.choices[0].logprobs.tokens, b.choices[0].logprobs.tokens)

    def test_streaming_completion_matches(self):
        kw = dict(model="tiny-e2e", prompt="Once upon a time", max_tokens=10, temperature=0)
        whole = self.client.completions.create(**kw)
        text = "".join(c.choices[0].text for c in self.client.completions.create(stream=True, **kw) if c.choices)
        self.assertEqual(text, whole.choices[0].text)

    # --- usage, cache, cost ---------------------------------------------------------
    def test_repeated_prompt_reports_cached_tokens_and_cost(self):
        system = "You are a careful assistant. " * 60  # a few hundred tokens, several KV pages
        messages = [{"role": "system", "content": system}, {"role": "user", "content": "Summarize the rules."}]
        kw = dict(model="tiny-e2e", messages=messages, max_tokens=4, temperature=0,
                  extra_body={"thinking": {"type": "disabled"}})
        self.client.chat.completions.create(**kw)
        raw = self.client.chat.completions.with_raw_response.create(**kw)
        r = raw.parse()
        cached = r.usage.prompt_tokens_details.cached_tokens
        self.assertGreater(cached, r.usage.prompt_tokens // 2, "the repeated prompt was not served from cache")
        self.assertLess(cached, r.usage.prompt_tokens + 1)
        want = ((r.usage.prompt_tokens - cached) * PRICES["input"] + cached * PRICES["cached"] +
                r.usage.completion_tokens * PRICES["output"]) / 1e6
        self.assertAlmostEqual(float(raw.headers["x-dsv4-cost-usd"]), want, delta=want * 1e-6 + 1e-12)
        extra = r.usage.model_extra or {}
        self.assertEqual(extra.get("prompt_cache_hit_tokens"), cached)
        self.assertEqual(extra.get("prompt_cache_miss_tokens"), r.usage.prompt_tokens - cached)

    # --- authentication and errors --------------------------------------------------
    def test_wrong_or_missing_key_is_401(self):
        for key in ("wrong", ""):
            bad = openai.OpenAI(base_url=self.server.url, api_key=key or "x", max_retries=0,
                                default_headers={} if key else {"Authorization": ""})
            with self.assertRaises(openai.AuthenticationError):
                bad.models.list()

    def test_bad_parameters_are_400_and_the_server_lives_on(self):
        for kw in (dict(max_tokens=-1), dict(temperature=-2), dict(top_p=3), dict(n=0), dict(logprobs=True, top_logprobs=99)):
            with self.assertRaises(openai.BadRequestError, msg=str(kw)):
                self.chat("Hi", **kw)
        with self.assertRaises(openai.BadRequestError):
            self.client.chat.completions.create(model="tiny-e2e", messages=[])
        self.assertEqual(self.chat("Hi", max_tokens=1).usage.completion_tokens, 1)

    def test_a_client_that_drops_its_stream_does_not_hurt_others(self):
        stream = self.chat("Go on and on.", max_tokens=200, stream=True, extra_body={"ignore_eos": True})
        next(iter(stream))
        stream.close()
        r = self.chat("Hi", max_tokens=2, extra_body={"thinking": {"type": "disabled"}, "ignore_eos": True})
        self.assertEqual(r.usage.completion_tokens, 2)


if __name__ == "__main__":
    DSV4, TOK_DIR = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])

#!/usr/bin/env python3
"""Generates tests/data/text/chat_encoding.jsonl: DeepSeek-V4 chat-encoding parity cases.

Reference encoders (outside the repo, never copied into it):
  * SGLang 0.5.16 wheel, sglang/srt/entrypoints/openai/encoding_dsv4.py ("adapted from the
    DeepSeek-V4 release reference implementation"):
        pip download sglang==0.5.16 --no-deps -d /tmp/sgl/0.5.16 && unzip it there
  * DeepSeek's own encoding/encoding_dsv4.py (mirror Mockingjay1316/deepseek-v4-flash-spark
    @ ae059d9), only for the case SGLang refuses: tool-call arguments that are not JSON,
    which the official encoder renders as one "arguments" parameter. Where both encoders
    accept a case they must agree (checked).
  * tokenizers 0.23.3 for the prompt ids (add_special_tokens=False).

    .venv/bin/python scripts/text/gen_chat_fixtures.py /tmp/sgl/0.5.16 /tmp/official/encoding

Each line: {"name", "request_json" (the exact request text the C++ side parses),
"options": {"thinking_mode", "reasoning_effort", "drop_thinking", "add_bos"}, "prompt",
"ids", "reference"}. Requests are OpenAI chat bodies ("messages", "tools"); the script
applies the same OpenAI -> DeepSeek mapping as dsv4 (text-part arrays joined by "\\n\\n";
request tools attached to a leading system message, inserted empty if needed) before
calling the reference encoder.
"""
import copy
import importlib.util
import json
import os
import random
import sys

from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "text", "chat_encoding.jsonl")


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


WORDS = ["hello", "weather", "Beijing", "数据", "東京", "서울", "résumé", "emoji 🎉", "tab\there", "line\nbreak",
         "quote \"x\"", "back\\slash", "<｜User｜>", "</think>", "<tool_result>", "{braces}", "  spaces  ", "", "≠∑", "x"]
TOOL_NAMES = ["get_weather", "search", "run_code", "read_file", "calc.add", "send-email", "查询"]


def rtext(rng, n_lo=1, n_hi=8):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(n_lo, n_hi)))


def tool_schema(rng, name):
    props = {}
    for k in rng.sample(["location", "unit", "query", "count", "flag", "items", "options", "价格"], rng.randint(0, 4)):
        props[k] = rng.choice([
            {"type": "string", "description": rtext(rng, 1, 4)},
            {"type": "integer", "minimum": rng.choice([0, -5, 10 ** 20]), "maximum": 1.5e3},
            {"type": "number", "default": rng.choice([0.1, 1e-7, 2.5, 1e16, -0.0, 3.0])},
            {"type": "boolean", "default": rng.choice([True, False, None])},
            {"type": "array", "items": {"type": "string", "enum": ["a", "b", "ü"]}},
            {"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "number"}}},
        ])
    fn = {"name": name, "description": rtext(rng), "parameters": {"type": "object", "properties": props,
                                                                      "required": list(props)[:1]}}
    if rng.random() < 0.2:
        fn["strict"] = True
    return {"type": "function", "function": fn}


def arg_value(rng, depth=0):
    r = rng.random()
    if r < 0.35:
        return rtext(rng, 0, 5)
    if r < 0.5:
        return rng.choice([0, 1, -7, 42, 10 ** 25, 3.14, -2.5e-8, 1e21, 0.1, 100.0])
    if r < 0.6:
        return rng.choice([True, False, None])
    if r < 0.8 and depth < 2:
        return [arg_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2:
        return {rng.choice(["k", "名", "a b", "x"]) + str(i): arg_value(rng, depth + 1) for i in range(rng.randint(0, 3))}
    return "leaf"


def arguments_text(rng):
    r = rng.random()
    if r < 0.06:
        return rng.choice(["not json at all", "{\"unterminated\": ", "", "{'single': 1}"])  # official fallback
    if r < 0.14:
        # Literal spellings Python normalizes: 1.50 -> 1.5, 1E5 -> 100000.0, -0 -> 0, 1e400 -> Infinity.
        return rng.choice(['{"x": 1.50, "y": 1E5, "z": -0}', '{"big": 123456789012345678901234567890, "f": 1e400}',
                           '{"dup": 1, "other": 2, "dup": 3}', '{ "spaced" :\t"v" ,"n":[1 ,2] }',
                           '{"esc": "\\u00e9\\n\\t\\"", "nan": NaN, "ninf": -Infinity}', '{"tiny": 5e-324, "e": 1e-7}'])
    args = {k: arg_value(rng) for k in rng.sample(["location", "unit", "query", "count", "flag", "items", "数据", "path"],
                                                   rng.randint(0, 4))}
    return json.dumps(args, ensure_ascii=rng.random() < 0.3, separators=rng.choice([(",", ":"), (", ", ": ")]))


def content(rng, allow_parts=True):
    if allow_parts and rng.random() < 0.15:
        return [{"type": "text", "text": rtext(rng)} for _ in range(rng.randint(1, 3))]
    return rtext(rng)


class Conv:
    def __init__(self, rng):
        self.rng = rng
        self.msgs = []
        self.n_calls = 0

    def assistant_with_calls(self):
        rng = self.rng
        calls = []
        for _ in range(rng.randint(1, 3)):
            self.n_calls += 1
            calls.append({"id": f"call_{self.n_calls}", "type": "function",
                          "function": {"name": rng.choice(TOOL_NAMES), "arguments": arguments_text(rng)}})
        m = {"role": "assistant", "content": rng.choice([None, "", rtext(rng)]), "tool_calls": calls}
        if rng.random() < 0.7:
            m["reasoning_content"] = rtext(rng)
        self.msgs.append(m)
        results = list(calls)
        rng.shuffle(results)  # answered out of order: the encoder sorts by call order
        for c in results[:rng.randint(1, len(results))]:
            if rng.random() < 0.2:
                tc = [{"type": "text", "text": rtext(rng)}, {"type": rng.choice(["image_url", "text"]), "text": "t"}]
            else:
                tc = rtext(rng)
            self.msgs.append({"role": "tool", "tool_call_id": c["id"], "content": tc})

    def turn(self, last):
        rng = self.rng
        r = rng.random()
        if r < 0.1:
            self.msgs.append({"role": "latest_reminder", "content": rtext(rng)})
        if r > 0.85:
            m = {"role": "developer", "content": rtext(rng, 1, 4) or "dev"}
            if rng.random() < 0.5:
                m["tools"] = [tool_schema(rng, n) for n in rng.sample(TOOL_NAMES, rng.randint(1, 2))]
            if rng.random() < 0.3:
                m["response_format"] = {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}
            self.msgs.append(m)
        else:
            m = {"role": "user", "content": content(rng)}
            if rng.random() < 0.12:
                m["task"] = rng.choice(["action", "query", "authority", "domain", "read_url"])
            self.msgs.append(m)
            if rng.random() < 0.1:
                self.msgs.append({"role": "user", "content": rtext(rng)})  # consecutive users merge
        if last and rng.random() < 0.75:
            return
        while rng.random() < 0.45:
            self.assistant_with_calls()
            if rng.random() < 0.3:
                self.msgs.append({"role": "user", "content": rtext(rng)})  # folded into the tool-result turn
        m = {"role": "assistant", "content": content(rng, allow_parts=False)}
        if rng.random() < 0.6:
            m["reasoning_content"] = rtext(rng)
        if rng.random() < 0.08:
            m["task"] = "title"
        if last and rng.random() < 0.3:
            m["wo_eos"] = True
        self.msgs.append(m)


def random_case(rng, i):
    conv = Conv(rng)
    if rng.random() < 0.7:
        sys_msg = {"role": "system", "content": content(rng) if rng.random() < 0.9 else None}
        if rng.random() < 0.15:
            sys_msg["response_format"] = rng.choice([{"type": "object", "properties": {"a": {"type": "integer"}}},
                                                     {}, {"type": "json_object"}])
        conv.msgs.append(sys_msg)
    n_turns = rng.randint(1, 4)
    for t in range(n_turns):
        conv.turn(last=t == n_turns - 1)
    request = {"messages": conv.msgs}
    if rng.random() < 0.4:
        request["tools"] = [tool_schema(rng, n) for n in rng.sample(TOOL_NAMES, rng.randint(1, 3))]
    options = {"thinking_mode": rng.choice(["chat", "thinking", "thinking"]),
               "reasoning_effort": rng.choice([None, "high", "max"]),
               "drop_thinking": rng.random() < 0.8, "add_bos": rng.random() < 0.95}
    return f"random_{i:03d}", json.dumps(request, ensure_ascii=False), options


def to_deepseek(request):
    """The OpenAI -> DeepSeek mapping dsv4 applies (see src/text/chat_message.h)."""
    msgs = copy.deepcopy(request["messages"])
    for m in msgs:
        if isinstance(m.get("content"), list) and m["role"] != "tool":
            m["content"] = "\n\n".join(p["text"] for p in m["content"])
    if request.get("tools"):
        if not msgs or msgs[0]["role"] != "system":
            msgs.insert(0, {"role": "system", "content": ""})
        msgs[0]["tools"] = request["tools"]
    return msgs


def handmade_cases():
    cases = []
    hi = json.dumps({"messages": [{"role": "user", "content": "Hi"}]})
    for mode in ["chat", "thinking"]:  # spec §5.2 worked examples
        cases.append((f"spec_hi_{mode}", hi, {"thinking_mode": mode, "reasoning_effort": None,
                                              "drop_thinking": True, "add_bos": True}))
    readme = json.dumps({"messages": [{"role": "system", "content": "You are a helpful assistant."},
                                      {"role": "user", "content": "What is 2+2?"}]})
    cases.append(("readme_quick_start", readme, {"thinking_mode": "thinking", "reasoning_effort": None,
                                                 "drop_thinking": True, "add_bos": True}))
    # Raw request text with number spellings and key order only a byte-level path keeps.
    raw = ('{"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", '
           '"properties": {"n": {"type": "number", "minimum": 1.50, "maximum": 1E3, "big": 123456789012345678901234567890, '
           '"neg": -0, "tiny": 1e-5, "z": 0.0001, "huge": 1e400}}, "required": [], "b": "\\u00e9\\ud83d\\ude00\\u0001"}}}], '
           '"messages": [{"role": "user", "content": "go"}]}')
    cases.append(("raw_number_spellings", raw, {"thinking_mode": "thinking", "reasoning_effort": "max",
                                                "drop_thinking": True, "add_bos": True}))
    return cases


def main():
    sgl_dir, official_dir = sys.argv[1], sys.argv[2]
    sgl = load_module(os.path.join(sgl_dir, "sglang/srt/entrypoints/openai/encoding_dsv4.py"), "sgl_dsv4")
    official = load_module(os.path.join(official_dir, "encoding_dsv4.py"), "official_dsv4")
    tok = Tokenizer.from_file(os.path.join(ROOT, ".cache", "tokenizer", "tokenizer.json"))
    rng = random.Random(5202)
    cases = handmade_cases() + [random_case(rng, i) for i in range(320)]
    n_official = 0
    with open(OUT, "w", encoding="utf-8") as f:
        for name, request_json, options in cases:
            msgs = to_deepseek(json.loads(request_json))
            kwargs = dict(thinking_mode=options["thinking_mode"], drop_thinking=options["drop_thinking"],
                          add_default_bos_token=options["add_bos"], reasoning_effort=options["reasoning_effort"])
            want_official = official.encode_messages(copy.deepcopy(msgs), **kwargs)
            try:
                prompt = sgl.encode_messages(copy.deepcopy(msgs), **kwargs)
                reference = "sglang-0.5.16"
                assert prompt == want_official, f"{name}: SGLang and official encoders disagree"
            except ValueError:
                prompt, reference = want_official, "official-ae059d9"
                n_official += 1
            ids = tok.encode(prompt, add_special_tokens=False).ids
            f.write(json.dumps({"name": name, "request_json": request_json, "options": options, "prompt": prompt,
                                "ids": ids, "reference": reference}, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases ({n_official} rendered by the official encoder only)")


if __name__ == "__main__":
    main()

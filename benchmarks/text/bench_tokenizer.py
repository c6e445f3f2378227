#!/usr/bin/env python3
"""Encode MB/s on one core: dsv4 vs Hugging Face `tokenizers`, same corpus, same run.

    .venv/bin/python benchmarks/text/bench_tokenizer.py BUILD_DIR [REPEATS]

BUILD_DIR holds benchmarks/text/dsv4_bench_tokenizer (build target dsv4_bench_tokenizer).
Both sides encode every "text" string of tests/data/text/tokenizer_corpus.jsonl once per
repeat without special tokens, single-threaded (RAYON_NUM_THREADS=1, taskset to one CPU
when available), and report the best repeat. Measured with tokenizers 0.23.3.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402
import tokenizers  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOK_DIR = os.path.join(ROOT, ".cache", "tokenizer")
CORPUS = os.path.join(ROOT, "tests", "data", "text", "tokenizer_corpus.jsonl")


def main():
    build = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    texts = [r["text"] for r in map(json.loads, open(CORPUS, encoding="utf-8")) if "text" in r]
    n_bytes = sum(len(t.encode()) for t in texts)
    tok = Tokenizer.from_file(os.path.join(TOK_DIR, "tokenizer.json"))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for t in texts:
            tok.encode(t, add_special_tokens=False)
        best = min(best, time.perf_counter() - t0)
    hf = n_bytes / best / 1e6
    print(f"HF tokenizers {tokenizers.__version__} encode: {hf:.2f} MB/s ({len(texts)} strings, {n_bytes} bytes, best of {repeats})")
    cmd = [os.path.join(build, "benchmarks", "text", "dsv4_bench_tokenizer"), TOK_DIR, CORPUS, str(repeats)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0)))] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
    print(out)
    ours = float(re.search(r"([0-9.]+) MB/s", out).group(1))
    print(f"ratio dsv4 / HF: {ours / hf:.2f}x")


if __name__ == "__main__":
    main()

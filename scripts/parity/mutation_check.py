#!/usr/bin/env python3
"""Shows that the transformers parity test is tight enough to catch single-op bugs.

Each mutation below plants one bug class that public DeepSeek-V4 ports actually shipped
(spec §6.1). For each, the source tree is copied to a scratch directory, the mutation is
applied, the model tests are built there, and the parity test must FAIL. The unmutated
copy must PASS. Nothing in the working tree is modified.

  python3 scripts/parity/mutation_check.py [--keep] [--only NAME]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))

# (name, file, exact text to replace, replacement)
MUTATIONS = [
    ("drop inverse RoPE on the attention output", "src/model/layers/attention.cpp",
     "t.n_freq, true, round);", "t.n_freq, false, round);"),
    ("transpose the hyper-connection mix (hc_post uses row b of C)", "kernels/ref/hc_ref.cpp",
     "acc += C[a * hc + b] * X[t * width + a * p.dim + i];", "acc += C[b * hc + a] * X[t * width + a * p.dim + i];"),
    ("skip the shared-expert SwiGLU clamp", "src/model/layers/moe.cpp",
     "be.swiglu(g_.data(), u_.data(), m, inter, inter, weights, static_cast<float>(c.swiglu_limit), h_.data(), inter, round);",
     "be.swiglu(g_.data(), u_.data(), m, inter, inter, weights, weights == nullptr ? 1e30f : static_cast<float>(c.swiglu_limit), h_.data(), inter, round);"),
    ("rotate compressed rows at the row index instead of the block's first position", "src/model/layers/compressor.cpp",
     "row_pos_.push_back(b * ratio);", "row_pos_.push_back(b);"),
    ("wrong RoPE base on the compressed layers (rope_theta instead of compress_rope_theta)", "src/model/rope_tables.cpp",
     "rope_frequencies(c.qk_rope_head_dim, c.compress_rope_theta, yp, f.compress.data());",
     "rope_frequencies(c.qk_rope_head_dim, c.rope_theta, yp, f.compress.data());"),
    ("YaRN missing on the compressed layers", "src/model/rope_tables.cpp",
     "    yp = &yarn;", "    yp = nullptr;\n    (void)yarn;"),
    ("routing weight ignored (weights treated as 1)", "src/model/layers/moe.cpp",
     "run_expert(ctx, w.experts[static_cast<size_t>(e)], xe_.data(), m, we_.data(), ye_.data());",
     "run_expert(ctx, w.experts[static_cast<size_t>(e)], xe_.data(), m, nullptr, ye_.data());"),
    ("attention sink ignored", "src/model/layers/attention.cpp",
     "cand_.data(), n_cand_, w.sink,", "cand_.data(), n_cand_, zero_sink_.data(),"),
]

# Extra lines a mutation needs to compile (declared next to the one it replaces).
SUPPORT = {
    "attention sink ignored": ("src/model/layers/attention.cpp", "  ctx.backend.sparse_attention(",
                               "  std::vector<float> zero_sink_(static_cast<size_t>(c.num_attention_heads), -1e30f);\n"
                               "  ctx.backend.sparse_attention("),
}

TEST = "dsv4_model_tests"
FILTER = "Parity.ExactModeMatchesTransformersAtEveryPosition"


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def build_and_test(src, build):
    r = run(["cmake", "-S", src, "-B", build, "-G", "Ninja", "-DDSV4_CUDA=OFF", "-DDSV4_BUILD_BENCHMARKS=OFF"], src)
    if r.returncode != 0:
        return "configure failed", r.stdout[-2000:]
    r = run(["cmake", "--build", build, "--target", TEST], src)
    if r.returncode != 0:
        return "build failed", r.stdout[-2000:]
    r = run([os.path.join(build, "tests/model", TEST), f"--gtest_filter={FILTER}"], src)
    return ("PASS" if r.returncode == 0 else "FAIL"), r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--only", help="run only the mutation whose name contains this")
    args = ap.parse_args()
    scratch = tempfile.mkdtemp(prefix="dsv4-mutation-")
    src = os.path.join(scratch, "src")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns("build*", ".venv", ".git", "models", ".cache"))
    os.symlink(os.path.join(ROOT, ".cache"), os.path.join(src, ".cache"))
    build = os.path.join(scratch, "build")
    ok = True
    verdict, out = build_and_test(src, build)
    print(f"{'unmutated':<80} {verdict}")
    if verdict != "PASS":
        print(out[-3000:])
        sys.exit(1)
    for name, path, old, new in MUTATIONS:
        if args.only and args.only not in name:
            continue
        target = os.path.join(src, path)
        original = open(target).read()
        if original.count(old) != 1:
            print(f"{name}: the text to mutate was not found exactly once in {path}")
            ok = False
            continue
        mutated = original.replace(old, new)
        if name in SUPPORT:
            _, anchor, support = SUPPORT[name]
            mutated = mutated.replace(anchor, support, 1)
        open(target, "w").write(mutated)
        verdict, out = build_and_test(src, build)
        open(target, "w").write(original)
        detail = ""
        for line in out.splitlines():
            if "exact:" in line:
                detail = line.strip()
                break
        print(f"{name:<80} {verdict}   {detail}")
        ok = ok and verdict == "FAIL"
    if not args.keep:
        shutil.rmtree(scratch)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

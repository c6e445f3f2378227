#!/usr/bin/env python3
"""The ptxas resource report of every CUDA kernel in kernels/cuda, as a table.

Compiles each kernels/cuda/*.cu the way the build does (nvcc, C++17, warnings as errors)
with `-Xptxas -v`, and writes one row per kernel and architecture: registers, barriers,
static shared memory, stack frame, spill stores and loads. Exits 1 when a kernel spills:
spills put the hot loops in local memory, and every kernel here is expected to have none.

    scripts/cuda/ptxas_report.py [--out build/ptxas_report.txt] [--arch 90a]
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ENTRY = re.compile(r"Compiling entry function '([^']+)' for '(\w+)'")
FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED = re.compile(r"Used (\d+) registers(?:, used (\d+) barriers)?(?:, (\d+) bytes smem)?")


def demangle(names):
    if not names or shutil.which("c++filt") is None:
        return {n: n for n in names}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True).stdout
    pretty = out.splitlines()
    # Keep "namespace::kernel<args>" and drop the parameter list, which is long and known.
    # Namespaces and the return type are the same everywhere: drop them too.
    def short(p):
        p = re.sub(r"\(.*\)$", "", p)
        p = re.sub(r"^void ", "", p)
        return re.sub(r"dsv4k::cuda::|\w+_detail::", "", p)
    return {n: short(p) for n, p in zip(names, pretty)}


def parse(log):
    """Rows (mangled name, arch, regs, barriers, smem, stack, spill_st, spill_ld) of one ptxas -v log."""
    rows, current = [], None
    for line in log.splitlines():
        m = ENTRY.search(line)
        if m:
            current = {"name": m.group(1), "arch": m.group(2)}
            continue
        if current is None:
            continue
        m = FRAME.search(line)
        if m:
            current["stack"], current["spill_st"], current["spill_ld"] = map(int, m.groups())
            continue
        m = USED.search(line)
        if m:
            current["regs"] = int(m.group(1))
            current["barriers"] = int(m.group(2) or 0)
            current["smem"] = int(m.group(3) or 0)
            rows.append(current)
            current = None
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "ptxas_report.txt"))
    ap.add_argument("--arch", default=os.environ.get("DSV4_CUDA_ARCHS", "90a"))
    args = ap.parse_args()
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        print("ptxas report: no nvcc, skipped")
        return 0
    sources = sorted(glob.glob(os.path.join(ROOT, "kernels", "cuda", "*.cu")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            cmd = [nvcc, "-std=c++17", f"-arch=sm_{args.arch}", "-I", os.path.join(ROOT, "kernels"), "-I",
                   os.path.join(ROOT, "kernels", "include"), "-Werror", "all-warnings", "-Xptxas", "-v", "-c", src,
                   "-o", os.path.join(tmp, "k.o")]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                sys.stderr.write(r.stdout + r.stderr)
                print(f"ptxas report: nvcc failed on {os.path.relpath(src, ROOT)}", file=sys.stderr)
                return 1
            for row in parse(r.stdout + r.stderr):
                row["file"] = os.path.relpath(src, ROOT)
                rows.append(row)
    names = demangle(sorted({r["name"] for r in rows}))
    header = f"{'kernel':<70} {'arch':<7} {'regs':>4} {'bar':>3} {'smem':>6} {'stack':>5} {'spill st':>8} {'spill ld':>8}"
    lines = [header, "-" * len(header)]
    spills = []
    for r in sorted(rows, key=lambda r: (r["file"], names[r["name"]])):
        pretty = names[r["name"]]
        short = pretty if len(pretty) <= 70 else pretty[:67] + "..."
        lines.append(f"{short:<70} {r['arch']:<7} {r['regs']:>4} {r['barriers']:>3} {r['smem']:>6} {r['stack']:>5} "
                     f"{r['spill_st']:>8} {r['spill_ld']:>8}")
        if r["spill_st"] or r["spill_ld"]:
            spills.append(pretty)
    report = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(report)
    print(report, end="")
    print(f"ptxas report: {len(rows)} kernels in {len(sources)} files, written to {args.out}")
    if not rows and sources:
        print("ptxas report: no kernel entries found in the ptxas output", file=sys.stderr)
        return 1
    if spills:
        print("ptxas report: kernels that spill: " + ", ".join(spills), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes the safetensors fixtures of tests/model/ with the reference Python tools.

The C++ reader and writer are checked against files that did not come from them:
  tests/data/safetensors/all_dtypes.safetensors
      one file written by safetensors (0.8.0) with every dtype dsv4 reads, a scalar, an empty
      tensor, DSV4-style names (no "model." prefix, ".scale" tensors) and {"format": "pt"}
      metadata. Values follow formulas that tests/model/test_safetensors_fixtures.cpp
      recomputes, so the test needs no second copy of the data.
  tests/data/safetensors/sharded/
      a checkpoint cut into shards by huggingface_hub's split_state_dict_into_shards_factory
      (the logic behind save_torch_state_dict) with SHARDED_MAX_SHARD_BYTES, each shard saved by
      safetensors with {"format": "pt"}, and model.safetensors.index.json written as
      transformers' save_pretrained writes it (json.dumps(indent=2, sort_keys=True) + "\\n").
      Tensors are added in name order, so dsv4's writer, fed the same tensors in name order,
      must reproduce every file byte for byte.

Run from the repository root:  .venv/bin/python scripts/gen_safetensors_fixtures.py
Needs numpy, ml_dtypes, safetensors and huggingface_hub (all in the project venv).
"""

import json
import os
import shutil
import sys

import ml_dtypes
import numpy as np
import safetensors
import safetensors.numpy
from huggingface_hub.serialization import split_state_dict_into_shards_factory

OUT_DIR = os.path.join("tests", "data", "safetensors")
# Keep in sync with kShardedMaxShardBytes in tests/model/test_safetensors_fixtures.cpp.
SHARDED_MAX_SHARD_BYTES = 96
METADATA = {"format": "pt"}


def iota(n):
    return np.arange(n, dtype=np.int64)


def all_dtypes_tensors():
    """Each tensor's values are a formula of its flat index i (see the C++ test)."""
    t = {}
    # BF16: (i - 5) * 0.25, exact in bfloat16.
    t["embed.weight"] = ((iota(12) - 5) * 0.25).astype(np.float32).astype(ml_dtypes.bfloat16).reshape(4, 3)
    # F32: i * 1.5 - 2.
    t["hc_head_fn"] = (iota(6) * 1.5 - 2).astype(np.float32).reshape(2, 3)
    # F32 scalar (rank 0): 3.25.
    t["hc_head_scale"] = np.array(3.25, dtype=np.float32)
    # F8_E4M3 raw bytes: (7 i + 1) mod 256.
    t["layers.0.attn.wq_a.weight"] = ((iota(16) * 7 + 1) % 256).astype(np.uint8).view(ml_dtypes.float8_e4m3fn).reshape(2, 8)
    # F8_E8M0 raw bytes: 120 + i.
    t["layers.0.attn.wq_a.scale"] = (iota(4) + 120).astype(np.uint8).view(ml_dtypes.float8_e8m0fnu).reshape(2, 2)
    # I8 (packed FP4) raw bytes: (37 i) mod 256.
    t["layers.0.ffn.experts.0.w1.weight"] = ((iota(8) * 37) % 256).astype(np.uint8).view(np.int8).reshape(2, 4)
    # F8_E8M0 raw bytes: 127 - i.
    t["layers.0.ffn.experts.0.w1.scale"] = (127 - iota(2)).astype(np.uint8).view(ml_dtypes.float8_e8m0fnu).reshape(2, 1)
    # I64: i * 1000000000007 - 3 (needs all 64 bits, negative first).
    t["layers.0.ffn.gate.tid2eid"] = (iota(6) * 1000000000007 - 3).astype(np.int64).reshape(3, 2)
    # I32: -1, 0, 2147483647.
    t["layers.0.i32_probe"] = np.array([-1, 0, 2147483647], dtype=np.int32)
    # U8: 250 + i.
    t["layers.0.u8_probe"] = (iota(5) + 250).astype(np.uint8)
    # An empty BF16 tensor, shape [0, 4].
    t["mtp.0.empty"] = np.zeros((0, 4), dtype=ml_dtypes.bfloat16)
    return t


def sharded_tensors():
    """A DSV4-shaped miniature; values: byte j of tensor number k (name order) is (k*31 + j) mod 256."""
    specs = [
        ("embed.weight", ml_dtypes.bfloat16, (8, 4)),
        ("head.weight", ml_dtypes.bfloat16, (8, 4)),
        ("hc_head_base", np.float32, (4,)),
        ("layers.0.attn.wq_a.scale", ml_dtypes.float8_e8m0fnu, (1, 1)),
        ("layers.0.attn.wq_a.weight", ml_dtypes.float8_e4m3fn, (4, 8)),
        ("layers.0.attn_norm.weight", ml_dtypes.bfloat16, (8,)),
        ("layers.0.ffn.experts.0.w1.scale", ml_dtypes.float8_e8m0fnu, (4, 1)),
        ("layers.0.ffn.experts.0.w1.weight", np.int8, (4, 16)),
        ("layers.0.ffn.gate.tid2eid", np.int64, (4, 2)),
        ("layers.1.ffn.gate.bias", np.float32, (4,)),
        ("mtp.0.norm.weight", ml_dtypes.bfloat16, (8,)),
        ("norm.weight", ml_dtypes.bfloat16, (8,)),
    ]
    specs.sort(key=lambda s: s[0].encode())  # byte order, as the C++ side iterates
    t = {}
    for k, (name, dtype, shape) in enumerate(specs):
        n_bytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        raw = ((k * 31 + iota(n_bytes)) % 256).astype(np.uint8)
        t[name] = raw.view(dtype).reshape(shape)
    return t


def write_sharded(directory, tensors):
    split = split_state_dict_into_shards_factory(
        tensors,
        get_storage_size=lambda a: a.nbytes,
        filename_pattern="model{suffix}.safetensors",
        max_shard_size=SHARDED_MAX_SHARD_BYTES,
    )
    assert split.is_sharded
    for filename, names in split.filename_to_tensors.items():
        safetensors.numpy.save_file({n: tensors[n] for n in names}, os.path.join(directory, filename), metadata=METADATA)
    index = {"metadata": split.metadata, "weight_map": split.tensor_to_filename}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return len(split.filename_to_tensors)


def main():
    if not os.path.isdir("tests"):
        sys.exit("run from the repository root")
    print(f"safetensors {safetensors.__version__}, numpy {np.__version__}, ml_dtypes {ml_dtypes.__version__}")
    os.makedirs(OUT_DIR, exist_ok=True)
    single = os.path.join(OUT_DIR, "all_dtypes.safetensors")
    safetensors.numpy.save_file(all_dtypes_tensors(), single, metadata=METADATA)
    sharded = os.path.join(OUT_DIR, "sharded")
    shutil.rmtree(sharded, ignore_errors=True)
    os.makedirs(sharded)
    n_shards = write_sharded(sharded, sharded_tensors())
    total = os.path.getsize(single) + sum(os.path.getsize(os.path.join(sharded, f)) for f in os.listdir(sharded))
    print(f"wrote {single} and {n_shards} shards + index in {sharded}: {total} bytes in all")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Whole-model parity fixtures from an implementation dsv4 did not write.

Builds a tiny DeepSeek-V4 with random weights in Hugging Face transformers, exports it in
the official checkpoint format (reference tensor names, FP8 e4m3 with 128x128 E8M0
scales, FP4 e2m1 experts with 1x32 E8M0 scales, I64 hash table), reloads the export into
transformers (no missing or unexpected keys, every parameter bit-identical), and records
fp32 logits at every position of several sequences. The MTP block, which transformers
does not implement, is checked against the NumPy implementation in mtp_numpy.py.

Writes tests/data/parity/ (committed); the C++ test tests/model/test_parity.cpp reads it.

Known properties of the reference used here (spec §6.1.13, DESIGN.md §4):
  * it computes in fp32 with eager attention and implements none of the reference's
    quantization simulations, so the C++ side is compared in its fp32 mode;
  * it initialises many parameters to constants; every one is randomised here;
  * it applies the routing weight after the down projection (equal in exact math).

Requirements: scripts/requirements-fixtures.txt (+ accelerate, needed by transformers'
FP8 loader). Usage:  python3 scripts/parity/gen_parity_fixtures.py [--out DIR] [--seed N]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import DeepseekV4Config, DeepseekV4ForCausalLM

sys.path.insert(0, os.path.dirname(__file__))
import mtp_numpy  # noqa: E402
import quant  # noqa: E402

torch.set_grad_enabled(False)

SEQ_LENGTHS = [320, 1100, 4000]
MTP_SEQ = 0  # the MTP block is checked on the first sequence


def tiny_config(vocab):
    """The tiny DSV4 of dsv4's presets (src/model/presets.cpp) with a small vocabulary."""
    ratios = [0, 0, 4, 128, 4, 128, 0]
    return {
        "architectures": ["DeepseekV4ForCausalLM"], "model_type": "deepseek_v4",
        "vocab_size": vocab, "hidden_size": 256, "num_hidden_layers": 6, "num_attention_heads": 4,
        "num_key_value_heads": 1, "head_dim": 256, "qk_rope_head_dim": 64, "q_lora_rank": 256,
        "o_groups": 2, "o_lora_rank": 128, "sliding_window": 128, "compress_ratios": ratios,
        "compress_rope_theta": 160000.0, "rope_theta": 10000.0,
        "rope_scaling": {"type": "yarn", "factor": 16.0, "original_max_position_embeddings": 65536,
                         "beta_fast": 32.0, "beta_slow": 1.0},
        "max_position_embeddings": 1048576, "index_n_heads": 16, "index_head_dim": 128, "index_topk": 16,
        "n_routed_experts": 16, "num_experts_per_tok": 6, "n_shared_experts": 1, "moe_intermediate_size": 128,
        "num_hash_layers": 3, "scoring_func": "sqrtsoftplus", "topk_method": "noaux_tc", "norm_topk_prob": True,
        "routed_scaling_factor": 1.5, "swiglu_limit": 10.0, "hc_mult": 4, "hc_sinkhorn_iters": 20,
        "hc_eps": 1e-6, "rms_norm_eps": 1e-6, "hidden_act": "silu", "num_nextn_predict_layers": 1,
        "attention_bias": False, "attention_dropout": 0.0, "tie_word_embeddings": False,
        "bos_token_id": 0, "eos_token_id": 1, "initializer_range": 0.02, "use_cache": True,
        "torch_dtype": "bfloat16", "transformers_version": transformers.__version__,
        "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                "scale_fmt": "ue8m0", "weight_block_size": [128, 128]},
        "expert_dtype": "fp4",
    }


def hf_config(official):
    kw = {k: v for k, v in official.items() if k not in ("quantization_config", "architectures", "torch_dtype",
                                                           "transformers_version")}
    cfg = DeepseekV4Config(**kw)
    cfg._attn_implementation = "eager"
    return cfg


# ---- random parameters ------------------------------------------------------------------
# Every parameter gets random values (transformers initialises many to constants, which
# would hide transposes and wrong indexing). Matrices stored as FP8/FP4 in the checkpoint
# are replaced by their exactly representable dequantized values, so the exported codes
# and the model's parameters describe the same function.

FP8_LINEARS = ("q_a_proj", "q_b_proj", "self_attn.kv_proj", "o_a_proj", "o_b_proj", "indexer.q_b_proj",
               "shared_experts.gate_proj", "shared_experts.up_proj", "shared_experts.down_proj")


def is_fp8_linear(name):
    if ".compressor." in name and "q_b_proj" not in name:
        return False  # compressor/indexer wkv/wgate are bf16 used in fp32
    return any(p in name for p in FP8_LINEARS) and name.endswith(".weight")


def gain(name):
    """Gate/up projections of experts are scaled so that the ±swiglu_limit clamp really clips."""
    return 4.0 if ("gate_proj" in name or "up_proj" in name or "gate_up_proj" in name) and "experts" in name else 1.0


def randomize(model, cfg, gen):
    fp8_codes, fp4_codes = {}, {}

    def normal(shape, std, mean=0.0):
        return torch.randn(shape, generator=gen) * std + mean

    for name, p in model.named_parameters():
        shape = p.shape
        if name.endswith("embed_tokens.weight"):
            v = quant.to_bf16_values(normal(shape, 1.0))
        elif name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            v = quant.to_bf16_values(normal(shape, 0.1, 1.0))
        elif name.endswith(".fn") or name.endswith("hc_fn"):
            v = normal(shape, 1.0 / math.sqrt(shape[1]))
        elif name.endswith(".base") or name.endswith("hc_base"):
            v = normal(shape, 0.5)
        elif name.endswith(".scale") or name.endswith("hc_scale"):
            v = normal(shape, 0.25, 1.0)
        elif name.endswith("sinks"):
            v = normal(shape, 1.0)
        elif name.endswith("position_bias"):
            v = normal(shape, 0.5)
        elif name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):
            std = gain(name) / math.sqrt(shape[2])
            w = normal(shape, std)
            deq, packed, scales = [], [], []
            for e in range(shape[0]):
                pk, sc, dq = quant.encode_fp4(w[e])
                packed.append(pk)
                scales.append(sc)
                deq.append(dq)
            fp4_codes[name] = (packed, scales)
            v = torch.stack(deq)
        elif is_fp8_linear(name):
            w = normal(shape, gain(name) / math.sqrt(shape[1]))
            codes, scales, v = quant.encode_fp8(w)
            fp8_codes[name] = (codes, scales)
        elif name.endswith(".weight") and p.dim() == 2:
            # bf16 matrices used in fp32: head, router, compressor and indexer projections.
            v = quant.to_bf16_values(normal(shape, 1.0 / math.sqrt(shape[1])))
        else:
            raise RuntimeError(f"no randomisation rule for parameter {name} {tuple(shape)}")
        p.copy_(v.to(p.dtype))

    for name, b in model.named_buffers():
        if name.endswith("e_score_correction_bias"):
            b.copy_(torch.randn(b.shape, generator=gen) * 0.1)
        elif name.endswith("tid2eid"):
            rows = [torch.randperm(cfg["n_routed_experts"], generator=gen)[: cfg["num_experts_per_tok"]]
                    for _ in range(b.shape[0])]
            b.copy_(torch.stack(rows))
    return fp8_codes, fp4_codes


# ---- export in the official format --------------------------------------------------------

LEAF_RENAMES = [  # HF module names -> the reference's names (inverse of transformers' mapping)
    (".input_layernorm.", ".attn_norm."), (".post_attention_layernorm.", ".ffn_norm."),
    (".attn_hc.fn", ".hc_attn_fn"), (".attn_hc.base", ".hc_attn_base"), (".attn_hc.scale", ".hc_attn_scale"),
    (".ffn_hc.fn", ".hc_ffn_fn"), (".ffn_hc.base", ".hc_ffn_base"), (".ffn_hc.scale", ".hc_ffn_scale"),
    (".self_attn.sinks", ".attn.attn_sink"),
    (".self_attn.compressor.indexer.scorer.weights_proj.", ".attn.indexer.weights_proj."),
    (".self_attn.compressor.indexer.q_b_proj.", ".attn.indexer.wq_b."),
    (".self_attn.compressor.indexer.kv_proj.", ".attn.indexer.compressor.wkv."),
    (".self_attn.compressor.indexer.gate_proj.", ".attn.indexer.compressor.wgate."),
    (".self_attn.compressor.indexer.position_bias", ".attn.indexer.compressor.ape"),
    (".self_attn.compressor.indexer.kv_norm.", ".attn.indexer.compressor.norm."),
    (".self_attn.compressor.kv_proj.", ".attn.compressor.wkv."),
    (".self_attn.compressor.gate_proj.", ".attn.compressor.wgate."),
    (".self_attn.compressor.position_bias", ".attn.compressor.ape"),
    (".self_attn.compressor.kv_norm.", ".attn.compressor.norm."),
    (".self_attn.q_a_proj.", ".attn.wq_a."), (".self_attn.q_a_norm.", ".attn.q_norm."),
    (".self_attn.q_b_proj.", ".attn.wq_b."), (".self_attn.kv_proj.", ".attn.wkv."),
    (".self_attn.kv_norm.", ".attn.kv_norm."), (".self_attn.o_a_proj.", ".attn.wo_a."),
    (".self_attn.o_b_proj.", ".attn.wo_b."),
    (".mlp.gate.e_score_correction_bias", ".ffn.gate.bias"), (".mlp.gate.tid2eid", ".ffn.gate.tid2eid"),
    (".mlp.gate.weight", ".ffn.gate.weight"),
    (".mlp.shared_experts.gate_proj.", ".ffn.shared_experts.w1."),
    (".mlp.shared_experts.up_proj.", ".ffn.shared_experts.w3."),
    (".mlp.shared_experts.down_proj.", ".ffn.shared_experts.w2."),
]
GLOBAL_RENAMES = {"model.embed_tokens.weight": "embed.weight", "lm_head.weight": "head.weight",
                  "model.norm.weight": "norm.weight", "model.hc_head.hc_fn": "hc_head_fn",
                  "model.hc_head.hc_base": "hc_head_base", "model.hc_head.hc_scale": "hc_head_scale"}


def official_name(hf_name):
    if hf_name in GLOBAL_RENAMES:
        return GLOBAL_RENAMES[hf_name]
    assert hf_name.startswith("model.layers."), hf_name
    name = hf_name[len("model."):]
    for a, b in LEAF_RENAMES:
        if a in name:
            return name.replace(a, b)
    raise RuntimeError(f"no official name for {hf_name}")


def export_tensors(model, fp8_codes, fp4_codes, cfg):
    out = {}
    inter = cfg["moe_intermediate_size"]
    state = dict(model.named_parameters())
    state.update(dict(model.named_buffers()))
    for name, t in state.items():
        if "rotary_emb" in name:
            continue
        if name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):
            packed, scales = fp4_codes[name]
            base = official_name(name.replace(".mlp.experts.gate_up_proj", ".mlp.gate.weight")
                                 .replace(".mlp.experts.down_proj", ".mlp.gate.weight")).replace(".ffn.gate.weight", ".ffn.experts.")
            for e in range(len(packed)):
                if name.endswith("gate_up_proj"):
                    # gate_up_proj rows [0, inter) are w1 (gate), [inter, 2·inter) are w3 (up).
                    out[f"{base}{e}.w1.weight"] = packed[e][:inter].contiguous()
                    out[f"{base}{e}.w1.scale"] = scales[e][:inter].contiguous().view(torch.float8_e8m0fnu)
                    out[f"{base}{e}.w3.weight"] = packed[e][inter:].contiguous()
                    out[f"{base}{e}.w3.scale"] = scales[e][inter:].contiguous().view(torch.float8_e8m0fnu)
                else:
                    out[f"{base}{e}.w2.weight"] = packed[e]
                    out[f"{base}{e}.w2.scale"] = scales[e].view(torch.float8_e8m0fnu)
            continue
        oname = official_name(name)
        if name in fp8_codes:
            codes, scales = fp8_codes[name]
            out[oname] = codes
            out[oname.replace(".weight", ".scale")] = scales.view(torch.float8_e8m0fnu)
        elif name.endswith("tid2eid"):
            out[oname] = t.to(torch.int64).contiguous()
        elif t.dtype == torch.float32 and (oname.endswith("weight") and not oname.startswith("hc")):
            out[oname] = t.to(torch.bfloat16).contiguous()  # exact: values were rounded to bf16
        else:
            out[oname] = t.to(torch.float32).contiguous()
    return out


# ---- the MTP block (not part of transformers' model) ---------------------------------------

def make_mtp(cfg, gen):
    """Random MTP tensors in the official format, and their values as float64 arrays."""
    d, inter, ne = cfg["hidden_size"], cfg["moe_intermediate_size"], cfg["n_routed_experts"]
    hd, h, ol, og = cfg["head_dim"], cfg["num_attention_heads"], cfg["o_lora_rank"], cfg["o_groups"]
    mix, hc = (2 + cfg["hc_mult"]) * cfg["hc_mult"], cfg["hc_mult"]
    p = "mtp.0."
    out, vals = {}, {}

    def randn(shape, std, mean=0.0):
        return torch.randn(shape, generator=gen) * std + mean

    def fp8(name, rows, cols, g=1.0):
        codes, scales, deq = quant.encode_fp8(randn((rows, cols), g / math.sqrt(cols)))
        out[p + name + ".weight"] = codes
        out[p + name + ".scale"] = scales.view(torch.float8_e8m0fnu)
        vals[name] = deq.double().numpy()

    def bf16(name, shape, std, mean=0.0):
        v = quant.to_bf16_values(randn(shape, std, mean))
        out[p + name] = v.to(torch.bfloat16)
        vals[name] = v.double().numpy()

    def f32(name, shape, std, mean=0.0):
        v = randn(shape, std, mean)
        out[p + name] = v.contiguous()
        vals[name] = v.double().numpy()

    for n in ("enorm.weight", "hnorm.weight", "norm.weight", "attn_norm.weight", "ffn_norm.weight"):
        bf16(n, (d,), 0.1, 1.0)
    fp8("e_proj", d, d)
    fp8("h_proj", d, d)
    for site, rows in (("hc_attn", mix), ("hc_ffn", mix), ("hc_head", hc)):
        f32(site + "_fn", (rows, hc * d), 1.0 / math.sqrt(hc * d))
        f32(site + "_base", (rows,), 0.5)
        f32(site + "_scale", (3 if site != "hc_head" else 1,), 0.25, 1.0)
    f32("attn.attn_sink", (h,), 1.0)
    fp8("attn.wq_a", cfg["q_lora_rank"], d)
    bf16("attn.q_norm.weight", (cfg["q_lora_rank"],), 0.1, 1.0)
    fp8("attn.wq_b", h * hd, cfg["q_lora_rank"])
    fp8("attn.wkv", hd, d)
    bf16("attn.kv_norm.weight", (hd,), 0.1, 1.0)
    fp8("attn.wo_a", og * ol, h * hd // og)
    fp8("attn.wo_b", d, og * ol)
    bf16("ffn.gate.weight", (ne, d), 1.0 / math.sqrt(d))
    f32("ffn.gate.bias", (ne,), 0.1)
    fp8("ffn.shared_experts.w1", inter, d, 4.0)
    fp8("ffn.shared_experts.w3", inter, d, 4.0)
    fp8("ffn.shared_experts.w2", d, inter)
    for e in range(ne):
        for w, rows, cols, g in (("w1", inter, d, 4.0), ("w3", inter, d, 4.0), ("w2", d, inter, 1.0)):
            packed, scales, deq = quant.encode_fp4(randn((rows, cols), g / math.sqrt(cols)))
            out[f"{p}ffn.experts.{e}.{w}.weight"] = packed
            out[f"{p}ffn.experts.{e}.{w}.scale"] = scales.view(torch.float8_e8m0fnu)
            vals[f"ffn.experts.{e}.{w}"] = deq.double().numpy()
    return out, vals


def write_checkpoint(out_dir, tensors, cfg, n_shards=2):
    """Shards sorted tensor names into n_shards files plus model.safetensors.index.json."""
    os.makedirs(out_dir, exist_ok=True)
    names = sorted(tensors)
    per = (len(names) + n_shards - 1) // n_shards
    weight_map, total = {}, 0
    for s in range(n_shards):
        fname = f"model-{s + 1:05d}-of-{n_shards:05d}.safetensors"
        part = {n: tensors[n].contiguous() for n in names[s * per:(s + 1) * per]}
        save_file(part, os.path.join(out_dir, fname), metadata={"format": "pt"})
        for n, t in part.items():
            weight_map[n] = fname
            total += t.numel() * t.element_size()
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


# ---- running the reference ---------------------------------------------------------------

class Probes:
    """Forward hooks: the final streams before hc_head, indexer score margins, clamp hits."""

    def __init__(self, model, cfg):
        self.hidden = None
        self.min_margin = math.inf
        self.clipped = 0
        self.gate_values = 0
        k = cfg["index_topk"]

        def capture_hidden(_m, args):
            self.hidden = args[0][0].detach().clone()

        def capture_scores(_m, _args, scores):
            # The gap between the k-th and (k+1)-th visible score, relative to the row's
            # largest |score| (the scale of the rounding error of any implementation).
            s = scores[0].detach().double()  # [S, T]
            for t in range(s.shape[0]):
                vis = (t + 1) // 4
                if vis <= k:
                    continue
                row = s[t, :vis]
                top = torch.topk(row, k + 1).values
                gap = (top[k - 1] - top[k]).item() / max(row.abs().max().item(), 1e-30)
                self.min_margin = min(self.min_margin, gap)

        def capture_gate(_m, args, _out):
            x = args[0]
            for e in range(_m.num_experts):
                g = torch.nn.functional.linear(x, _m.gate_up_proj[e])[:, : _m.intermediate_dim]
                self.clipped += int((g > _m.limit).sum())
                self.gate_values += g.numel()

        model.model.hc_head.register_forward_pre_hook(capture_hidden)
        for layer in model.model.layers:
            comp = layer.self_attn.compressor
            if comp is not None and hasattr(comp, "indexer"):
                comp.indexer.scorer.register_forward_hook(capture_scores)
            layer.mlp.experts.register_forward_hook(capture_gate)


def reload_and_check(out_dir, model):
    model2, info = DeepseekV4ForCausalLM.from_pretrained(out_dir, output_loading_info=True, dtype=torch.float32)
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(key):
            raise SystemExit(f"reloading the export: {key} = {sorted(info[key])[:10]}")
    p1, p2 = dict(model.named_parameters()), dict(model2.named_parameters())
    assert set(p1) == set(p2), set(p1) ^ set(p2)
    for n in p1:
        if not torch.equal(p1[n].float(), p2[n].float()):
            diff = (p1[n].float() - p2[n].float()).abs().max().item()
            raise SystemExit(f"parameter {n} changed through export/reload (max abs diff {diff})")
    for (n, b1), (_, b2) in zip(model.named_buffers(), model2.named_buffers()):
        if ("tid2eid" in n or "bias" in n) and not torch.equal(b1, b2):
            raise SystemExit(f"buffer {n} changed through export/reload")
    model2.config._attn_implementation = "eager"
    return model2.float().eval()


def write_array(path, a):
    a = np.ascontiguousarray(a)
    with open(path, "wb") as f:
        f.write(a.tobytes())


def build(cfg, seed):
    """The randomised transformers model of `seed` and its official-format tensors."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = DeepseekV4ForCausalLM(hf_config(cfg)).float().eval()
    fp8_codes, fp4_codes = randomize(model, cfg, gen)
    tensors = export_tensors(model, fp8_codes, fp4_codes, cfg)
    mtp_tensors, mtp_vals = make_mtp(cfg, gen)
    tensors.update(mtp_tensors)
    return model, tensors, mtp_vals


def sequences(seed, vocab):
    gen = torch.Generator().manual_seed(seed + 1)
    return [torch.randint(0, vocab, (n,), generator=gen) for n in SEQ_LENGTHS]


def indexer_margin(cfg, seed):
    """Smallest indexer selection margin of a seed over all fixture sequences."""
    model, _, _ = build(cfg, seed)
    probes = Probes(model, cfg)
    for tokens in sequences(seed, cfg["vocab_size"]):
        model(tokens[None], use_cache=False)
    return probes.min_margin


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../tests/data/parity"))
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--vocab", type=int, default=512)
    # Over the ~10,400 indexer selections of the fixtures about a dozen gaps per seed fall
    # below 1e-5 and one or two below 1e-6 (measured), so no seed clears 1e-5; dsv4's fp32
    # mode reproduces the logits to ~1e-6 relative, and 2.5e-6 keeps every selection clear.
    ap.add_argument("--min-margin", type=float, default=2.5e-6,
                    help="reject seeds whose indexer k-th and (k+1)-th scores are closer than this, relative "
                         "to the row's largest |score|")
    ap.add_argument("--tries", type=int, default=40, help="seeds to try (seed, seed+2, ...) before giving up")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    cfg = tiny_config(args.vocab)

    # A near-tie at the indexer's k-th score lets rounding decide which row is attended;
    # reseed until every selection of every fixture sequence has a clear margin.
    seed = args.seed
    for attempt in range(args.tries):
        margin = indexer_margin(cfg, seed)
        print(f"seed {seed}: indexer margin {margin:.3e}")
        if margin >= args.min_margin:
            break
        seed += 2
    else:
        raise SystemExit(f"no seed with an indexer margin >= {args.min_margin:.0e} in {args.tries} tries")

    model, tensors, mtp_vals = build(cfg, seed)
    model_dir = os.path.join(out, "model")
    write_checkpoint(model_dir, tensors, cfg)
    print(f"exported {len(tensors)} tensors to {model_dir}")

    ref = reload_and_check(model_dir, model)
    probes = Probes(ref, cfg)
    manifest = {"seed": seed, "vocab": args.vocab, "sequences": [],
                "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                             "numpy": np.__version__}}
    for i, tokens in enumerate(sequences(seed, args.vocab)):
        n = len(tokens)
        logits = ref(tokens[None], use_cache=False).logits[0].float().numpy()
        write_array(os.path.join(out, f"seq{i}.tokens.i32"), tokens.numpy().astype(np.int32))
        write_array(os.path.join(out, f"seq{i}.logits.f32"), logits.astype(np.float32))
        manifest["sequences"].append({"name": f"seq{i}", "length": n})
        print(f"seq{i}: {n} tokens, logits rms {np.sqrt((logits ** 2).mean()):.4f}")
        if i == MTP_SEQ:
            X = probes.hidden.double().numpy()              # [S, hc, d] final streams
            nxt = np.concatenate([tokens.numpy()[1:], [0]]).astype(np.int64)
            X, nxt = X[:-1], nxt[:-1]                       # pairs (X_i, x_{i+1})
            embed = ref.model.embed_tokens.weight.double().numpy()
            head = ref.lm_head.weight.double().numpy()
            mtp = mtp_numpy.mtp_logits(X, nxt, mtp_vals, embed, head, cfg)
            write_array(os.path.join(out, "mtp.hidden.f32"), X.astype(np.float32))
            write_array(os.path.join(out, "mtp.next_tokens.i32"), nxt.astype(np.int32))
            write_array(os.path.join(out, "mtp.logits.f32"), mtp.astype(np.float32))
            manifest["mtp"] = {"sequence": f"seq{i}", "length": int(len(nxt))}
    manifest["indexer_min_relative_margin"] = probes.min_margin
    manifest["swiglu_gate_clipped_fraction"] = probes.clipped / max(1, probes.gate_values)
    print(f"indexer: smallest selection margin {probes.min_margin:.3e}")
    print(f"SwiGLU: {100.0 * manifest['swiglu_gate_clipped_fraction']:.2f}% of routed gate values clipped")
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()

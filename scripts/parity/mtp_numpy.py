"""A small float64 NumPy implementation of the DeepSeek-V4 MTP block (spec §2.7).

Written from the spec, independently of dsv4's C++ and of transformers (which has no MTP):
  e = RMSNorm(embed[x_{i+1}], enorm); X̂_j = RMSNorm(X_{i,j}, hnorm) per stream;
  S_j = e_proj·e + h_proj·X̂_j; one ratio-0 block (hyper-connections with Sinkhorn,
  sliding-window attention with the sink, RoPE base rope_theta without YaRN, inverse RoPE,
  grouped output projection; score-routed MoE with the selection bias, clamped SwiGLU on
  routed and shared experts); then hc_head with the MTP's own parameters, the MTP norm,
  and the shared head. No quantization simulation (fp32/fp64 comparison mode).

Rotation angles are fp32 products fp32(pos)·f_k of fp32 frequencies, as the reference
builds them; everything else is float64.
"""
import numpy as np


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def rope_angles(positions, rope_dim, base):
    k = np.arange(rope_dim // 2, dtype=np.float32)
    freqs = (np.float32(1.0) / np.power(np.float32(base), (np.float32(2.0) * k) / np.float32(rope_dim))).astype(np.float32)
    ang = (positions.astype(np.float32)[:, None] * freqs[None, :]).astype(np.float32)
    return np.cos(ang.astype(np.float64)), np.sin(ang.astype(np.float64))


def rope(x, cos, sin, inverse=False):
    """Interleaved rotation of the trailing 2·n_freq dims of x [S, ..., D] by per-row angles."""
    n = cos.shape[1]
    r = x[..., -2 * n:].copy()
    a, b = r[..., 0::2], r[..., 1::2]
    shape = (cos.shape[0],) + (1,) * (x.ndim - 2) + (n,)
    c, s = cos.reshape(shape), sin.reshape(shape)
    if inverse:
        s = -s
    out = x.copy()
    out[..., -2 * n::2] = a * c - b * s
    out[..., -2 * n + 1::2] = a * s + b * c
    return out


def hc_pre(X, fn, scale, base, eps, hc_eps, iters):
    S, hc, d = X.shape
    v = X.reshape(S, hc * d)
    r = 1.0 / np.sqrt(np.mean(v * v, axis=-1) + eps)
    m = (v @ fn.T) * r[:, None]
    pre = sigmoid(m[:, :hc] * scale[0] + base[:hc]) + hc_eps
    post = 2.0 * sigmoid(m[:, hc:2 * hc] * scale[1] + base[hc:2 * hc])
    C = (m[:, 2 * hc:] * scale[2] + base[2 * hc:]).reshape(S, hc, hc)
    C = np.exp(C - C.max(axis=2, keepdims=True))
    C = C / C.sum(axis=2, keepdims=True) + hc_eps
    C = C / (C.sum(axis=1, keepdims=True) + hc_eps)   # columns: sum over the row index a
    for _ in range(iters - 1):
        C = C / (C.sum(axis=2, keepdims=True) + hc_eps)
        C = C / (C.sum(axis=1, keepdims=True) + hc_eps)
    y = (pre[:, :, None] * X).sum(axis=1)
    return y, post, C


def hc_post(o, X, post, C):
    # New stream b = post_b·o + Σ_a C[a][b]·X_a.
    return post[:, :, None] * o[:, None, :] + np.einsum("sab,sad->sbd", C, X)


def attention(x, w, cfg, positions):
    S = x.shape[0]
    H, hd, rd = cfg["num_attention_heads"], cfg["head_dim"], cfg["qk_rope_head_dim"]
    eps, win = cfg["rms_norm_eps"], cfg["sliding_window"]
    cos, sin = rope_angles(positions, rd, cfg["rope_theta"])
    qr = rmsnorm(x @ w["attn.wq_a"].T, w["attn.q_norm.weight"], eps)
    q = (qr @ w["attn.wq_b"].T).reshape(S, H, hd)
    q = q / np.sqrt(np.mean(q * q, axis=-1, keepdims=True) + eps)
    q = rope(q, cos, sin)
    kv = rope(rmsnorm(x @ w["attn.wkv"].T, w["attn.kv_norm.weight"], eps), cos, sin)
    sink = w["attn.attn_sink"]
    o = np.zeros((S, H, hd))
    scale = hd ** -0.5
    for i in range(S):
        keys = kv[max(0, i - win + 1):i + 1]                 # the raw window, this token included
        logits = scale * (q[i] @ keys.T)                       # [H, n]
        m = logits.max(axis=1, keepdims=True)
        p = np.exp(logits - m)
        o[i] = (p @ keys) / (p.sum(axis=1, keepdims=True) + np.exp(sink[:, None] - m))
    o = rope(o, cos, sin, inverse=True).reshape(S, H * hd)
    g, ol = cfg["o_groups"], cfg["o_lora_rank"]
    gw = H * hd // g
    z = np.concatenate([o[:, k * gw:(k + 1) * gw] @ w["attn.wo_a"][k * ol:(k + 1) * ol].T for k in range(g)], axis=1)
    return z @ w["attn.wo_b"].T


def swiglu(x, w1, w3, w2, limit, weight=1.0):
    g = np.minimum(x @ w1.T, limit)
    u = np.clip(x @ w3.T, -limit, limit)
    return ((g / (1.0 + np.exp(-g))) * u * weight) @ w2.T


def moe(x, w, cfg):
    logits = x @ w["ffn.gate.weight"].T
    s = np.sqrt(np.where(logits > 20.0, logits, np.log1p(np.exp(np.minimum(logits, 20.0)))))
    k, limit = cfg["num_experts_per_tok"], cfg["swiglu_limit"]
    out = np.zeros_like(x)
    for t in range(x.shape[0]):
        key = s[t] + w["ffn.gate.bias"]
        sel = np.argsort(-key, kind="stable")[:k]
        weights = s[t, sel] / s[t, sel].sum() * cfg["routed_scaling_factor"]
        for e, wt in zip(sel, weights):
            out[t] += swiglu(x[t:t + 1], w[f"ffn.experts.{e}.w1"], w[f"ffn.experts.{e}.w3"],
                             w[f"ffn.experts.{e}.w2"], limit, wt)[0]
    return out + swiglu(x, w["ffn.shared_experts.w1"], w["ffn.shared_experts.w3"], w["ffn.shared_experts.w2"], limit)


def mtp_logits(X, next_tokens, w, embed, head, cfg):
    """X [S, hc, d] main-model final streams, next_tokens [S] -> logits [S, vocab]."""
    eps, hc_eps, it = cfg["rms_norm_eps"], cfg["hc_eps"], cfg["hc_sinkhorn_iters"]
    positions = np.arange(X.shape[0])
    e = rmsnorm(embed[next_tokens], w["enorm.weight"], eps)
    Xh = rmsnorm(X, w["hnorm.weight"], eps)
    S = (e @ w["e_proj"].T)[:, None, :] + Xh @ w["h_proj"].T
    y, post, C = hc_pre(S, w["hc_attn_fn"], w["hc_attn_scale"], w["hc_attn_base"], eps, hc_eps, it)
    S = hc_post(attention(rmsnorm(y, w["attn_norm.weight"], eps), w, cfg, positions), S, post, C)
    y, post, C = hc_pre(S, w["hc_ffn_fn"], w["hc_ffn_scale"], w["hc_ffn_base"], eps, hc_eps, it)
    S = hc_post(moe(rmsnorm(y, w["ffn_norm.weight"], eps), w, cfg), S, post, C)
    v = S.reshape(S.shape[0], -1)
    r = 1.0 / np.sqrt(np.mean(v * v, axis=-1) + eps)
    pre = sigmoid((v @ w["hc_head_fn"].T) * r[:, None] * w["hc_head_scale"][0] + w["hc_head_base"]) + hc_eps
    y = rmsnorm((pre[:, :, None] * S).sum(axis=1), w["norm.weight"], eps)
    return y @ head.T

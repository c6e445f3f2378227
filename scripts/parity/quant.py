"""Weight encodings of the official DeepSeek-V4 checkpoint, written with PyTorch dtypes.

FP8: e4m3fn values with one E8M0 (power-of-two) scale per 128x128 block.
FP4: e2m1 values packed two per byte (low nibble = even column) with one E8M0 scale per
1x32 block along the input dimension.
Scales follow the reference's power-of-two rule: s = 2^ceil(log2(amax * fp32(1/max))),
the ceil taken from the fp32 bit pattern (spec §2.1).
"""
import numpy as np
import torch

E2M1_GRID = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0], dtype=np.float64)


def pow2_exponent(amax, floor, inv_max):
    """ceil(log2(max(amax, floor) * inv_max)) from the fp32 bit pattern, elementwise."""
    a = np.maximum(np.asarray(amax, dtype=np.float32), np.float32(floor))
    t = (a * np.float32(inv_max)).astype(np.float32)
    bits = t.view(np.uint32)
    exp = ((bits >> 23) & 0xFF).astype(np.int64) - 127
    return exp + ((bits & 0x7FFFFF) != 0).astype(np.int64)


def encode_fp8(w):
    """w: float32 [n, k] (n, k multiples of 128) -> (codes float8_e4m3fn [n,k], e8m0 bytes [n/128,k/128], dequant)."""
    n, k = w.shape
    blocks = w.reshape(n // 128, 128, k // 128, 128)
    amax = blocks.abs().amax(dim=(1, 3)).numpy()
    e = pow2_exponent(amax, 1e-4, 1.0 / 448.0)
    s = torch.from_numpy(np.ldexp(1.0, e).astype(np.float32))
    scaled = (blocks / s[:, None, :, None]).clamp(-448.0, 448.0)
    codes = scaled.to(torch.float8_e4m3fn)
    deq = (codes.to(torch.float32) * s[:, None, :, None]).reshape(n, k)
    return codes.reshape(n, k), torch.from_numpy((e + 127).astype(np.uint8)), deq


def _e2m1_codes(x):
    """Round-to-nearest-even e2m1 codes of float64 values already within [-6, 6]."""
    mag = np.abs(x)
    dist = np.abs(mag[..., None] - E2M1_GRID)
    best = dist.min(axis=-1, keepdims=True)
    ties = np.isclose(dist, best, rtol=0, atol=0)
    # Among equally near grid points prefer the even code (ties to even).
    idx = np.where(ties.sum(-1) > 1, np.argmax(ties & (np.arange(8) % 2 == 0), axis=-1), np.argmin(dist, axis=-1))
    sign = (np.signbit(x)).astype(np.uint8) << 3
    return idx.astype(np.uint8) | sign


def encode_fp4(w):
    """w: float32 [n, k] -> (packed int8 [n, k/2], e8m0 bytes [n, k/32], dequant float32 [n, k])."""
    n, k = w.shape
    wb = w.numpy().astype(np.float32).reshape(n, k // 32, 32)
    amax = np.abs(wb).max(axis=-1)
    e = pow2_exponent(amax, 6.0 * 2.0 ** -126, 1.0 / 6.0)
    s = np.ldexp(1.0, e).astype(np.float32)
    scaled = np.clip(wb.astype(np.float64) / s[..., None], -6.0, 6.0)
    codes = _e2m1_codes(scaled).reshape(n, k)
    mags = E2M1_GRID[codes & 7] * np.where(codes & 8, -1.0, 1.0)
    deq = (mags.reshape(n, k // 32, 32) * s[..., None]).reshape(n, k).astype(np.float32)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8).view(np.int8)
    return torch.from_numpy(packed.copy()), torch.from_numpy((e + 127).astype(np.uint8)), torch.from_numpy(deq)


def to_bf16_values(w):
    """Round float32 values to the nearest bf16 (kept as float32)."""
    return w.to(torch.bfloat16).to(torch.float32)

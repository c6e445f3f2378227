#!/usr/bin/env python3
"""Writes the codec fixtures of tests/kernels/test_codec_fixtures.cpp with ml_dtypes.

Rung 2 of the testing ladder (DESIGN.md §5): dsv4k's number formats (kernels/include/dsv4k/
numeric.h) and quantizers (kernels/ref/quant_ref.cpp) are compared with an independent
implementation, the casts of ml_dtypes 0.6.0 on top of numpy, never with dsv4k itself.
Every file is a plain .npy array (little-endian, C order) in tests/data/codecs/:

  e4m3_decode.npy          uint32[256]   fp32 bit pattern of float8_e4m3fn code c, c = 0..255
  e4m3_encode_in.npy       float32[N]    inputs: exact codes, every midpoint between adjacent
                                         codes and the next float on either side, the
                                         subnormal range, log-uniform values over 2^-24..2^20,
                                         values past 448 and +-inf
  e4m3_encode_code.npy     uint8[N]      float8_e4m3fn(clip(x, -448, 448)): the spec clamps
                                         before the cast (ml_dtypes alone turns values past
                                         464 into NaN instead of saturating)
  e2m1_decode.npy          uint32[16]    fp32 bit pattern of float4_e2m1fn code c, c = 0..15
  e2m1_encode_in.npy       float32[N]    likewise for the e2m1 grid (incl. tiny negatives
                                         whose rounding to zero keeps the sign)
  e2m1_encode_code.npy     uint8[N]      float4_e2m1fn(clip(x, -6, 6))
  e8m0_decode.npy          uint32[256]   fp32 bit pattern of float8_e8m0fnu byte e
  scale_e4m3_amax.npy      float32[N]    block amax values (many magnitudes, powers of two,
  scale_e4m3_exp.npy       int32[N]      448·2^k and their neighbours, values under the floor)
  scale_e2m1_amax.npy      float32[N]    and the exponent of the power-of-two scale
  scale_e2m1_exp.npy       int32[N]      (spec §2.1, see pow2_exponent below)
  block_e4m3_b128_x.npy    float32[R, C] rows to quantize; block sizes 128 and 64 (e4m3) and
  block_e4m3_b128_exp.npy  int32[R, C/B] 32 (e2m1); each row's blocks have different
  block_e4m3_b128_code.npy uint8[R, C]   magnitudes and include an all-zero block, a block
  block_e4m3_b128_deq.npy  float32[R, C] under the amax floor and blocks whose amax is exactly
  (and _b64_, block_e2m1_b32_ likewise)  max·2^k. deq = float(code)·2^exp.
  hadamard_x.npy           float32[V, 128]  inputs (unit vectors, then random vectors)
  hadamard_y.npy           float64[V, 128]  H·x/sqrt(128) with an explicit Sylvester matrix in
                                            float64 (H[i][j] = (-1)^popcount(i & j))

The C++ test requires bit-exact agreement for codes, decodes and exponents and a stated
tolerance for the Hadamard transform. If dsv4k disagrees, the fixture is not edited to match:
the spec's semantics decide.

Run from the repository root:  .venv/bin/python scripts/gen_codec_fixtures.py
Needs numpy and ml_dtypes (both in the project venv). The output is deterministic (fixed seed);
rerunning it must leave `git status` clean.
"""

import os

import ml_dtypes
import numpy as np

OUT_DIR = os.path.join("tests", "data", "codecs")
SEED = 20260522

E4M3 = ml_dtypes.float8_e4m3fn
E2M1 = ml_dtypes.float4_e2m1fn
E8M0 = ml_dtypes.float8_e8m0fnu

F32 = np.float32
E4M3_MAX = F32(448.0)
E2M1_MAX = F32(6.0)
# fp32 constants of spec §2.1: inv_max is the fp32 rounding of 1/max, the amax floors are
# 1e-4 (FP8) and 6·2^-126 (FP4, the smallest amax whose amax/6 is a normal fp32 number).
E4M3_INV_MAX = F32(1.0) / E4M3_MAX
E2M1_INV_MAX = F32(1.0) / E2M1_MAX
E4M3_AMAX_FLOOR = F32(1e-4)
E2M1_AMAX_FLOOR = F32(6.0) * F32(2.0**-126)


def save(name, array):
    path = os.path.join(OUT_DIR, name)
    # allow_pickle=False keeps the files plain .npy (version 1.0, fixed header, raw data).
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)


def bits(values_f32):
    return np.asarray(values_f32, dtype=F32).view(np.uint32)


def neighbours(values_f32):
    """Each value with the next fp32 value towards -inf and +inf."""
    v = np.asarray(values_f32, dtype=F32)
    with np.errstate(over="ignore"):  # the float after FLT_MAX is +inf, a wanted input
        return np.concatenate([v, np.nextafter(v, F32(-np.inf)), np.nextafter(v, F32(np.inf))])


def with_both_signs(values_f32):
    v = np.asarray(values_f32, dtype=F32)
    return np.concatenate([v, -v])


def log_uniform(rng, n, lo_exp, hi_exp):
    """n positive fp32 values with log2 uniform over [lo_exp, hi_exp)."""
    return np.exp2(rng.uniform(lo_exp, hi_exp, n)).astype(F32)


def grid_magnitudes(dtype, n_codes):
    """The non-negative, non-NaN values of a format, ascending, from its codes."""
    codes = np.arange(n_codes, dtype=np.uint8).view(dtype).astype(F32)
    mags = np.unique(np.abs(codes[np.isfinite(codes)]))
    return mags.astype(F32)


def midpoints(mags):
    """Midpoints between adjacent grid values (exact in fp32: they need one more bit)."""
    return ((mags[:-1].astype(np.float64) + mags[1:].astype(np.float64)) / 2).astype(F32)


# ---- e4m3 ---------------------------------------------------------------------------


def e4m3_encode_expected(x):
    # The spec's saturating cast: clamp to the finite range first, then round to nearest
    # even in ml_dtypes. np.clip keeps -0.0 and maps +-inf to +-448.
    return np.clip(x, -E4M3_MAX, E4M3_MAX).astype(E4M3).view(np.uint8)


def e4m3_inputs(rng):
    mags = grid_magnitudes(E4M3, 256)  # 0, 2^-9, ..., 448
    assert mags[-1] == 448.0 and len(mags) == 127
    special = [
        mags,
        # Every midpoint (ties) and the values just below/above it.
        neighbours(midpoints(mags)),
        # Past the top: 448 < x < 464 rounds to 448 anyway; 464 is the tie with the
        # (non-existent) 480; larger values only saturate through the clamp.
        neighbours(np.array([464.0, 480.0, 500.0, 1000.0, 65504.0, 1e30, 3.4028235e38], dtype=F32)),
        np.array([np.inf], dtype=F32),
        # The subnormal range [0, 2^-6) with step 2^-9, densely, and the values under half
        # of the smallest subnormal, which become (signed) zero.
        rng.uniform(0.0, 2.0**-6, 2000).astype(F32),
        log_uniform(rng, 300, -40, -9),
        np.array([1e-45, 2.0**-126, 2.0**-10], dtype=F32),
        # Many magnitudes, most of them inside the normal range.
        log_uniform(rng, 6000, -24, 20),
        log_uniform(rng, 2000, -6, 9),
    ]
    x = with_both_signs(np.concatenate(special))
    return x


# ---- e2m1 ---------------------------------------------------------------------------


def e2m1_encode_expected(x):
    return np.clip(x, -E2M1_MAX, E2M1_MAX).astype(E2M1).view(np.uint8)


def e2m1_inputs(rng):
    mags = grid_magnitudes(E2M1, 16)  # 0, .5, 1, 1.5, 2, 3, 4, 6
    assert list(mags) == [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    special = [
        mags,
        # Ties 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5 and their neighbours.
        neighbours(midpoints(mags)),
        neighbours(np.array([6.0, 7.0, 8.0, 100.0, 3.4028235e38], dtype=F32)),
        np.array([np.inf], dtype=F32),
        # Below 0.25: rounds to zero; the negative half of the set checks the sign of zero.
        log_uniform(rng, 300, -40, -2),
        np.array([1e-45, 2.0**-126], dtype=F32),
        rng.uniform(0.0, 7.0, 2000).astype(F32),
        log_uniform(rng, 1000, -10, 8),
    ]
    return with_both_signs(np.concatenate(special))


# ---- the power-of-two scale rule ------------------------------------------------------


def pow2_exponent(amax, floor, inv_max):
    """Spec §2.1: s = 2^ceil(log2(max(amax, floor) · inv_max)), the product an fp32 product,
    ceil(log2(p)) taken from the fp32 bit pattern of p: exponent_field − 127 + (mantissa != 0).
    Cross-checked against a float64 log2 (exact for this purpose: p is a normal fp32 number,
    so log2 is an integer exactly when p is a power of two)."""
    a = np.maximum(np.asarray(amax, dtype=F32), floor)
    p = (a * inv_max).astype(F32)
    assert p.dtype == F32
    u = p.view(np.uint32)
    e = ((u >> 23) & 0xFF).astype(np.int32) - 127 + ((u & 0x7FFFFF) != 0).astype(np.int32)
    assert np.all((u >> 23) & 0xFF > 0), "products must be normal fp32 numbers"
    check = np.ceil(np.log2(p.astype(np.float64))).astype(np.int32)
    assert np.array_equal(e, check)
    return e


def scale_amax_inputs(rng, max_value, floor):
    k = np.arange(-30, 31, dtype=np.float64)
    special = [
        np.exp2(k).astype(F32),
        (max_value * np.exp2(k)).astype(F32),  # amax/max a power of two (up to inv_max rounding)
        np.array([floor, 0.0, 1e-30, floor / 2, 3.3895314e38], dtype=F32),
    ]
    special = [neighbours(s) for s in special[:2]] + special[2:]
    amax = np.concatenate(special + [log_uniform(rng, 3000, -40, 40)])
    return np.abs(amax).astype(F32)


# ---- whole blocks ---------------------------------------------------------------------


def block_rows(rng, n_rows, n_cols, block, max_value, floor):
    """Rows whose blocks each get their own magnitude; a few blocks are special."""
    n_blocks = n_cols // block
    x = rng.standard_normal((n_rows, n_cols)).astype(F32)
    mag = np.exp2(rng.uniform(-20, 16, (n_rows, n_blocks))).astype(F32)
    x *= np.repeat(mag, block, axis=1)
    x = x.reshape(n_rows, n_blocks, block)
    x[0, 0, :] = 0.0                                 # amax 0: the floor decides the scale
    x[0, 1, :] *= floor / np.abs(x[0, 1, :]).max() / F32(4)  # every value under the floor
    x[1, 0, :] = np.clip(x[1, 0, :], -1, 1)
    x[1, 0, 3] = max_value * F32(2.0**5)             # amax exactly max·2^k
    x[1, 1, :] = -x[1, 1, :]
    x[1, 1, 0] = -max_value                          # amax = max, negative
    # Values with bf16 precision, as the reference's activations are.
    x[2] = x[2].astype(ml_dtypes.bfloat16).astype(F32)
    return x.reshape(n_rows, n_cols).astype(F32)


def quantize_blocks(x, block, dtype, max_value, floor, inv_max):
    n_rows, n_cols = x.shape
    xb = x.reshape(n_rows, n_cols // block, block)
    amax = np.abs(xb).max(axis=2)
    e = pow2_exponent(amax, floor, inv_max)
    s = np.exp2(e.astype(np.float64)).astype(F32)
    # x / s is exact in fp32 (s is a power of two and the results stay normal or zero).
    scaled = (xb / s[:, :, None]).astype(F32)
    code = np.clip(scaled, -max_value, max_value).astype(dtype)
    deq = (code.astype(F32) * s[:, :, None]).astype(F32)
    # Q8sim/Q4sim write deq back as bf16: the spec says this is exact; make sure it is.
    assert np.array_equal(deq.astype(ml_dtypes.bfloat16).astype(F32), deq)
    return (e, code.view(np.uint8).reshape(n_rows, n_cols), deq.reshape(n_rows, n_cols))


def write_blocks(rng, stem, n_rows, n_cols, block, dtype, max_value, floor, inv_max):
    x = block_rows(rng, n_rows, n_cols, block, max_value, floor)
    e, code, deq = quantize_blocks(x, block, dtype, max_value, floor, inv_max)
    save(f"{stem}_x.npy", x)
    save(f"{stem}_exp.npy", e.astype(np.int32))
    save(f"{stem}_code.npy", code)
    save(f"{stem}_deq.npy", deq)


# ---- Hadamard -------------------------------------------------------------------------


def sylvester(n):
    """H_1 = [1]; H_2n = [[H, H], [H, -H]]: entry (i, j) is (-1)^popcount(i & j)."""
    h = np.ones((1, 1), dtype=np.float64)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def hadamard_fixture(rng):
    n = 128
    h = sylvester(n)
    i = np.arange(n)
    popcount = np.array([bin(v).count("1") for v in (i[:, None] & i[None, :]).ravel()]).reshape(n, n)
    assert np.array_equal(h, (-1.0) ** popcount)
    units = np.eye(n, dtype=F32)[[0, 1, 2, 5, 64, 127]]
    normal = rng.standard_normal((8, n)).astype(F32) * np.exp2(rng.uniform(-8, 8, (8, 1))).astype(F32)
    bf16_vals = rng.standard_normal((4, n)).astype(ml_dtypes.bfloat16).astype(F32)
    x = np.concatenate([units, normal, bf16_vals]).astype(F32)
    y = (x.astype(np.float64) @ h.T) / np.sqrt(128.0)
    return x, y


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    rng = np.random.default_rng(SEED)

    all_codes = np.arange(256, dtype=np.uint8)
    save("e4m3_decode.npy", bits(all_codes.view(E4M3).astype(F32)))
    x = e4m3_inputs(rng)
    save("e4m3_encode_in.npy", x)
    save("e4m3_encode_code.npy", e4m3_encode_expected(x))

    save("e2m1_decode.npy", bits(np.arange(16, dtype=np.uint8).view(E2M1).astype(F32)))
    x = e2m1_inputs(rng)
    save("e2m1_encode_in.npy", x)
    save("e2m1_encode_code.npy", e2m1_encode_expected(x))

    save("e8m0_decode.npy", bits(all_codes.view(E8M0).astype(F32)))

    amax = scale_amax_inputs(rng, E4M3_MAX, E4M3_AMAX_FLOOR)
    save("scale_e4m3_amax.npy", amax)
    save("scale_e4m3_exp.npy", pow2_exponent(amax, E4M3_AMAX_FLOOR, E4M3_INV_MAX))
    amax = scale_amax_inputs(rng, E2M1_MAX, E2M1_AMAX_FLOOR)
    save("scale_e2m1_amax.npy", amax)
    save("scale_e2m1_exp.npy", pow2_exponent(amax, E2M1_AMAX_FLOOR, E2M1_INV_MAX))

    write_blocks(rng, "block_e4m3_b128", 6, 512, 128, E4M3, E4M3_MAX, E4M3_AMAX_FLOOR, E4M3_INV_MAX)
    write_blocks(rng, "block_e4m3_b64", 6, 448, 64, E4M3, E4M3_MAX, E4M3_AMAX_FLOOR, E4M3_INV_MAX)
    write_blocks(rng, "block_e2m1_b32", 6, 256, 32, E2M1, E2M1_MAX, E2M1_AMAX_FLOOR, E2M1_INV_MAX)

    hx, hy = hadamard_fixture(rng)
    save("hadamard_x.npy", hx)
    save("hadamard_y.npy", hy)

    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print(f"wrote {len(os.listdir(OUT_DIR))} files, {total} bytes, to {OUT_DIR}")


if __name__ == "__main__":
    main()

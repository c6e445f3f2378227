// Scalar number formats of DeepSeek-V4 checkpoints and of its simulated quantizers.
//
//  bf16   activations travel as bf16 between ops (spec §2.1). On the CPU we keep them
//         in fp32 storage and round at exactly the points where the reference rounds,
//         which is bit-identical to storing bf16.
//  e4m3   OCP FP8 e4m3fn (bias 7, max 448, no inf; 0x7F/0xFF are NaN): FP8 weights,
//         dynamic activation quantization, and the KV-row simulation.
//  e2m1   OCP FP4 (values 0, .5, 1, 1.5, 2, 3, 4, 6 and negatives): routed experts and
//         the indexer simulation.
//  e8m0   a power-of-two scale byte, value 2^(e-127).
//
// Every encoder rounds to nearest, ties to even, and saturates (the reference clamps
// before casting). Header-only and dependency-free so that CPU references, fast CPU
// kernels and CUDA kernels share one definition.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define DSV4K_HD __host__ __device__ __forceinline__
#else
#define DSV4K_HD inline
#endif

namespace dsv4k {

// Where an op rounds its fp32 result: to bf16 (the reference's numerics) or not at all
// (the fp32 comparison mode used against independent fp32 implementations).
enum class Round : uint8_t { kNone, kBf16 };

DSV4K_HD uint32_t f32_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

DSV4K_HD float f32_from_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

// ---- bf16 -------------------------------------------------------------------------

DSV4K_HD float bf16_to_f32(uint16_t b) { return f32_from_bits(static_cast<uint32_t>(b) << 16); }

DSV4K_HD uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
  u += 0x7FFFu + ((u >> 16) & 1u);  // round to nearest even; overflow correctly becomes inf
  return static_cast<uint16_t>(u >> 16);
}

DSV4K_HD float round_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

DSV4K_HD float round_to(float f, Round r) { return r == Round::kBf16 ? round_bf16(f) : f; }

// ---- e8m0 -------------------------------------------------------------------------

// 2^(e-127); e = 255 is NaN and never appears in valid checkpoints (loaders reject it).
DSV4K_HD float e8m0_to_f32(uint8_t e) {
  if (e == 0xFF) return f32_from_bits(0x7FC00000u);
  if (e == 0) return f32_from_bits(0x00400000u);  // 2^-127 is an fp32 subnormal
  return f32_from_bits(static_cast<uint32_t>(e) << 23);
}

// ceil(log2(x)) for finite x > 0, from the fp32 bit pattern exactly as the reference
// computes it: exponent_field - 127 + (mantissa != 0). Requires a normal x.
DSV4K_HD int ceil_log2_bits(float x) {
  uint32_t u = f32_bits(x);
  int e = static_cast<int>((u >> 23) & 0xFFu) - 127;
  return e + ((u & 0x7FFFFFu) != 0u ? 1 : 0);
}

// The power-of-two scale rule of every quantizer (spec §2.1):
//   s = 2^ceil(log2(max(amax, amax_floor) * inv_max)), returned as the exponent of s.
// inv_max is the fp32 constant 1/448 (FP8) or 1/6 (FP4); the product is an fp32 product.
DSV4K_HD int pow2_scale_exponent(float amax, float amax_floor, float inv_max) {
  float a = amax > amax_floor ? amax : amax_floor;
  return ceil_log2_bits(a * inv_max);
}

constexpr float kE4M3Max = 448.0f;
constexpr float kE2M1Max = 6.0f;
constexpr float kE4M3InvMax = 1.0f / 448.0f;  // fp32-rounded, as in the reference
constexpr float kE2M1InvMax = 1.0f / 6.0f;
constexpr float kE4M3AmaxFloor = 1e-4f;
// 6 * 2^-126: the smallest amax for which amax/6 is still a normal fp32 number.
constexpr float kE2M1AmaxFloor = 6.0f * 1.17549435e-38f;

// 2^e as an fp32 value for -126 <= e <= 127.
DSV4K_HD float exp2i(int e) { return f32_from_bits(static_cast<uint32_t>(e + 127) << 23); }

// ---- e4m3 -------------------------------------------------------------------------

DSV4K_HD float e4m3_to_f32(uint8_t b) {
  const uint32_t sign = static_cast<uint32_t>(b & 0x80u) << 24;
  const uint32_t e = (b >> 3) & 0xFu;
  const uint32_t m = b & 0x7u;
  float mag;
  if (e == 0xFu && m == 0x7u) {
    return f32_from_bits(sign | 0x7FC00000u);
  } else if (e == 0) {
    mag = static_cast<float>(m) * 0.001953125f;  // m * 2^-9 (subnormal)
  } else {
    mag = f32_from_bits(((e + 120u) << 23) | (m << 20));  // rebias 7 -> 127
  }
  return f32_from_bits(f32_bits(mag) | sign);
}

// Round to nearest even, saturating to +-448 (the reference clamps first). NaN -> 0x7F.
DSV4K_HD uint8_t f32_to_e4m3(float f) {
  const uint32_t u = f32_bits(f);
  const uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80u);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0x7F;
  const float x = f32_from_bits(a);
  if (x >= 448.0f) return static_cast<uint8_t>(sign | 0x7Eu);
  if (x < 0.015625f) {  // below 2^-6: subnormal range, step 2^-9; exact scaling then RNE
    const uint32_t q = static_cast<uint32_t>(rintf(x * 512.0f));  // q <= 8; 8 encodes 2^-6
    return static_cast<uint8_t>(sign | q);
  }
  // Normal: keep 3 mantissa bits of the fp32 pattern with round-to-nearest-even.
  uint32_t r = a + 0x7FFFFu + ((a >> 20) & 1u);
  uint32_t exp = (r >> 23) - 120u;  // rebias 127 -> 7 (x >= 2^-6 so exp >= 1)
  uint32_t man = (r >> 20) & 0x7u;
  if (exp > 15u || (exp == 15u && man == 7u)) return static_cast<uint8_t>(sign | 0x7Eu);
  return static_cast<uint8_t>(sign | (exp << 3) | man);
}

// ---- e2m1 -------------------------------------------------------------------------

// Code 0..7 = 0, .5, 1, 1.5, 2, 3, 4, 6; bit 3 is the sign (8 is -0).
DSV4K_HD float e2m1_to_f32(uint8_t code) {
  const float mag[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float v = mag[code & 0x7u];
  return (code & 0x8u) ? -v : v;
}

// Round to nearest even code (2.5 -> 2, 5 -> 4, 0.25 -> 0, 0.75 -> 1), saturating to +-6.
// The sign is kept for values that round to zero (-0.1 -> code 8), as the CUDA and
// ml_dtypes conversions do. e2m1 has no NaN; like CUDA's conversion, NaN becomes +6.
DSV4K_HD uint8_t f32_to_e2m1(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7;
  const uint8_t sign = static_cast<uint8_t>((u >> 28) & 0x8u);
  const float x = f32_from_bits(u & 0x7FFFFFFFu);
  uint8_t code;
  if (x < 2.0f) {
    code = static_cast<uint8_t>(rintf(x * 2.0f));                    // 0, .5, 1, 1.5, 2 -> 0..4
  } else if (x < 4.0f) {
    code = static_cast<uint8_t>(2u + static_cast<uint32_t>(rintf(x)));  // 2, 3, 4 -> 4..6
  } else {
    const float h = rintf(x * 0.5f);                                 // 4, 6 (8 saturates)
    code = h >= 3.0f ? 7u : 6u;
  }
  return static_cast<uint8_t>(sign | code);
}

}  // namespace dsv4k

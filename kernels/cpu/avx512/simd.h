// Shared AVX-512 helpers of the optimized CPU kernels (internal header, included only by
// translation units compiled with the AVX-512 flags of sources.cmake).
//
// Everything here has internal linkage (anonymous namespace): an inline function with
// external linkage compiled with AVX-512 flags could be the COMDAT copy the linker keeps
// for portable callers. For the same reason these TUs re-implement the few scalar codecs
// they need instead of calling the inline ones of dsv4k/numeric.h.
#pragma once

#include "intrin.h"

#include <cstdint>
#include <cstring>

#include "dsv4k/numeric.h"

namespace dsv4k::cpu::avx512 {
namespace {

inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
inline int64_t ceil_div_i64(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest even bf16 (NaN stays NaN), as dsv4k::round_bf16.
inline float round_bf16_scalar(float f) {
  uint32_t u = bits_of(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return float_of((u | 0x00400000u) & 0xFFFF0000u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return float_of(u & 0xFFFF0000u);
}

inline float round_out(float f, Round r) { return r == Round::kBf16 ? round_bf16_scalar(f) : f; }

// 2^(e-127), as dsv4k::e8m0_to_f32 (e = 0 is the subnormal 2^-127, e = 255 NaN).
inline float e8m0_scalar(uint8_t e) {
  if (e == 0xFF) return float_of(0x7FC00000u);
  if (e == 0) return float_of(0x00400000u);
  return float_of(static_cast<uint32_t>(e) << 23);
}

// Sum of the 16 lanes in one fixed tree (halves, then quarters, ...). Every kernel that
// reduces an accumulator uses this one order, so results never depend on the code path.
inline float hsum(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
  const __m128 d = _mm_add_ss(c, _mm_movehdup_ps(c));
  return _mm_cvtss_f32(d);
}

inline float hmax(__m512 v) {
  const __m256 a = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 c = _mm_max_ps(b, _mm_movehl_ps(b, b));
  const __m128 d = _mm_max_ss(c, _mm_movehdup_ps(c));
  return _mm_cvtss_f32(d);
}

// Lanes [0, n) set, for 0 <= n <= 16 / 32 / 64.
inline __mmask16 mask16(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}
inline __mmask32 mask32(int64_t n) { return n >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << n) - 1u); }
inline __mmask64 mask64(int64_t n) {
  return n >= 64 ? ~__mmask64{0} : (n <= 0 ? __mmask64{0} : static_cast<__mmask64>((uint64_t{1} << n) - 1u));
}

// 2^e for a normal exponent e.
inline float exp2_int(int e) { return float_of(static_cast<uint32_t>(e + 127) << 23); }

// ceil(log2(x)) of a positive normal x from its bit pattern: the exponent, plus one when any
// mantissa bit is set (the power-of-two scale rule of the references).
inline int ceil_log2_bits(float x) {
  const uint32_t u = bits_of(x);
  return static_cast<int>((u >> 23) & 0xFFu) - 127 + ((u & 0x7FFFFFu) != 0u ? 1 : 0);
}

// f32_to_e4m3 on 16 lanes, codes in the low byte of each dword.
inline __m512i f32_to_e4m3_x16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i a = _mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF));
  const __m512i sign = _mm512_and_si512(_mm512_srli_epi32(u, 24), _mm512_set1_epi32(0x80));
  // Subnormal range (|x| < 2^-6): step 2^-9, so the code is rint(|x| · 512) (8 encodes 2^-6).
  const __m512i sub = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_castsi512_ps(a), _mm512_set1_ps(512.0f)),
                                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // Normal: keep 3 mantissa bits with round-to-nearest-even; the code is then
  // (rounded >> 20) - (120 << 3), saturated to 0x7E (also covers |x| >= 448 and inf).
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(a, 20), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(a, _mm512_add_epi32(_mm512_set1_epi32(0x7FFFF), lsb));
  __m512i normal = _mm512_sub_epi32(_mm512_srli_epi32(r, 20), _mm512_set1_epi32(120 << 3));
  normal = _mm512_min_epu32(normal, _mm512_set1_epi32(0x7E));
  const __mmask16 is_sub = _mm512_cmplt_epu32_mask(a, _mm512_set1_epi32(0x3C800000));  // 2^-6
  __m512i code = _mm512_or_si512(_mm512_mask_mov_epi32(normal, is_sub, sub), sign);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(a, _mm512_set1_epi32(0x7F800000));
  return _mm512_mask_mov_epi32(code, nan, _mm512_set1_epi32(0x7F));
}

inline __m512 dp_bf16(__m512 acc, __m512i a, __m512i b) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(b));
}

// Round each lane to bf16 (nearest even), kept in fp32 storage. NaN lanes stay NaN.
inline __m512 round_bf16_vec(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb));
  r = _mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  const __m512i quiet = _mm512_and_si512(_mm512_or_si512(u, _mm512_set1_epi32(0x00400000)),
                                         _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
  return _mm512_castsi512_ps(_mm512_mask_mov_epi32(r, nan, quiet));
}

inline __m512 round_vec(__m512 v, Round r) { return r == Round::kBf16 ? round_bf16_vec(v) : v; }

}  // namespace
}  // namespace dsv4k::cpu::avx512

// FP8 (e4m3, 128×128 E8M0 block scales) weight GEMMs: gemm_fp8_q (FP8-quantized
// activations) and gemm_fp8_f (fp32 activations, the bf16 `wo_a` product).
//
// Decode: each 64-byte half of a 128-k chunk is turned into bf16 words with two 128-entry
// byte lookups (vpermi2b ignores bit 7, so the tables are indexed by the magnitude): one
// for the high byte (sign | exponent bits), one for the low byte (exponent lsb | mantissa),
// the sign is merged with vpternlogd and vpunpck{l,h}bw interleave the bytes into words.
// Every e4m3 value, subnormals included, is a bf16 value, so the decode is exact.
//
// Numerics: per 128-k block the exact e4m3 × e4m3 (or e4m3 × bf16-piece) products are
// summed in fp32 by vdpbf16ps into t; then acc = fma(t, sx·sw, acc) with sx·sw the fp32
// product of the two power-of-two scales (sx = 1 for fp32 activations). This is the
// reference kernel's blocking (per-block partial sums promoted and scaled); only the
// order inside a block differs from the double-precision scalar reference.
#include "act_pack.h"
#include "dsv4k/cpu/avx512.h"
#include "gemm_tile.h"

namespace dsv4k::cpu::avx512 {
namespace {

using detail::ActLayout;

// bf16 bits of the e4m3 magnitude code c (sign bit clear); 0x7F is NaN.
constexpr uint16_t e4m3_magnitude_bf16(int c) {
  const int e = c >> 3, m = c & 7;
  if (c == 0x7F) return 0x7FC0;
  if (e != 0) return static_cast<uint16_t>(((e + 120) << 7) | (m << 4));
  if (m == 0) return 0;
  const int lead = m >= 4 ? 2 : (m >= 2 ? 1 : 0);  // m·2^-9 = 2^(lead-9) · (m / 2^lead)
  return static_cast<uint16_t>(((127 + lead - 9) << 7) | ((m << (7 - lead)) & 0x7F));
}

struct E4m3Tables {
  alignas(64) uint8_t hi[128];
  alignas(64) uint8_t lo[128];
};

constexpr E4m3Tables make_e4m3_tables() {
  E4m3Tables t{};
  for (int c = 0; c < 128; ++c) {
    t.hi[c] = static_cast<uint8_t>(e4m3_magnitude_bf16(c) >> 8);
    t.lo[c] = static_cast<uint8_t>(e4m3_magnitude_bf16(c) & 0xFF);
  }
  return t;
}

constexpr E4m3Tables kE4m3 = make_e4m3_tables();

// 64 e4m3 bytes -> 2 zmm of bf16 in the kFp8 lane layout.
inline void decode_half(__m512i b, __m512i& lo_words, __m512i& hi_words) {
  const __m512i hi_mag = _mm512_permutex2var_epi8(_mm512_load_si512(kE4m3.hi), b, _mm512_load_si512(kE4m3.hi + 64));
  const __m512i lo = _mm512_permutex2var_epi8(_mm512_load_si512(kE4m3.lo), b, _mm512_load_si512(kE4m3.lo + 64));
  // hi_mag | (b & 0x80): truth table of A | (B & C) for (A, B, C) = (hi_mag, b, 0x80).
  const __m512i hi = _mm512_ternarylogic_epi32(hi_mag, b, _mm512_set1_epi8(static_cast<char>(0x80)), 0xF8);
  lo_words = _mm512_unpacklo_epi8(lo, hi);
  hi_words = _mm512_unpackhi_epi8(lo, hi);
}

struct Fp8Format {
  static constexpr bool kScaled = true;
  const uint8_t* data;   // [n, k]
  const uint8_t* scale;  // [ceil(n/128), n_kb]
  int64_t k;
  int64_t n_kb;
  int64_t n_chunks;
  __mmask64 tail0, tail1;  // bytes of the last chunk's two halves
  const float* sx;         // activation scales: sx[i * ld_sx + c * inc_sx]
  int64_t ld_sx, inc_sx;
  detail::WeightPrefetch prefetch;

  void decode(int64_t j, int64_t c, __m512i* w) const {
    const uint8_t* p = data + j * k + c * detail::kChunk;
    prefetch.issue(p, c, 2);
    if (c + 1 < n_chunks) {
      decode_half(_mm512_loadu_si512(p), w[0], w[1]);
      decode_half(_mm512_loadu_si512(p + 64), w[2], w[3]);
    } else {
      decode_half(_mm512_maskz_loadu_epi8(tail0, p), w[0], w[1]);
      decode_half(_mm512_maskz_loadu_epi8(tail1, p + 64), w[2], w[3]);
    }
  }
  float row_scale(int64_t j, int64_t c) const { return e8m0_scalar(scale[(j >> 7) * n_kb + c]); }
  __m512 scale_vec(float sw, int64_t i, int64_t c) const { return _mm512_set1_ps(sx[i * ld_sx + c * inc_sx] * sw); }
};

Fp8Format make_format(const Fp8Weight& w, const float* sx, int64_t ld_sx, int64_t inc_sx) {
  const int64_t n_chunks = ceil_div_i64(w.k, detail::kChunk);
  const int64_t rem = w.k - (n_chunks - 1) * detail::kChunk;
  return {w.data, w.scale, w.k, ceil_div_i64(w.k, kFp8Block), n_chunks, mask64(rem), mask64(rem - 64),
          sx,     ld_sx,   inc_sx,  detail::WeightPrefetch(w.k, detail::kChunk, n_chunks)};
}

constexpr float kOne = 1.0f;

}  // namespace

void gemm_fp8_q(const QuantizedRows& x, const Fp8Weight& w, float* y, int64_t ldy, Round round) {
  if (x.m == 0 || w.n == 0) return;
  const int64_t n_kb = x.k / kFp8Block;
  detail::gemm_run(
      make_format(w, x.scale, n_kb, 1), x.m, w.n, w.k,
      [&](int64_t r0, int64_t r1) { return detail::pack_e4m3_rows(x, r0, r1, ActLayout::kFp8, /*fold_scale=*/false); },
      y, ldy, round);
}

void gemm_fp8_f(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, float* y, int64_t ldy, Round round) {
  if (m == 0 || w.n == 0) return;
  detail::gemm_run(
      make_format(w, &kOne, 0, 0), m, w.n, w.k,
      [&](int64_t r0, int64_t r1) { return detail::pack_f32_rows(x, r0, r1, ldx, w.k, ActLayout::kFp8); }, y, ldy,
      round);
}

}  // namespace dsv4k::cpu::avx512

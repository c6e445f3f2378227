// FP4 (e2m1 packed two per byte, E8M0 scale per 32 of k) weight GEMMs: gemm_fp4_q
// (FP8-quantized activations, the routed experts) and gemm_fp4_f (fp32 activations).
//
// Decode: a 128-k chunk is 64 bytes; dword i holds the 8 nibbles of k = 8i .. 8i+7, one
// 32-k scale block per 4 dwords. zmm z (z = 0..3) is vpermw of the bytes shifted right by
// 4z within 16-bit words: the low word of dword i then indexes with nibble z, the high
// word with nibble z+4. vpermw uses 5 index bits, so the table holds the 16 e2m1 values
// twice and the stray fifth bit (the next nibble's lsb) selects an identical copy: three
// shifts and four vpermw per 128 weights; the activations are packed in the same order
// (kFp4). The 4 scales of a chunk are spread to their lanes by one zero-masked vpermb.
//
// Numerics: the activation block scale is folded into the packed activations (exact, see
// act_pack.h), so every vdpbf16ps product is an exact fp32 number. Lane i of the chunk's
// partial sum t covers k = 8i .. 8i+7, which lies in scale block i/4, so one fma with
// the vector [s0 ×4, s1 ×4, s2 ×4, s3 ×4] of weight scales applies each block's own scale:
//   acc = fma(t_c, sw_c, acc) per chunk, y = hsum(acc).
#include "act_pack.h"
#include "dsv4k/cpu/avx512.h"
#include "gemm_tile.h"

namespace dsv4k::cpu::avx512 {
namespace {

using detail::ActLayout;

constexpr uint16_t e2m1_bf16(int code) {
  constexpr uint16_t kMag[8] = {0x0000, 0x3F00, 0x3F80, 0x3FC0, 0x4000, 0x4040, 0x4080, 0x40C0};
  return static_cast<uint16_t>(kMag[code & 7] | ((code & 8) != 0 ? 0x8000 : 0));
}

struct E2m1Table {
  alignas(64) uint16_t words[32];
};

constexpr E2m1Table make_e2m1_table() {
  E2m1Table t{};
  for (int i = 0; i < 32; ++i) t.words[i] = e2m1_bf16(i & 15);
  return t;
}

constexpr E2m1Table kE2m1 = make_e2m1_table();

// vpermb indices spreading the chunk's 4 scale bytes: byte 0 of dword i takes scale i/4
// (the other bytes are zeroed by the mask kLowBytes).
constexpr uint64_t kLowBytes = 0x1111111111111111ull;
struct SpreadIdx {
  alignas(64) uint8_t idx[64];
};
constexpr SpreadIdx make_spread() {
  SpreadIdx t{};
  for (int b = 0; b < 64; ++b) t.idx[b] = static_cast<uint8_t>(b / 16);
  return t;
}
constexpr SpreadIdx kSpread = make_spread();

struct Fp4Format {
  static constexpr bool kScaled = true;
  const uint8_t* data;   // [n, k/2]
  const uint8_t* scale;  // [n, k/32]
  int64_t row_bytes;
  int64_t row_scales;
  int64_t n_chunks;
  __mmask64 tail_bytes;
  __mmask16 tail_scales;
  detail::WeightPrefetch prefetch;

  void decode(int64_t j, int64_t c, __m512i* w) const {
    const uint8_t* p = data + j * row_bytes + c * 64;
    prefetch.issue(p, c, 1);
    const __m512i b = c + 1 < n_chunks ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8(tail_bytes, p);
    const __m512i table = _mm512_load_si512(kE2m1.words);
    w[0] = _mm512_permutexvar_epi16(b, table);
    w[1] = _mm512_permutexvar_epi16(_mm512_srli_epi16(b, 4), table);
    w[2] = _mm512_permutexvar_epi16(_mm512_srli_epi16(b, 8), table);
    w[3] = _mm512_permutexvar_epi16(_mm512_srli_epi16(b, 12), table);
  }

  // The chunk's four E8M0 scales spread to four lanes each, as fp32 (exponent field = e;
  // e = 0 becomes the subnormal 2^-127 as in e8m0_to_f32). e = 255 would give inf instead
  // of NaN: loaders reject it, so no lane op is spent on it.
  __m512 row_scale(int64_t j, int64_t c) const {
    const uint8_t* s = scale + j * row_scales + c * 4;
    __m128i four;
    if (c + 1 < n_chunks) {
      uint32_t u;
      std::memcpy(&u, s, sizeof u);
      four = _mm_cvtsi32_si128(static_cast<int>(u));
    } else {
      four = _mm_maskz_loadu_epi8(tail_scales, s);
    }
    __m512i v = _mm512_maskz_permutexvar_epi8(kLowBytes, _mm512_load_si512(kSpread.idx), _mm512_castsi128_si512(four));
    v = _mm512_max_epu32(_mm512_slli_epi32(v, 23), _mm512_set1_epi32(0x00400000));
    return _mm512_castsi512_ps(v);
  }
  __m512 scale_vec(__m512 sw, int64_t, int64_t) const { return sw; }
};

Fp4Format make_format(const Fp4Weight& w) {
  const int64_t n_chunks = ceil_div_i64(w.k, detail::kChunk);
  const int64_t rem = w.k - (n_chunks - 1) * detail::kChunk;
  return {w.data,         w.scale,        w.k / 2, w.k / kFp4Block, n_chunks, mask64(rem / 2), mask16(rem / kFp4Block),
          detail::WeightPrefetch(w.k / 2, 64, n_chunks)};
}

}  // namespace

void gemm_fp4_q(const QuantizedRows& x, const Fp4Weight& w, float* y, int64_t ldy, Round round) {
  if (x.m == 0 || w.n == 0) return;
  detail::gemm_run(
      make_format(w), x.m, w.n, w.k,
      [&](int64_t r0, int64_t r1) { return detail::pack_e4m3_rows(x, r0, r1, ActLayout::kFp4, /*fold_scale=*/true); },
      y, ldy, round);
}

void gemm_fp4_f(const float* x, int64_t m, int64_t ldx, const Fp4Weight& w, float* y, int64_t ldy, Round round) {
  if (m == 0 || w.n == 0) return;
  detail::gemm_run(
      make_format(w), m, w.n, w.k,
      [&](int64_t r0, int64_t r1) { return detail::pack_f32_rows(x, r0, r1, ldx, w.k, ActLayout::kFp4); }, y, ldy,
      round);
}

}  // namespace dsv4k::cpu::avx512

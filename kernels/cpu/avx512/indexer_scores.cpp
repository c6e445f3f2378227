// Lightning-indexer scores (indexer.h): scores[t][s] = Σ_h w[t][h]·ReLU(q[t][h]·k[s]).
//
// Keys are taken 16 at a time and transposed (16×16 blocks by four perfect-shuffle
// vpermt2ps stages) so that one zmm holds dimension i of 16 keys; a head's dot products
// with those 16 keys are then one FMA chain over the dimensions in order (q broadcast,
// one lane per key) with no horizontal sums. Heads go in register tiles of up to 16; the
// per-head terms round(ReLU(round(dot)) · w) are added to the 16 key scores in head order.
// Every score's arithmetic is therefore fixed by its own query and key, whatever the key
// block, the tile sizes or the other queries of the call.
//
// Differences from the reference: fp32 dot products (the reference sums in double before
// rounding) and an fp32 head sum (the reference sums the rounded terms in double).
#include <limits>

#include "../scratch.h"
#include "dsv4k/cpu/avx512.h"
#include "simd.h"

namespace dsv4k::cpu::avx512 {
namespace {

constexpr int kKeys = 16;  // keys per block (one per lane)

// Rotating the 8-bit (register, lane) address left by one moves row r, lane c to register
// (r mod 8)·2 + c/8 and lane (c mod 8)·2 + r/8; four such stages transpose 16×16.
void transpose16(__m512* r) {
  alignas(64) static constexpr int32_t kLo[16] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
  alignas(64) static constexpr int32_t kHi[16] = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i lo = _mm512_load_si512(kLo);
  const __m512i hi = _mm512_load_si512(kHi);
  for (int stage = 0; stage < 4; ++stage) {
    __m512 t[16];
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_permutex2var_ps(r[i], lo, r[i + 8]);
      t[2 * i + 1] = _mm512_permutex2var_ps(r[i], hi, r[i + 8]);
    }
    for (int i = 0; i < 16; ++i) r[i] = t[i];
  }
}

// kt [d_pad, 16]: kt[i][s] = keys[s][i] for the n_block (<= 16) keys, zero elsewhere.
void transpose_keys(const float* keys, int64_t n_block, int64_t d, float* kt) {
  for (int64_t i0 = 0; i0 < d; i0 += 16) {
    const __mmask16 mk = mask16(d - i0);
    __m512 r[16];
    for (int s = 0; s < 16; ++s)
      r[s] = s < n_block ? _mm512_maskz_loadu_ps(mk, keys + s * d + i0) : _mm512_setzero_ps();
    transpose16(r);
    for (int i = 0; i < 16; ++i) _mm512_store_ps(kt + (i0 + i) * kKeys, r[i]);
  }
}

// total += Σ_{h in tile} round(ReLU(round(q_h · k)) · w_h), heads in order.
template <int H>
void head_tile(const float* q, int64_t d, const float* kt, const float* w, Round round, __m512& total) {
  __m512 acc[H];  // fully unrolled loops only: the accumulators stay in registers
#pragma GCC unroll 16
  for (int h = 0; h < H; ++h) acc[h] = _mm512_setzero_ps();
  for (int64_t i = 0; i < d; ++i) {
    const __m512 k = _mm512_load_ps(kt + i * kKeys);
#pragma GCC unroll 16
    for (int h = 0; h < H; ++h) acc[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * d + i]), k, acc[h]);
  }
#pragma GCC unroll 16
  for (int h = 0; h < H; ++h) {
    // max(0, x) keeps std::max(x, 0.0f)'s result for NaN and -0 (vmaxps returns its
    // second operand when the lanes are unordered or both zero).
    const __m512 relu = _mm512_max_ps(_mm512_setzero_ps(), round_vec(acc[h], round));
    total = _mm512_add_ps(total, round_vec(_mm512_mul_ps(relu, _mm512_set1_ps(w[h])), round));
  }
}

__m512 score_block(const float* q, int64_t n_heads, int64_t d, const float* w, const float* kt, Round round) {
  __m512 total = _mm512_setzero_ps();
  int64_t h = 0;
  for (; h + 16 <= n_heads; h += 16) head_tile<16>(q + h * d, d, kt, w + h, round, total);
  for (; h + 4 <= n_heads; h += 4) head_tile<4>(q + h * d, d, kt, w + h, round, total);
  for (; h < n_heads; ++h) head_tile<1>(q + h * d, d, kt, w + h, round, total);
  return round_vec(total, round);
}

}  // namespace

void indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                    const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores, Round round) {
  const int64_t d_pad = ceil_div_i64(head_dim, 16) * 16;
  float* kt = static_cast<float*>(thread_scratch(ScratchSlot::kAux, static_cast<size_t>(d_pad * kKeys) * sizeof(float) + 64));
  int64_t max_visible = 0;
  for (int64_t t = 0; t < n_q; ++t) max_visible = max_i64(max_visible, min_i64(n_visible[t], n_keys));
  const __m512 neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t s0 = 0; s0 < n_keys; s0 += kKeys) {
    const int64_t n_block = min_i64(kKeys, n_keys - s0);
    const bool any_visible = s0 < max_visible;
    if (any_visible) transpose_keys(keys + s0 * head_dim, n_block, head_dim, kt);
    for (int64_t t = 0; t < n_q; ++t) {
      const int64_t visible = n_visible[t] - s0;  // keys [s0, s0 + visible) are visible
      __m512 v = neg_inf;
      if (visible > 0 && any_visible)
        v = _mm512_mask_mov_ps(neg_inf, mask16(visible), score_block(q + t * ldq, n_heads, head_dim, w + t * n_heads, kt, round));
      _mm512_mask_storeu_ps(scores + t * n_keys + s0, mask16(n_block), v);
    }
  }
}

}  // namespace dsv4k::cpu::avx512

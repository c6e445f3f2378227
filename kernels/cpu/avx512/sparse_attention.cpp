// Sparse multi-query attention with a per-head sink (attention.h), one query at a time.
//
// Per query: the valid candidate rows are gathered into a pointer list; QK logits of all
// heads are formed in 4-head × 4-candidate register tiles (each dot product: lane l sums
// dims ≡ l (mod 16) with FMAs in dim order, then the fixed hsum tree), the softmax runs
// 16 candidates per vector (vector exp, fp32 sum of the unrounded p), and P·V accumulates
// 4 heads × 64 dims per tile with one FMA chain per output element in candidate order.
// The loops are ordered so that candidate rows are read from L1/L2, not once per head
// group from L3 (640 rows of 512 fp32 are 1.3 MB). Padded heads/candidates of a partial tile are computed on duplicated
// rows and discarded, so every output element's arithmetic is the same whatever the
// number of heads, candidates or queries.
//
// Differences from the double-precision reference: fp32 dot products and P·V sums, the
// fp32 sum of p (the sink term is added in double as in the reference), and exp within
// ~1 ulp of expf.
#include <cmath>

#include "../scratch.h"
#include "dsv4k/cpu/avx512.h"
#include "exp.h"
#include "simd.h"

namespace dsv4k::cpu::avx512 {
namespace {

constexpr int kHeads = 4;   // heads per tile
constexpr int kCands = 4;   // candidates per QK tile
constexpr int kDimZmm = 4;  // zmm (16 dims each) per P·V tile

// Every loop over the accumulator arrays is fully unrolled (constant indices), so they
// live in registers; one loop with a run-time bound would put them in memory.
void qk_tile(const float* const* qh, const float* const* kv, int64_t d, float scale, float (*l)[kCands]) {
  __m512 acc[kHeads][kCands];
#pragma GCC unroll 4
  for (int h = 0; h < kHeads; ++h)
#pragma GCC unroll 4
    for (int c = 0; c < kCands; ++c) acc[h][c] = _mm512_setzero_ps();
  for (int64_t i = 0; i < d; i += 16) {
    const __mmask16 mk = mask16(d - i);
    __m512 qv[kHeads];
#pragma GCC unroll 4
    for (int h = 0; h < kHeads; ++h) qv[h] = _mm512_maskz_loadu_ps(mk, qh[h] + i);
#pragma GCC unroll 4
    for (int c = 0; c < kCands; ++c) {
      const __m512 kc = _mm512_maskz_loadu_ps(mk, kv[c] + i);
#pragma GCC unroll 4
      for (int h = 0; h < kHeads; ++h) acc[h][c] = _mm512_fmadd_ps(qv[h], kc, acc[h][c]);
    }
  }
#pragma GCC unroll 4
  for (int h = 0; h < kHeads; ++h)
#pragma GCC unroll 4
    for (int c = 0; c < kCands; ++c) l[h][c] = scale * hsum(acc[h][c]);
}

// In place: p_j = exp(l_j - max); returns the fp32 sum of p and the max. With kBf16 the
// stored p are rounded (the sum is of the unrounded values, as in the reference).
float softmax_numerators(float* l, int64_t n, Round round, float* max_out) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t j = 0; j < n; j += 16)
    mx = _mm512_max_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mask16(n - j), l + j), mx);
  const float m = hmax(mx);
  const __m512 mv = _mm512_set1_ps(m);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 mk = mask16(n - j);
    const __m512 p = _mm512_maskz_mov_ps(mk, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, l + j), mv)));
    sum = _mm512_add_ps(sum, p);
    _mm512_mask_storeu_ps(l + j, mk, round_vec(p, round));
  }
  *max_out = m;
  return hsum(sum);
}

// out[h][d0 .. d0+64) = round(Σ_j p[h][j] · kv_j / denom[h]) for the 4 heads of a group.
void pv_tile(const float* const* p, const float* const* rows, int64_t n, int64_t d0, int64_t d, const float* denom,
             float* const* out, int n_heads, Round round) {
  __m512 acc[kHeads][kDimZmm];
#pragma GCC unroll 4
  for (int h = 0; h < kHeads; ++h)
#pragma GCC unroll 4
    for (int z = 0; z < kDimZmm; ++z) acc[h][z] = _mm512_setzero_ps();
  __mmask16 mk[kDimZmm];
#pragma GCC unroll 4
  for (int z = 0; z < kDimZmm; ++z) mk[z] = mask16(max_i64(0, d - d0 - 16 * z));
  for (int64_t j = 0; j < n; ++j) {
    __m512 kv[kDimZmm];
#pragma GCC unroll 4
    for (int z = 0; z < kDimZmm; ++z) kv[z] = _mm512_maskz_loadu_ps(mk[z], rows[j] + d0 + 16 * z);
#pragma GCC unroll 4
    for (int h = 0; h < kHeads; ++h) {
      const __m512 ph = _mm512_set1_ps(p[h][j]);
#pragma GCC unroll 4
      for (int z = 0; z < kDimZmm; ++z) acc[h][z] = _mm512_fmadd_ps(ph, kv[z], acc[h][z]);
    }
  }
#pragma GCC unroll 4
  for (int h = 0; h < kHeads; ++h) {
    if (h >= n_heads) break;
    const __m512 dv = _mm512_set1_ps(denom[h]);
#pragma GCC unroll 4
    for (int z = 0; z < kDimZmm; ++z)
      _mm512_mask_storeu_ps(out[h] + d0 + 16 * z, mk[z], round_vec(_mm512_div_ps(acc[h][z], dv), round));
  }
}

// One query: logits of every head (phase 1, candidate blocks outer so each block of kv
// rows stays in L1 while all heads pass), softmax per head (phase 2), then P·V in tiles
// of 4 heads × 64 dims (phase 3, dims outer so a 64-dim column slice of the candidates
// stays in L2 while all heads pass). logits: [n_heads padded to 4, n] scratch.
void attend_query(const float* q, const AttentionShape& s, const float* const* rows, int64_t n, const float* sink,
                  float* out, float* logits, Round round) {
  const int64_t d = s.head_dim;
  const int64_t n_groups = ceil_div_i64(s.n_heads, kHeads);
  for (int64_t j0 = 0; j0 < n; j0 += kCands) {
    const float* kv[kCands];
    for (int c = 0; c < kCands; ++c) kv[c] = rows[min_i64(j0 + c, n - 1)];  // padding repeats the last row
    for (int64_t g = 0; g < n_groups; ++g) {
      const float* qh[kHeads];
      for (int h = 0; h < kHeads; ++h) qh[h] = q + min_i64(g * kHeads + h, s.n_heads - 1) * d;
      float l[kHeads][kCands];
      qk_tile(qh, kv, d, s.scale, l);
      for (int h = 0; h < kHeads; ++h)
        for (int c = 0; c < kCands && j0 + c < n; ++c) logits[(g * kHeads + h) * n + j0 + c] = l[h][c];
    }
  }
  float* denom = logits + n_groups * kHeads * n;  // [n_groups * 4]
  for (int64_t h = 0; h < n_groups * kHeads; ++h) {
    float m = 0.0f;
    const float psum = softmax_numerators(logits + h * n, n, round, &m);
    // The sink term in double, as in the reference, so a sink far above every logit
    // cannot overflow before it is added. Padded heads get any finite value.
    const double sink_term = h < s.n_heads ? std::exp(static_cast<double>(sink[h]) - static_cast<double>(m)) : 0.0;
    denom[h] = static_cast<float>(static_cast<double>(psum) + sink_term);
  }
  for (int64_t d0 = 0; d0 < d; d0 += 16 * kDimZmm) {
    for (int64_t g = 0; g < n_groups; ++g) {
      const float* p[kHeads];
      float* oh[kHeads];
      for (int h = 0; h < kHeads; ++h) {
        p[h] = logits + (g * kHeads + h) * n;
        oh[h] = out + min_i64(g * kHeads + h, s.n_heads - 1) * d;
      }
      const int nh = static_cast<int>(min_i64(kHeads, s.n_heads - g * kHeads));
      pv_tile(p, rows, n, d0, d, denom + g * kHeads, oh, nh, round);
    }
  }
}

}  // namespace

void sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv,
                      int64_t ldkv, const int32_t* cand, int64_t n_cand, const float* sink, float* out, int64_t ldo,
                      Round round) {
  const size_t n_slots = static_cast<size_t>(n_cand > 0 ? n_cand : 1);
  const size_t n_heads_pad = static_cast<size_t>(ceil_div_i64(s.n_heads, kHeads) * kHeads);
  const float** rows = static_cast<const float**>(thread_scratch(ScratchSlot::kAux, n_slots * sizeof(float*)));
  float* logits = static_cast<float*>(thread_scratch(ScratchSlot::kAux2, (n_slots + 1) * n_heads_pad * sizeof(float)));
  for (int64_t t = 0; t < n_q; ++t) {
    int64_t n = 0;
    for (int64_t j = 0; j < n_cand; ++j) {
      const int32_t c = cand[t * n_cand + j];
      if (c >= 0) rows[n++] = kv + static_cast<int64_t>(c) * ldkv;
    }
    float* o = out + t * ldo;
    if (n == 0) {
      // The reference's denominator is then e^(sink + inf) = inf and every output is 0.
      for (int64_t i = 0; i < s.n_heads * s.head_dim; ++i) o[i] = 0.0f;
      continue;
    }
    attend_query(q + t * ldq, s, rows, n, sink, o, logits, round);
  }
}

}  // namespace dsv4k::cpu::avx512

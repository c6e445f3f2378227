// RMSNorm rows: y = round(x · rsqrt(mean(x²) + eps) · w).
//
// The sum of squares is accumulated in double (8 lanes, then a fixed tree), as close to
// the reference as a vector order allows; everything after it is the reference's fp32
// arithmetic in the same order ((x · inv) · w, then one rounding).
#include <cmath>

#include "dsv4k/cpu/avx512.h"
#include "simd.h"

namespace dsv4k::cpu::avx512 {
namespace {

double sum_squares(const float* x, int64_t dim) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t i = 0; i < dim; i += 16) {
    const __m512 v = _mm512_maskz_loadu_ps(mask16(dim - i), x + i);
    const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    lo = _mm512_fmadd_pd(a, a, lo);
    hi = _mm512_fmadd_pd(b, b, hi);
  }
  const __m512d s = _mm512_add_pd(lo, hi);
  const __m256d a = _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd(s, 1));
  const __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  return _mm_cvtsd_f64(_mm_add_sd(b, _mm_unpackhi_pd(b, b)));
}

}  // namespace

void rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps, float* y,
             int64_t ldy, Round round) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * ldx;
    const double ss = sum_squares(xr, dim);
    const __m512 inv = _mm512_set1_ps(1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(dim)) + eps));
    for (int64_t i = 0; i < dim; i += 16) {
      const __mmask16 mk = mask16(dim - i);
      const __m512i wb = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mk, w + i));
      const __m512 wf = _mm512_castsi512_ps(_mm512_slli_epi32(wb, 16));
      const __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, xr + i), inv), wf);
      _mm512_mask_storeu_ps(y + r * ldy + i, mk, round_vec(v, round));
    }
  }
}

}  // namespace dsv4k::cpu::avx512

// Vector exp for the softmax (internal header): fp32, within ~1 ulp of expf on [-87, 88].
//
// x = n·ln2 + r with n = rint(x·log2 e) and r from a two-constant Cody–Waite reduction
// (|r| <= ln2/2), exp(r) by a degree-7 Taylor polynomial (truncation error
// r^8/8! < 6e-9) in Horner form, and
// the 2^n factor by vscalefps, which also produces correct subnormals and zeros for very
// negative x (the softmax only evaluates x <= 0). Deterministic: plain IEEE operations.
#pragma once

#include "simd.h"

namespace dsv4k::cpu::avx512 {
namespace {

inline __m512 exp_ps(__m512 x) {
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);  // ln2 high (exact product)
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);  // ln2 low
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

}  // namespace
}  // namespace dsv4k::cpu::avx512

// Dynamic FP8 activation quantization (quantize_e4m3), 16 lanes at a time.
//
// Bit-exact with the reference: the block amax is a max (exact in any order, and like
// std::fmax it ignores NaN), the scale exponent is computed by the same scalar rule, the
// division by the scale is the same fp32 multiply by 2^-e, the clamp keeps std::fmin /
// std::fmax's NaN behaviour, and the e4m3 encoder below is f32_to_e4m3 (round to nearest
// even, saturating) written with integer lane ops.
#include "dsv4k/cpu/avx512.h"
#include "simd.h"

namespace dsv4k::cpu::avx512 {
namespace {

// ceil(log2(max(amax, 1e-4) / 448)) from the fp32 bit pattern, as pow2_scale_exponent.
inline int e4m3_scale_exponent(float amax) {
  const float a = amax > kE4M3AmaxFloor ? amax : kE4M3AmaxFloor;
  return ceil_log2_bits(a * kE4M3InvMax);
}

void quantize_block(const float* x, int64_t block, uint8_t* q, float* scale) {
  __m512 amax = _mm512_setzero_ps();
  for (int64_t i = 0; i < block; i += 16) {
    const __m512 v = _mm512_abs_ps(_mm512_maskz_loadu_ps(mask16(block - i), x + i));
    amax = _mm512_max_ps(v, amax);  // the second operand wins on NaN: NaN lanes are ignored
  }
  const int e = e4m3_scale_exponent(hmax(amax));
  const __m512 inv_s = _mm512_set1_ps(exp2_int(-e));
  for (int64_t i = 0; i < block; i += 16) {
    const __mmask16 mk = mask16(block - i);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, x + i), inv_s);
    v = _mm512_max_ps(v, _mm512_set1_ps(-kE4M3Max));  // NaN -> -448, as std::fmax(NaN, -448)
    v = _mm512_min_ps(v, _mm512_set1_ps(kE4M3Max));
    _mm_mask_storeu_epi8(q + i, mk, _mm512_cvtepi32_epi8(f32_to_e4m3_x16(v)));
  }
  *scale = exp2_int(e);
}

}  // namespace

void quantize_e4m3(const float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, uint8_t* q,
                   float* scale) {
  const int64_t n_blocks = n_cols / block;
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t b = 0; b < n_blocks; ++b)
      quantize_block(x + r * ldx + b * block, block, q + r * n_cols + b * block, scale + r * n_blocks + b);
}

}  // namespace dsv4k::cpu::avx512

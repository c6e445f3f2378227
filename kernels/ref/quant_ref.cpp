// Scalar reference quantizers: one block at a time, exactly the spec's formulas.
#include <cmath>

#include "dsv4k/quant.h"

namespace dsv4k::ref {
namespace {

float block_amax(const float* x, int64_t n) {
  float a = 0.0f;
  for (int64_t i = 0; i < n; ++i) a = std::fmax(a, std::fabs(x[i]));
  return a;
}

}  // namespace

void quantize_e4m3(const float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, uint8_t* q,
                   float* scale) {
  const int64_t n_blocks = n_cols / block;
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t b = 0; b < n_blocks; ++b) {
      const float* xb = x + r * ldx + b * block;
      const int e = pow2_scale_exponent(block_amax(xb, block), kE4M3AmaxFloor, kE4M3InvMax);
      const float inv_s = exp2i(-e);  // x / 2^e is exact: multiply by the exact inverse
      for (int64_t i = 0; i < block; ++i) {
        float v = std::fmin(std::fmax(xb[i] * inv_s, -kE4M3Max), kE4M3Max);
        q[r * n_cols + b * block + i] = f32_to_e4m3(v);
      }
      scale[r * n_blocks + b] = exp2i(e);
    }
  }
}

namespace {

// Quantize-dequantize round trip of every block: q·s with q = encode(clamp(x/s)).
template <uint8_t (*Encode)(float), float (*Decode)(uint8_t)>
void simulate_blocks(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block, float amax_floor,
                     float inv_max, float max) {
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t b = 0; b < n_cols / block; ++b) {
      float* xb = x + r * ldx + b * block;
      const int e = pow2_scale_exponent(block_amax(xb, block), amax_floor, inv_max);
      const float s = exp2i(e);
      const float inv_s = exp2i(-e);
      for (int64_t i = 0; i < block; ++i) {
        const float v = std::fmin(std::fmax(xb[i] * inv_s, -max), max);
        xb[i] = Decode(Encode(v)) * s;  // exact: an e4m3/e2m1 value times 2^e fits bf16
      }
    }
  }
}

}  // namespace

void simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) {
  simulate_blocks<f32_to_e4m3, e4m3_to_f32>(x, n_rows, n_cols, ldx, block, kE4M3AmaxFloor, kE4M3InvMax, kE4M3Max);
}

void simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block) {
  simulate_blocks<f32_to_e2m1, e2m1_to_f32>(x, n_rows, n_cols, ldx, block, kE2M1AmaxFloor, kE2M1InvMax, kE2M1Max);
}

void hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round) {
  const float norm = 1.0f / std::sqrt(static_cast<float>(kHadamardDim));
  for (int64_t v = 0; v < n_vec; ++v) {
    float* y = x + v * ldx;
    // Iterative butterflies produce the Sylvester (natural) ordering: y_j = Σ_i x_i (-1)^popcount(i&j).
    for (int64_t h = 1; h < kHadamardDim; h *= 2) {
      for (int64_t i = 0; i < kHadamardDim; i += 2 * h) {
        for (int64_t j = i; j < i + h; ++j) {
          const float a = y[j];
          const float b = y[j + h];
          y[j] = a + b;
          y[j + h] = a - b;
        }
      }
    }
    for (int64_t j = 0; j < kHadamardDim; ++j) y[j] = round_to(y[j] * norm, round);
  }
}

}  // namespace dsv4k::ref

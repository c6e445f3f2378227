// Scalar reference GEMMs. Sums run in double inside each scale block (so a reference
// result is closer to exact than any fast kernel) and blocks combine in fp32 order of k.
#include "dsv4k/gemm.h"

namespace dsv4k::ref {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

float fp8_weight(const Fp8Weight& w, int64_t j, int64_t k) {
  const uint8_t s = w.scale[(j / kFp8Block) * ceil_div(w.k, kFp8Block) + k / kFp8Block];
  return e4m3_to_f32(w.data[j * w.k + k]) * e8m0_to_f32(s);
}

float fp4_weight(const Fp4Weight& w, int64_t j, int64_t k) {
  const uint8_t byte = w.data[j * (w.k / 2) + k / 2];
  const uint8_t code = (k % 2 == 0) ? static_cast<uint8_t>(byte & 0xFu) : static_cast<uint8_t>(byte >> 4);
  return e2m1_to_f32(code) * e8m0_to_f32(w.scale[j * (w.k / kFp4Block) + k / kFp4Block]);
}

// y[i][j] = round(Σ_k x[i][k]·W(j, k)) for unquantized x; W(j, k) decodes one weight.
template <class WeightAt>
void gemm_unquantized(const float* x, int64_t m, int64_t ldx, int64_t n, int64_t k_dim, WeightAt weight_at, float* y,
                      int64_t ldy, Round round) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < k_dim; ++k) acc += static_cast<double>(x[i * ldx + k]) * weight_at(j, k);
      y[i * ldy + j] = round_to(static_cast<float>(acc), round);
    }
  }
}

}  // namespace

void gemm_fp8_q(const QuantizedRows& x, const Fp8Weight& w, float* y, int64_t ldy, Round round) {
  const int64_t n_kb = x.k / kFp8Block;
  for (int64_t i = 0; i < x.m; ++i) {
    for (int64_t j = 0; j < w.n; ++j) {
      double acc = 0.0;
      for (int64_t kb = 0; kb < n_kb; ++kb) {
        double part = 0.0;
        for (int64_t k = kb * kFp8Block; k < (kb + 1) * kFp8Block; ++k)
          part += static_cast<double>(e4m3_to_f32(x.q[i * x.k + k])) * e4m3_to_f32(w.data[j * w.k + k]);
        const float sw = e8m0_to_f32(w.scale[(j / kFp8Block) * ceil_div(w.k, kFp8Block) + kb]);
        acc += part * static_cast<double>(x.scale[i * n_kb + kb]) * static_cast<double>(sw);
      }
      y[i * ldy + j] = round_to(static_cast<float>(acc), round);
    }
  }
}

void gemm_fp8_f(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, float* y, int64_t ldy, Round round) {
  gemm_unquantized(x, m, ldx, w.n, w.k, [&](int64_t j, int64_t k) { return fp8_weight(w, j, k); }, y, ldy, round);
}

void gemm_fp4_q(const QuantizedRows& x, const Fp4Weight& w, float* y, int64_t ldy, Round round) {
  const int64_t n_kb = x.k / kFp8Block;
  for (int64_t i = 0; i < x.m; ++i) {
    for (int64_t j = 0; j < w.n; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < w.k; ++k) {
        const double xv = static_cast<double>(e4m3_to_f32(x.q[i * x.k + k])) * x.scale[i * n_kb + k / kFp8Block];
        acc += xv * fp4_weight(w, j, k);
      }
      y[i * ldy + j] = round_to(static_cast<float>(acc), round);
    }
  }
}

void gemm_fp4_f(const float* x, int64_t m, int64_t ldx, const Fp4Weight& w, float* y, int64_t ldy, Round round) {
  gemm_unquantized(x, m, ldx, w.n, w.k, [&](int64_t j, int64_t k) { return fp4_weight(w, j, k); }, y, ldy, round);
}

void gemm_bf16(const float* x, int64_t m, int64_t ldx, const Bf16Weight& w, float* y, int64_t ldy, Round round) {
  gemm_unquantized(x, m, ldx, w.n, w.k, [&](int64_t j, int64_t k) { return bf16_to_f32(w.data[j * w.k + k]); }, y,
                   ldy, round);
}

void gemm_f32(const float* x, int64_t m, int64_t ldx, const F32Weight& w, float* y, int64_t ldy, Round round) {
  gemm_unquantized(x, m, ldx, w.n, w.k, [&](int64_t j, int64_t k) { return w.data[j * w.k + k]; }, y, ldy, round);
}

void gemm_fp8_f_grouped(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, int64_t n_groups, float* y,
                        int64_t ldy, Round round) {
  const int64_t n_g = w.n / n_groups;
  const int64_t k_blocks = (w.k + kFp8Block - 1) / kFp8Block;
  for (int64_t g = 0; g < n_groups; ++g) {
    const Fp8Weight wg{w.data + g * n_g * w.k, w.scale + (g * n_g / kFp8Block) * k_blocks, n_g, w.k};
    gemm_fp8_f(x + g * w.k, m, ldx, wg, y + g * n_g, ldy, round);
  }
}

}  // namespace dsv4k::ref

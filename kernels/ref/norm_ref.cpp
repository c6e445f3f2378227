#include <cmath>

#include "dsv4k/norm.h"

namespace dsv4k::ref {

void rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps, float* y,
             int64_t ldy, Round round) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * ldx;
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(dim)) + eps);
    for (int64_t i = 0; i < dim; ++i) y[r * ldy + i] = round_to(xr[i] * inv * bf16_to_f32(w[i]), round);
  }
}

void head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx, float eps, Round round) {
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t h = 0; h < n_heads; ++h) {
      float* q = x + r * ldx + h * head_dim;
      double ss = 0.0;
      for (int64_t i = 0; i < head_dim; ++i) ss += static_cast<double>(round_to(q[i] * q[i], round));
      // Each bf16 tensor op of the reference rounds: mean, +eps, rsqrt, product.
      float mean = round_to(static_cast<float>(ss / static_cast<double>(head_dim)), round);
      float denom = round_to(mean + eps, round);
      float inv = round_to(1.0f / std::sqrt(denom), round);
      for (int64_t i = 0; i < head_dim; ++i) q[i] = round_to(q[i] * inv, round);
    }
  }
}

}  // namespace dsv4k::ref

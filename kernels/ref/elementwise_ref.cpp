#include "dsv4k/elementwise.h"

namespace dsv4k::ref {

void scale(float* x, int64_t n, float factor, Round round) {
  for (int64_t i = 0; i < n; ++i) x[i] = round_to(x[i] * factor, round);
}

void add(const float* a, const float* b, float* out, int64_t n, Round round) {
  for (int64_t i = 0; i < n; ++i) out[i] = round_to(a[i] + b[i], round);
}

void moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d, float* out,
                 Round round) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < d; ++i) {
      float acc = 0.0f;
      for (int64_t j = 0; j < k; ++j) acc += expert_out[(t * k + j) * d + i];
      acc += shared[t * d + i];
      out[t * d + i] = round_to(acc, round);
    }
  }
}

}  // namespace dsv4k::ref

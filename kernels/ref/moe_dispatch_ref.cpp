#include "dsv4k/moe_dispatch.h"

#include <cstring>
#include <vector>

#include "dsv4k/elementwise.h"

namespace dsv4k::ref {

void moe_permute(const int32_t* ids, const float* weights, int64_t n_tokens, int64_t top_k, int64_t n_experts,
                 int32_t* offsets, int32_t* token_of, int32_t* position, float* permuted_weights) {
  const int64_t n_entries = n_tokens * top_k;
  std::vector<int64_t> count(static_cast<size_t>(n_experts), 0);
  for (int64_t f = 0; f < n_entries; ++f) ++count[static_cast<size_t>(ids[f])];
  offsets[0] = 0;
  for (int64_t e = 0; e < n_experts; ++e)
    offsets[e + 1] = offsets[e] + static_cast<int32_t>(count[static_cast<size_t>(e)]);
  // A counting sort visiting entries in increasing f is stable.
  std::vector<int64_t> next(offsets, offsets + n_experts);
  for (int64_t f = 0; f < n_entries; ++f) {
    const int64_t p = next[static_cast<size_t>(ids[f])]++;
    token_of[p] = static_cast<int32_t>(f / top_k);
    position[f] = static_cast<int32_t>(p);
    if (permuted_weights != nullptr) permuted_weights[p] = weights[f];
  }
}

void gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets,
                        const Fp4Weight* experts, int64_t n_experts, float* y, int64_t ldy, Round round) {
  const int64_t n_kb = x.k / kFp8Block;
  std::vector<uint8_t> q;
  std::vector<float> s;
  for (int64_t e = 0; e < n_experts; ++e) {
    const int64_t begin = offsets[e], m = offsets[e + 1] - offsets[e];
    if (m == 0) continue;
    q.resize(static_cast<size_t>(m * x.k));
    s.resize(static_cast<size_t>(m * n_kb));
    for (int64_t r = 0; r < m; ++r) {
      const int64_t src = x_rows != nullptr ? x_rows[begin + r] : begin + r;
      std::memcpy(q.data() + r * x.k, x.q + src * x.k, static_cast<size_t>(x.k));
      std::memcpy(s.data() + r * n_kb, x.scale + src * n_kb, static_cast<size_t>(n_kb) * sizeof(float));
    }
    gemm_fp4_q(QuantizedRows{q.data(), s.data(), m, x.k}, experts[e], y + begin * ldy, ldy, round);
  }
}

void moe_combine_permuted(const float* ye, int64_t ldy, const int32_t* position, const float* shared, int64_t n,
                          int64_t k, int64_t d, float* out, Round round) {
  std::vector<float> expert_out(static_cast<size_t>(n * k * d));
  for (int64_t f = 0; f < n * k; ++f)
    std::memcpy(expert_out.data() + f * d, ye + static_cast<int64_t>(position[f]) * ldy,
                static_cast<size_t>(d) * sizeof(float));
  moe_combine(expert_out.data(), shared, n, k, d, out, round);
}

}  // namespace dsv4k::ref

#include <cmath>
#include <limits>
#include <vector>

#include "dsv4k/attention.h"

namespace dsv4k::ref {

void sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv,
                      int64_t ldkv, const int32_t* cand, int64_t n_cand, const float* sink, float* out,
                      int64_t ldo, Round round) {
  const int64_t d = s.head_dim;
  std::vector<float> logits(static_cast<size_t>(n_cand));
  std::vector<double> acc(static_cast<size_t>(d));
  for (int64_t t = 0; t < n_q; ++t) {
    const int32_t* c = cand + t * n_cand;
    for (int64_t h = 0; h < s.n_heads; ++h) {
      const float* qh = q + t * ldq + h * d;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < n_cand; ++j) {
        if (c[j] < 0) continue;
        const float* kj = kv + static_cast<int64_t>(c[j]) * ldkv;
        double dot = 0.0;
        for (int64_t i = 0; i < d; ++i) dot += static_cast<double>(qh[i]) * kj[i];
        logits[static_cast<size_t>(j)] = s.scale * static_cast<float>(dot);
        mx = std::fmax(mx, logits[static_cast<size_t>(j)]);
      }
      // m is the candidates' max, as in the reference; the sink term is evaluated in double
      // so that a sink far above every logit cannot overflow.
      const float m = mx;
      double denom = std::exp(static_cast<double>(sink[h]) - static_cast<double>(m));
      for (auto& a : acc) a = 0.0;
      for (int64_t j = 0; j < n_cand; ++j) {
        if (c[j] < 0) continue;
        const float p = std::exp(logits[static_cast<size_t>(j)] - m);
        denom += p;
        const double pv = round_to(p, round);  // bf16 probabilities feed P·V
        const float* kj = kv + static_cast<int64_t>(c[j]) * ldkv;
        for (int64_t i = 0; i < d; ++i) acc[static_cast<size_t>(i)] += pv * kj[i];
      }
      float* oh = out + t * ldo + h * d;
      for (int64_t i = 0; i < d; ++i) oh[i] = round_to(static_cast<float>(acc[static_cast<size_t>(i)] / denom), round);
    }
  }
}

}  // namespace dsv4k::ref

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "dsv4k/moe.h"

namespace dsv4k::ref {
namespace {

// Writes the chosen experts in ascending id order (the reference's combine order) and their
// weights route_scale · s_e / Σ s.
void finish_route(const float* logits_row, const RouteParams& p, std::vector<int32_t>& chosen, int32_t* ids,
                  float* weights) {
  std::sort(chosen.begin(), chosen.end());
  float sum = 0.0f;
  for (int32_t e : chosen) sum += sqrt_softplus(logits_row[e]);
  for (size_t j = 0; j < chosen.size(); ++j) {
    ids[j] = chosen[j];
    weights[j] = sqrt_softplus(logits_row[chosen[j]]) / sum * p.route_scale;
  }
}

}  // namespace

float sqrt_softplus(float x) {
  const float sp = x > 20.0f ? x : std::log1p(std::exp(x));
  return std::sqrt(sp);
}

void route_topk(const float* logits, int64_t n, const RouteParams& p, const float* bias, int32_t* ids,
                float* weights) {
  std::vector<float> key(static_cast<size_t>(p.n_experts));
  std::vector<int32_t> order(static_cast<size_t>(p.n_experts));
  std::vector<int32_t> chosen;
  for (int64_t t = 0; t < n; ++t) {
    const float* lt = logits + t * p.n_experts;
    for (int64_t e = 0; e < p.n_experts; ++e)
      key[static_cast<size_t>(e)] = sqrt_softplus(lt[e]) + (bias != nullptr ? bias[e] : 0.0f);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + p.top_k, order.end(), [&](int32_t a, int32_t b) {
      return key[static_cast<size_t>(a)] > key[static_cast<size_t>(b)] ||
             (key[static_cast<size_t>(a)] == key[static_cast<size_t>(b)] && a < b);
    });
    chosen.assign(order.begin(), order.begin() + p.top_k);
    finish_route(lt, p, chosen, ids + t * p.top_k, weights + t * p.top_k);
  }
}

void route_hash(const float* logits, int64_t n, const RouteParams& p, const int64_t* table_rows, int32_t* ids,
                float* weights) {
  std::vector<int32_t> chosen;
  for (int64_t t = 0; t < n; ++t) {
    chosen.clear();
    for (int64_t j = 0; j < p.top_k; ++j) chosen.push_back(static_cast<int32_t>(table_rows[t * p.top_k + j]));
    finish_route(logits + t * p.n_experts, p, chosen, ids + t * p.top_k, weights + t * p.top_k);
  }
}

void swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld, const float* weight, float limit,
            float* h, int64_t ldh, Round round) {
  for (int64_t t = 0; t < n; ++t) {
    const float w = weight != nullptr ? weight[t] : 1.0f;
    for (int64_t c = 0; c < inter; ++c) {
      const float gv = std::min(g[t * ld + c], limit);
      const float uv = std::clamp(u[t * ld + c], -limit, limit);
      const float silu = gv / (1.0f + std::exp(-gv));
      h[t * ldh + c] = round_to(w * (silu * uv), round);
    }
  }
}

}  // namespace dsv4k::ref

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "dsv4k/indexer.h"

namespace dsv4k::ref {

void indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                    const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores, Round round) {
  for (int64_t t = 0; t < n_q; ++t) {
    for (int64_t s = 0; s < n_keys; ++s) {
      if (s >= n_visible[t]) {
        scores[t * n_keys + s] = -std::numeric_limits<float>::infinity();
        continue;
      }
      double total = 0.0;
      for (int64_t h = 0; h < n_heads; ++h) {
        double dot = 0.0;
        const float* qh = q + t * ldq + h * head_dim;
        for (int64_t i = 0; i < head_dim; ++i) dot += static_cast<double>(qh[i]) * keys[s * head_dim + i];
        const float relu = std::max(round_to(static_cast<float>(dot), round), 0.0f);
        total += round_to(relu * w[t * n_heads + h], round);
      }
      scores[t * n_keys + s] = round_to(static_cast<float>(total), round);
    }
  }
}

void topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible, int64_t k, int32_t* idx) {
  std::vector<int32_t> order;
  for (int64_t t = 0; t < n_q; ++t) {
    const int64_t n = std::min(n_visible[t], n_keys);
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    const float* st = scores + t * n_keys;
    const int64_t kk = std::min(k, n);
    std::partial_sort(order.begin(), order.begin() + kk, order.end(), [st](int32_t a, int32_t b) {
      return st[a] > st[b] || (st[a] == st[b] && a < b);
    });
    for (int64_t j = 0; j < k; ++j) idx[t * k + j] = j < kk ? order[static_cast<size_t>(j)] : -1;
  }
}

}  // namespace dsv4k::ref

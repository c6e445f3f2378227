// Helpers shared by the sampler tests: states, logits rows and an independent reference of
// the truncation rules (full sort, double precision) to compare the fast paths against.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "runtime/sampler_state.h"

namespace dsv4::sampler_test {

inline SequenceSamplingState make_state(std::vector<int32_t> prompt, int64_t vocab, uint64_t seed = 1,
                                        uint32_t choice = 0) {
  return SequenceSamplingState(std::make_shared<const PromptTokenSet>(prompt, vocab), SamplerRng(seed, choice));
}

// Logits ~ N(0, scale^2), fixed by `seed`.
inline std::vector<float> random_logits(int64_t vocab, uint64_t seed, double scale = 3.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<float> x(static_cast<size_t>(vocab));
  for (float& v : x) v = static_cast<float>(normal(gen));
  return x;
}

inline std::vector<double> softmax(std::span<const float> x, double temperature) {
  double m = *std::max_element(x.begin(), x.end());
  std::vector<double> p(x.size());
  double z = 0.0;
  for (size_t i = 0; i < x.size(); ++i) z += p[i] = std::exp((static_cast<double>(x[i]) - m) / temperature);
  for (double& v : p) v /= z;
  return p;
}

inline std::vector<double> log_softmax(std::span<const float> x) {
  double m = *std::max_element(x.begin(), x.end());
  double z = 0.0;
  for (float v : x) z += std::exp(static_cast<double>(v) - m);
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<double>(x[i]) - m - std::log(z);
  return out;
}

struct ReferenceSupport {
  std::vector<int32_t> tokens;  // rank order
  bool ambiguous = false;       // top-p's cut is within rounding of its target
};

// The truncation rules written the slow, obvious way: sort everything, double weights.
inline ReferenceSupport reference_support(std::span<const float> x, double temperature, int32_t top_k,
                                          double top_p, double min_p) {
  std::vector<int32_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return x[static_cast<size_t>(a)] > x[static_cast<size_t>(b)] ||
           (x[static_cast<size_t>(a)] == x[static_cast<size_t>(b)] && a < b);
  });
  double m = x[static_cast<size_t>(order[0])];
  auto weight = [&](size_t j) { return std::exp((x[static_cast<size_t>(order[j])] - m) / temperature); };
  size_t k = top_k > 0 && static_cast<size_t>(top_k) < x.size() ? static_cast<size_t>(top_k) : x.size();
  ReferenceSupport ref;
  size_t n = k;
  if (top_p < 1.0) {
    double mass = 0.0;
    for (size_t j = 0; j < k; ++j) mass += weight(j);
    // The sampler sums float weights (relative error ~3e-7): a cut whose neighbouring
    // prefixes are that close to the target could legitimately go either way.
    double target = top_p * mass, cum = 0.0, slack = 1e-6 * mass;
    for (size_t j = 0; j < k; ++j) {
      double before = cum;
      cum += weight(j);
      if (cum >= target) {
        ref.ambiguous = target - before < slack || cum - target < slack;
        n = j + 1;
        break;
      }
    }
  }
  if (min_p > 0.0) {
    double threshold = m + temperature * std::log(min_p);
    size_t n_min_p = 0;
    while (n_min_p < x.size() && x[static_cast<size_t>(order[n_min_p])] >= threshold) ++n_min_p;
    n = std::min(n, n_min_p);
  }
  ref.tokens.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n));
  return ref;
}

}  // namespace dsv4::sampler_test

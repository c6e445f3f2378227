// Helpers shared by the emulated CUDA kernel tests: bf16-valued random inputs and the
// rounding units their tolerances are written in.
#pragma once

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "dsv4k/numeric.h"

namespace dsv4k::emu_test {

inline constexpr double kU = 1.0 / 16777216.0;  // 2^-24, the fp32 unit roundoff

// n normal(0, sigma) values rounded to bf16, as activations travel between ops.
inline std::vector<float> bf16_normal(size_t n, std::mt19937& rng, float sigma) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dsv4k::round_bf16(dist(rng));
  return v;
}

// The spacing of bf16 values at |x| (8 significant bits).
inline double bf16_ulp(float x) {
  const float a = std::fabs(x);
  if (a == 0.0f) return std::ldexp(1.0, -133);
  int e = 0;
  std::frexp(a, &e);  // a in [2^(e-1), 2^e)
  return std::ldexp(1.0, e - 1 - 7);
}

}  // namespace dsv4k::emu_test

// Random inputs in the checkpoint's encodings for the fast-kernel tests.
#include "test_fast_random.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "dsv4k/gemm.h"
#include "dsv4k/quant.h"

namespace dsv4k::fast_test {

// Normal(0, sigma) fp32 values; with bf16_values they are rounded to bf16 (the reference
// mode's activations), otherwise they keep all 24 bits (the fp32 comparison mode).
std::vector<float> random_floats(size_t n, uint64_t seed, float sigma, bool bf16_values) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, sigma);
  std::vector<float> v(n);
  for (float& f : v) f = bf16_values ? round_bf16(nd(rng)) : nd(rng);
  return v;
}

// Uniform bytes over every e4m3 code except the two NaNs.
std::vector<uint8_t> random_e4m3(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) {
    do {
      b = static_cast<uint8_t>(rng());
    } while ((b & 0x7F) == 0x7F);
  }
  return v;
}

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// E8M0 scales 2^(e-127) with e in [lo, hi] (checkpoint scales are a few powers of two
// below 1; the ends exercise large and small factors).
std::vector<uint8_t> random_e8m0(size_t n, uint64_t seed, int lo, int hi) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> ud(lo, hi);
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(ud(rng));
  return v;
}

std::vector<uint16_t> random_bf16(size_t n, uint64_t seed, float sigma) {
  std::vector<float> f = random_floats(n, seed, sigma, true);
  std::vector<uint16_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = f32_to_bf16(f[i]);
  return v;
}

// Activations quantized by the reference quantizer, with per-block magnitudes spread over
// several powers of two so that the activation scales differ between blocks and rows.
void random_quantized(int64_t m, int64_t k, uint64_t seed, std::vector<uint8_t>* q, std::vector<float>* scale) {
  std::vector<float> x = random_floats(static_cast<size_t>(m * k), seed, 1.0f, true);
  std::mt19937_64 rng(seed ^ 0x9E3779B97F4A7C15ull);
  std::uniform_int_distribution<int> ud(-6, 6);
  for (int64_t b = 0; b < m * k; b += kFp8Block) {
    const float f = std::ldexp(1.0f, ud(rng));
    for (int64_t i = b; i < b + kFp8Block && i < m * k; ++i) x[static_cast<size_t>(i)] *= f;
  }
  q->assign(static_cast<size_t>(m * k), 0);
  scale->assign(static_cast<size_t>(m * (k / kFp8Block)), 0.0f);
  ref::quantize_e4m3(x.data(), m, k, k, kFp8Block, q->data(), scale->data());
}

}  // namespace dsv4k::fast_test

// Rows for the KV-row codec tests (test_kv_row_*.cpp): random values over many magnitudes
// (1e-30 .. 1e6, zeros of both signs, negatives), and the rows the reference numerics cache
// (the FP8 simulation on the nope dims with bf16 rope dims; Hadamard + the FP4 simulation).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "dsv4k/kv_row.h"
#include "dsv4k/numeric.h"
#include "dsv4k/quant.h"

namespace dsv4k::kv_row_test {

// One value: sign, then a log-uniform magnitude in [1e-30, 1e6] around a per-block centre
// (so that blocks are not all dominated by one huge value), with zeros and -0.
inline float random_value(std::mt19937_64& rng, double centre_log10) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double pick = u(rng);
  if (pick < 0.03) return 0.0f;
  if (pick < 0.06) return -0.0f;
  double lg = centre_log10 + (u(rng) - 0.5) * 6.0;
  lg = std::fmin(std::fmax(lg, -30.0), 6.0);
  const float v = static_cast<float>(std::pow(10.0, lg));
  return u(rng) < 0.5 ? -v : v;
}

// n rows [n, ld] (padding columns hold a sentinel); blocks of `block` share a magnitude centre.
inline std::vector<float> random_rows(int64_t n, int64_t ld, int64_t dim, int64_t block, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> centre(-31.0, 7.0);
  std::vector<float> x(static_cast<size_t>(n * ld), 12345.0f);
  for (int64_t r = 0; r < n; ++r) {
    double c = centre(rng);
    for (int64_t i = 0; i < dim; ++i) {
      if (block > 0 && i % block == 0) c = centre(rng);
      x[static_cast<size_t>(r * ld + i)] = random_value(rng, c);
    }
  }
  return x;
}

// Overwrites one block per row (block r mod n_blocks of row r, over the first n_cols
// columns) with round-to-nearest-even ties of the code grid at scale 2^0: the block's amax is
// the grid maximum, the other values are midpoints between neighbouring codes, both signs.
// block 64: e4m3 midpoints; block 32: e2m1 midpoints.
inline void add_tie_blocks(std::vector<float>& x, int64_t n, int64_t ld, int64_t n_cols, int64_t block) {
  const int64_t n_blocks = n_cols / block;
  if (n_blocks == 0) return;
  const float e2m1_ties[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  for (int64_t r = 0; r < n; ++r) {
    float* xb = x.data() + r * ld + (r % n_blocks) * block;
    for (int64_t i = 0; i < block; ++i) {
      float v;
      if (block == kKvFp8Block) {
        const uint8_t c = static_cast<uint8_t>((2 * i + r) % 126);
        v = 0.5f * (e4m3_to_f32(c) + e4m3_to_f32(static_cast<uint8_t>(c + 1)));
      } else {
        v = e2m1_ties[(i + r) % 7];
      }
      xb[i] = (i + r) % 2 == 1 ? -v : v;
    }
    xb[0] = block == kKvFp8Block ? 448.0f : 6.0f;
  }
}

// The attention rows the reference caches: nope dims through the FP8 simulation (block 64),
// rope dims rounded to bf16.
inline void simulate_fp8_rows(std::vector<float>& x, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim) {
  const int64_t nope = dim - rope_dim;
  if (nope > 0) ref::simulate_e4m3(x.data(), n, nope, ld, kKvFp8Block);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = nope; j < dim; ++j) {
      float& v = x[static_cast<size_t>(r * ld + j)];
      v = round_bf16(v);
    }
}

// Indexer rows: bf16 rows, Hadamard (bf16 out) when dim is 128, then the FP4 simulation.
inline void simulate_fp4_rows(std::vector<float>& x, int64_t n, int64_t ld, int64_t dim) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < dim; ++j) {
      float& v = x[static_cast<size_t>(r * ld + j)];
      v = round_bf16(v);
    }
  if (dim == kHadamardDim) ref::hadamard128(x.data(), n, ld, Round::kBf16);
  if (dim > 0) ref::simulate_e2m1(x.data(), n, dim, ld, kKvFp4Block);
}

// Index of the first element (of the first dim of each row) whose bits differ, or -1.
inline int64_t first_bit_difference(const float* a, const float* b, int64_t n, int64_t ld, int64_t dim) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i)
      if (f32_bits(a[r * ld + i]) != f32_bits(b[r * ld + i])) return r * ld + i;
  return -1;
}

}  // namespace dsv4k::kv_row_test

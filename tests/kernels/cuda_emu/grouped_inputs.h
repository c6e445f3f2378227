// Inputs of the routed experts' grouped FP4 GEMM for the emulated tests (SIMT kernel, tensor-
// core kernel, the choice between them): expert-sorted rows with random quantized activations
// and random FP4 experts, and the unit of the fp32 error bound.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "dsv4k/gemm.h"
#include "dsv4k/numeric.h"
#include "dsv4k/quant.h"
#include "emu_test_util.h"

namespace dsv4k::emu_test {

struct GroupedInputs {
  std::vector<int32_t> offsets;     // [n_experts + 1]
  std::vector<int32_t> x_rows;      // [P] activation row of each permuted row; empty: row p is p
  std::vector<uint8_t> xq;          // [n_x, k] e4m3
  std::vector<float> xs;            // [n_x, k / 128]
  std::vector<std::vector<uint8_t>> data, scale;
  std::vector<Fp4Weight> experts;   // [n_experts], viewing data / scale
  QuantizedRows x;                  // m = P, the permuted rows
  int64_t P = 0;
};

// counts: rows per expert; n_x > 0: that many activation rows, picked by random x_rows; 0: one
// activation row per permuted row (the down projection). Weights are n x k, scales E8M0 117..128.
inline GroupedInputs make_grouped_inputs(const std::vector<int64_t>& counts, int64_t n, int64_t k, int64_t n_x,
                                         std::mt19937& rng) {
  GroupedInputs in;
  in.offsets.push_back(0);
  for (int64_t m : counts) in.offsets.push_back(in.offsets.back() + static_cast<int32_t>(m));
  in.P = in.offsets.back();
  if (n_x > 0) {
    in.x_rows.resize(static_cast<size_t>(in.P));
    for (auto& r : in.x_rows) r = static_cast<int32_t>(rng() % static_cast<uint64_t>(n_x));
  } else {
    n_x = in.P;
  }
  const std::vector<float> xf = bf16_normal(static_cast<size_t>(n_x * k), rng, 1.0f);
  in.xq.resize(static_cast<size_t>(n_x * k));
  in.xs.resize(static_cast<size_t>(n_x * (k / kFp8Block)));
  ref::quantize_e4m3(xf.data(), n_x, k, k, kFp8Block, in.xq.data(), in.xs.data());
  in.x = QuantizedRows{in.xq.data(), in.xs.data(), in.P, k};
  for (size_t e = 0; e < counts.size(); ++e) {
    in.data.emplace_back(static_cast<size_t>(n * k / 2));
    in.scale.emplace_back(static_cast<size_t>(n * k / kFp4Block));
    for (auto& b : in.data.back()) b = static_cast<uint8_t>(rng());
    for (auto& b : in.scale.back()) b = static_cast<uint8_t>(117 + rng() % 12);
  }
  for (size_t e = 0; e < counts.size(); ++e)
    in.experts.push_back(Fp4Weight{in.data[e].data(), in.scale[e].data(), n, k});
  return in;
}

// Σ_k |x·w| of output (p, j) of expert e, scales applied: the unit of the fp32 bound.
inline double grouped_abs_sum(const GroupedInputs& in, int64_t e, int64_t p, int64_t j) {
  const Fp4Weight& w = in.experts[static_cast<size_t>(e)];
  const int64_t k = w.k;
  const int64_t src = in.x_rows.empty() ? p : in.x_rows[static_cast<size_t>(p)];
  double s = 0.0;
  for (int64_t kk = 0; kk < k; ++kk) {
    const uint8_t byte = w.data[j * (k / 2) + kk / 2];
    const uint8_t code = static_cast<uint8_t>(kk % 2 == 0 ? (byte & 0xFu) : (byte >> 4));
    const double wv =
        static_cast<double>(e2m1_to_f32(code)) * e8m0_to_f32(w.scale[j * (k / kFp4Block) + kk / kFp4Block]);
    const double xv = static_cast<double>(e4m3_to_f32(in.xq[static_cast<size_t>(src * k + kk)])) *
                      in.xs[static_cast<size_t>(src * (k / kFp8Block) + kk / kFp8Block)];
    s += std::fabs(xv * wv);
  }
  return s;
}

}  // namespace dsv4k::emu_test

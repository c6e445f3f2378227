// Grouped GEMMs, SIMT versions, built on the tile of gemm_tile.cuh:
//   - the `wo_a` projection: gemm_fp8_f over column / row slices per group, one grid z
//     index per group (contract dsv4k::ref::gemm_fp8_f_grouped, dsv4k/gemm.h);
//   - the routed experts' FP4 GEMM: the contract of dsv4k::ref::gemm_fp4_grouped_q
//     (dsv4k/moe_dispatch.h).
//
// For the experts, rows come sorted by expert (ref::moe_permute); each block computes one
// kBm x kBn tile of one expert's rows with the GEMM tile of gemm_tile.cuh, so every output
// row is accumulated exactly as gemm_fp4_q would accumulate it (per-32 partial sums promoted
// in increasing k). The (expert, row tile) of a block comes from the device offsets
// (grouped_tiles.cuh): no host round trip.
//
// The tensor-core version of the experts' product is grouped_gemm_mma.cuh; grouped_gemm.cu
// picks between the two.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "cuda/gemm_tile.cuh"
#include "cuda/grouped_tiles.cuh"
#include "dsv4k/gemm.h"

namespace dsv4k::cuda {

namespace grouped_gemm_detail {

// gemm_fp4_q's source over one expert's weights, with row i of a tile starting at permuted
// row `begin` reading x row x_rows[begin + i] (or begin + i).
struct Fp4GroupedQSource {
  static constexpr int64_t kGroup = kFp4Block;
  gemm_detail::Fp4QSource plain;  // rows indexed by x row
  const int32_t* x_rows;
  int64_t begin;
  DSV4_DEVICE int64_t row(int64_t i) const {
    return x_rows != nullptr ? static_cast<int64_t>(x_rows[begin + i]) : begin + i;
  }
  DSV4_DEVICE float x(int64_t i, int64_t k) const { return plain.x(row(i), k); }
  DSV4_DEVICE float w_at(int64_t j, int64_t k) const { return plain.w_at(j, k); }
  DSV4_DEVICE float scale(int64_t i, int64_t j, int64_t g) const { return plain.scale(row(i), j, g); }
};

// Grid: (ceil(n / kBn), max_tiles), block gemm_detail::kThreads.
DSV4_GLOBAL void gemm_fp4_grouped_kernel(QuantizedRows x, const int32_t* x_rows, const int32_t* offsets,
                                         const Fp4Weight* experts, int64_t n_experts, float* y, int64_t ldy,
                                         Round round) {
  const RowTile tile = block_row_tile(offsets, n_experts, gemm_detail::kBm);
  const int64_t e = tile.expert;
  if (e < 0) return;  // the same for the whole block: no barrier is skipped by some threads only
  const int64_t begin = tile.begin;
  const int64_t m = offsets[e + 1] - begin;  // rows left in this expert (the tile takes ≤ kBm)
  const Fp4Weight w = experts[e];
  const Fp4GroupedQSource src{{x.q, x.scale, x.k, w.data, w.scale, x.k, x.k / kFp8Block}, x_rows, begin};
  gemm_detail::gemm_tile(src, 0, m, static_cast<int64_t>(blockIdx.x) * gemm_detail::kBn, w.n, x.k, y + begin * ldy,
                         ldy, round);
}

// Grid: (ceil(n_g / kBn), ceil(m / kBm), n_groups), block gemm_detail::kThreads.
DSV4_GLOBAL void gemm_fp8_f_grouped_kernel(const float* x, int64_t m, int64_t ldx, Fp8Weight w, int64_t n_groups,
                                           float* y, int64_t ldy, Round round) {
  const int64_t g = blockIdx.z;
  const int64_t n_g = w.n / n_groups;
  const int64_t k_blocks = (w.k + kFp8Block - 1) / kFp8Block;
  const gemm_detail::Fp8FSource src{x + g * w.k, ldx, w.data + g * n_g * w.k,
                                    w.scale + (g * n_g / kFp8Block) * k_blocks, w.k, k_blocks};
  gemm_detail::gemm_tile(src, static_cast<int64_t>(blockIdx.y) * gemm_detail::kBm, m,
                         static_cast<int64_t>(blockIdx.x) * gemm_detail::kBn, n_g, w.k, y + g * n_g, ldy, round);
}

}  // namespace grouped_gemm_detail

// ref::gemm_fp8_f_grouped: w.n / n_groups must be a multiple of 128.
inline cudaError_t launch_gemm_fp8_f_grouped(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w,
                                             int64_t n_groups, float* y, int64_t ldy, Round round,
                                             dsv4cu::Stream stream) {
  if (n_groups <= 0 || n_groups > 65535 || w.n % n_groups != 0 || (w.n / n_groups) % kFp8Block != 0)
    return dsv4cu::kInvalidValue;
  if (m <= 0 || w.n <= 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(w.n / n_groups, gemm_detail::kBn)),
                  static_cast<unsigned>(dsv4cu::ceil_div(m, gemm_detail::kBm)), static_cast<unsigned>(n_groups));
  return dsv4cu::launch(grouped_gemm_detail::gemm_fp8_f_grouped_kernel, grid, dim3(gemm_detail::kThreads), 0, stream,
                        x, m, ldx, w, n_groups, y, ldy, round);
}

// experts: device array of n_experts weights (device pointers, all [n, x.k]); n is their
// shared output width. x.m is the number of permuted rows P (= offsets[n_experts]).
inline cudaError_t launch_gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets,
                                             const Fp4Weight* experts, int64_t n_experts, int64_t n, float* y,
                                             int64_t ldy, Round round, dsv4cu::Stream stream) {
  if (x.m <= 0 || n <= 0 || n_experts <= 0) return cudaSuccess;
  const int64_t max_tiles = max_row_tiles(x.m, n_experts, gemm_detail::kBm);
  if (max_tiles > 65535) return dsv4cu::kInvalidValue;  // grid.y limit: split the batch
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(n, gemm_detail::kBn)), static_cast<unsigned>(max_tiles));
  return dsv4cu::launch(grouped_gemm_detail::gemm_fp4_grouped_kernel, grid, dim3(gemm_detail::kThreads), 0, stream,
                        x, x_rows, offsets, experts, n_experts, y, ldy, round);
}

}  // namespace dsv4k::cuda

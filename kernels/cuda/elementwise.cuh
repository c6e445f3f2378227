// Small elementwise ops on the GPU; the contracts are dsv4k::ref::scale, add, moe_combine
// (kernels/include/dsv4k/elementwise.h), dsv4k::ref::swiglu (dsv4k/moe.h) and the backend's
// embedding gather (out[t] = the bf16 table row of tokens[t], exact in fp32). Every op computes
// each output with the reference's operations in the reference's order, so results are
// bit-identical, except swiglu on a GPU, where expf is not correctly rounded (a few ulps).
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

inline constexpr int kElementwiseThreads = 256;
// Grid-stride loops past this many blocks: enough to fill an H100 several times over.
inline constexpr int64_t kElementwiseMaxBlocks = 8192;

DSV4_GLOBAL void scale_kernel(float* x, int64_t n, float factor, Round round) {
  for (int64_t i = dsv4cu::first_index(); i < n; i += dsv4cu::grid_stride())
    x[i] = round_to(x[i] * factor, round);
}

// out may alias a or b: each element is read before it is written, by the same thread.
DSV4_GLOBAL void add_kernel(const float* a, const float* b, float* out, int64_t n, Round round) {
  for (int64_t i = dsv4cu::first_index(); i < n; i += dsv4cu::grid_stride())
    out[i] = round_to(a[i] + b[i], round);
}

// One thread per output element; the k expert rows are added in the given order, then shared.
DSV4_GLOBAL void moe_combine_kernel(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d,
                                    float* out, Round round) {
  const int64_t total = n * d;
  for (int64_t idx = dsv4cu::first_index(); idx < total; idx += dsv4cu::grid_stride()) {
    const int64_t t = idx / d;
    const int64_t i = idx % d;
    float acc = 0.0f;
    for (int64_t j = 0; j < k; ++j) acc += expert_out[(t * k + j) * d + i];
    acc += shared[idx];
    out[idx] = round_to(acc, round);
  }
}

// The clamps are written as the reference's std::min / std::clamp so that NaN propagates the
// same way (fminf would turn a NaN gate into `limit`).
DSV4_GLOBAL void swiglu_kernel(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld,
                               const float* weight, float limit, float* h, int64_t ldh, Round round) {
  const int64_t total = n * inter;
  for (int64_t idx = dsv4cu::first_index(); idx < total; idx += dsv4cu::grid_stride()) {
    const int64_t t = idx / inter;
    const int64_t c = idx % inter;
    const float w = weight != nullptr ? weight[t] : 1.0f;
    const float graw = g[t * ld + c];
    const float uraw = u[t * ld + c];
    const float gv = limit < graw ? limit : graw;
    const float uv = uraw < -limit ? -limit : (limit < uraw ? limit : uraw);
    const float silu = gv / (1.0f + expf(-gv));
    h[t * ldh + c] = round_to(w * (silu * uv), round);
  }
}

DSV4_GLOBAL void embed_kernel(const uint16_t* table, int64_t dim, const int32_t* tokens, int64_t n, float* out) {
  const int64_t total = n * dim;
  for (int64_t idx = dsv4cu::first_index(); idx < total; idx += dsv4cu::grid_stride()) {
    const int64_t t = idx / dim;
    const int64_t i = idx % dim;
    out[idx] = bf16_to_f32(table[static_cast<int64_t>(tokens[t]) * dim + i]);
  }
}

inline cudaError_t launch_scale(float* x, int64_t n, float factor, Round round, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(n, kElementwiseThreads, kElementwiseMaxBlocks);
  return dsv4cu::launch(scale_kernel, grid, dim3(kElementwiseThreads), 0, stream, x, n,
                        factor, round);
}

inline cudaError_t launch_add(const float* a, const float* b, float* out, int64_t n, Round round,
                              dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(n, kElementwiseThreads, kElementwiseMaxBlocks);
  return dsv4cu::launch(add_kernel, grid, dim3(kElementwiseThreads), 0, stream, a, b,
                        out, n, round);
}

inline cudaError_t launch_moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d,
                                      float* out, Round round, dsv4cu::Stream stream) {
  if (n <= 0 || d <= 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(n * d, kElementwiseThreads, kElementwiseMaxBlocks);
  return dsv4cu::launch(moe_combine_kernel, grid, dim3(kElementwiseThreads), 0,
                        stream, expert_out, shared, n, k, d, out, round);
}

inline cudaError_t launch_swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld,
                                 const float* weight, float limit, float* h, int64_t ldh, Round round,
                                 dsv4cu::Stream stream) {
  if (n <= 0 || inter <= 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(n * inter, kElementwiseThreads, kElementwiseMaxBlocks);
  return dsv4cu::launch(swiglu_kernel, grid, dim3(kElementwiseThreads), 0,
                        stream, g, u, n, inter, ld, weight, limit, h, ldh, round);
}

inline cudaError_t launch_embed(const uint16_t* table, int64_t dim, const int32_t* tokens, int64_t n, float* out,
                                dsv4cu::Stream stream) {
  if (n <= 0 || dim <= 0) return cudaSuccess;
  const dim3 grid = dsv4cu::grid_for(n * dim, kElementwiseThreads, kElementwiseMaxBlocks);
  return dsv4cu::launch(embed_kernel, grid, dim3(kElementwiseThreads), 0, stream,
                        table, dim, tokens, n, out);
}

}  // namespace dsv4k::cuda

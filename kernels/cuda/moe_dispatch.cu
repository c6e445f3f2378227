// nvcc instantiation of the MoE dispatch kernels behind kernels/cuda/moe_dispatch.h.
#include "cuda/moe_dispatch.h"

#include "cuda/moe_dispatch.cuh"

namespace dsv4k::cuda {
namespace {
dsv4cu::Stream as_stream(void* stream) { return static_cast<dsv4cu::Stream>(stream); }
}  // namespace

int moe_permute(const int32_t* ids, const float* weights, int64_t n_tokens, int64_t top_k, int64_t n_experts,
                int32_t* offsets, int32_t* token_of, int32_t* position, float* permuted_weights, void* stream) {
  return static_cast<int>(launch_moe_permute(ids, weights, n_tokens, top_k, n_experts, offsets, token_of, position,
                                             permuted_weights, as_stream(stream)));
}

int moe_combine_permuted(const float* ye, int64_t ldy, const int32_t* position, const float* shared, int64_t n,
                         int64_t k, int64_t d, float* out, Round round, void* stream) {
  return static_cast<int>(
      launch_moe_combine_permuted(ye, ldy, position, shared, n, k, d, out, round, as_stream(stream)));
}

}  // namespace dsv4k::cuda

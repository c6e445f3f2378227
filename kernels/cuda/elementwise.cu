#include "cuda/elementwise.h"

#include "cuda/elementwise.cuh"

namespace dsv4k::cuda {

int scale(float* x, int64_t n, float factor, Round round, void* stream) {
  return static_cast<int>(launch_scale(x, n, factor, round, static_cast<dsv4cu::Stream>(stream)));
}

int add(const float* a, const float* b, float* out, int64_t n, Round round, void* stream) {
  return static_cast<int>(launch_add(a, b, out, n, round, static_cast<dsv4cu::Stream>(stream)));
}

int moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d, float* out,
                Round round, void* stream) {
  return static_cast<int>(
      launch_moe_combine(expert_out, shared, n, k, d, out, round, static_cast<dsv4cu::Stream>(stream)));
}

int swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld, const float* weight, float limit,
           float* h, int64_t ldh, Round round, void* stream) {
  return static_cast<int>(
      launch_swiglu(g, u, n, inter, ld, weight, limit, h, ldh, round, static_cast<dsv4cu::Stream>(stream)));
}

int embed(const uint16_t* table, int64_t dim, const int32_t* tokens, int64_t n, float* out, void* stream) {
  return static_cast<int>(launch_embed(table, dim, tokens, n, out, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda

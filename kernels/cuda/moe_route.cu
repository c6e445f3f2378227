// Out-of-line wrappers of the MoE routing launchers (declared in moe_route.h).
#include "cuda/moe_route.h"

#include "cuda/moe_route.cuh"

namespace dsv4k::cuda {

int route_topk(const float* logits, int64_t n, const RouteParams& p, const float* bias, int32_t* ids, float* weights,
               void* stream) {
  return static_cast<int>(
      launch_route_topk(logits, n, p, bias, ids, weights, static_cast<dsv4cu::Stream>(stream)));
}

int route_hash(const float* logits, int64_t n, const RouteParams& p, const int64_t* table_rows, int32_t* ids,
               float* weights, void* stream) {
  return static_cast<int>(
      launch_route_hash(logits, n, p, table_rows, ids, weights, static_cast<dsv4cu::Stream>(stream)));
}

}  // namespace dsv4k::cuda

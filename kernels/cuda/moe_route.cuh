// SIMT MoE routing (spec §2.5; scalar twins in kernels/ref/moe_ref.cpp): score routing
// (sqrt-softplus scores + bias, top_k) and hash routing (experts from a table). Both write the
// chosen experts in ascending id order with weights route_scale · s_e / Σ s, summed in that
// order as the reference does, so ids and weights are bit-identical with it (given the same
// expf / log1pf: the host emulation uses the C library's, as the reference does; the GPU's
// differ by an ulp or so, which moves weights by an ulp and can flip exact key ties).
//
// Logits must be finite for the reference's order to be defined; the kernel ranks NaN keys
// below every other key (lowest id first among them), a total order the warp agrees on.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/moe.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

inline constexpr int kRouteWarpsPerBlock = 4;
inline constexpr int kRouteHashThreads = 128;

namespace route_detail {

DSV4_DEVICE float sqrt_softplus(float x) {
  const float sp = x > 20.0f ? x : log1pf(expf(x));
  return sqrtf(sp);
}

// The reference's pick order as one unsigned 64-bit rank, larger = picked first: the key's
// order-preserving bit pattern above the inverted id (equal keys: the lower id ranks higher).
// -0 ranks as +0 (they tie in the reference); NaN keys rank below every other key; 0 is
// below every rank and means "no candidate". One 64-bit shuffle per reduction step.
DSV4_DEVICE unsigned long long pick_rank(float key, int64_t id) {
  const float k = key == 0.0f ? 0.0f : key;
  const uint32_t bits = f32_bits(k);
  const uint32_t ordered = k != k ? 0u : ((bits & 0x80000000u) != 0u ? ~bits : (bits | 0x80000000u));
  return (static_cast<unsigned long long>(ordered) << 32) | (0xFFFFFFFFu - static_cast<uint32_t>(id));
}

DSV4_DEVICE int rank_id(unsigned long long rank) {
  return static_cast<int>(0xFFFFFFFFu - static_cast<uint32_t>(rank & 0xFFFFFFFFull));
}

// Lane 0 only: sorts the chosen ids, then writes ids and weights exactly as the reference's
// finish_route (the sum runs over the chosen experts in ascending id order).
DSV4_DEVICE void finish_route(const float* logits_row, int64_t top_k, float route_scale, int32_t* chosen, int32_t* ids,
                              float* weights) {
  for (int64_t j = 1; j < top_k; ++j) {
    const int32_t v = chosen[j];
    int64_t k = j;
    for (; k > 0 && chosen[k - 1] > v; --k) chosen[k] = chosen[k - 1];
    chosen[k] = v;
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < top_k; ++j) sum += sqrt_softplus(logits_row[chosen[j]]);
  for (int64_t j = 0; j < top_k; ++j) {
    ids[j] = chosen[j];
    weights[j] = sqrt_softplus(logits_row[chosen[j]]) / sum * route_scale;
  }
}

}  // namespace route_detail

// One warp per token. Lane l owns experts l, l + 32, ...: their keys and taken flags live in
// the warp's slice of dynamic shared memory, touched only by the owning lane, so no warp
// barrier is needed. top_k rounds of a warp argmax pick the experts in the reference's order.
// Shared: warps × (n_experts floats + top_k int32 + n_experts flags).
DSV4_GLOBAL void route_topk_kernel(const float* logits, int64_t n, int64_t n_experts, int64_t top_k, float route_scale,
                                   const float* bias, int32_t* ids, float* weights) {
  namespace d = route_detail;
  DSV4_DYNAMIC_SHARED(unsigned char, smem);
  const int64_t warp = threadIdx.x / 32;
  const int64_t warps = blockDim.x / 32;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * warps + warp;
  if (t >= n) return;  // whole warps only: the block has no barrier
  float* keys = reinterpret_cast<float*>(smem) + warp * n_experts;
  int32_t* chosen = reinterpret_cast<int32_t*>(smem + static_cast<size_t>(warps * n_experts) * sizeof(float)) +
                    warp * top_k;
  unsigned char* taken = smem + static_cast<size_t>(warps * n_experts) * sizeof(float) +
                         static_cast<size_t>(warps * top_k) * sizeof(int32_t) + warp * n_experts;
  const int lane = static_cast<int>(dsv4cu::lane_id());
  const float* lt = logits + t * n_experts;
  for (int64_t e = lane; e < n_experts; e += 32) {
    keys[e] = d::sqrt_softplus(lt[e]) + (bias != nullptr ? bias[e] : 0.0f);
    taken[e] = 0;
  }
  for (int64_t j = 0; j < top_k; ++j) {
    unsigned long long best = 0;
    for (int64_t e = lane; e < n_experts; e += 32) {
      const unsigned long long rank = taken[e] == 0 ? d::pick_rank(keys[e], e) : 0ull;
      best = rank > best ? rank : best;
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      const unsigned long long other = __shfl_xor_sync(dsv4cu::kFullMask, best, offset);
      best = other > best ? other : best;
    }
    // Every lane holds the same maximum; top_k <= n_experts, so it is a real candidate.
    const int best_i = d::rank_id(best);
    if (best_i % 32 == lane) taken[best_i] = 1;
    if (lane == 0) chosen[j] = best_i;
  }
  if (lane == 0) d::finish_route(lt, top_k, route_scale, chosen, ids + t * top_k, weights + t * top_k);
}

// One thread per token: the table row is copied into the output ids and sorted there.
DSV4_GLOBAL void route_hash_kernel(const float* logits, int64_t n, int64_t n_experts, int64_t top_k,
                                   float route_scale, const int64_t* table_rows, int32_t* ids, float* weights) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n) return;
  int32_t* out_ids = ids + t * top_k;
  for (int64_t j = 0; j < top_k; ++j) out_ids[j] = static_cast<int32_t>(table_rows[t * top_k + j]);
  route_detail::finish_route(logits + t * n_experts, top_k, route_scale, out_ids, out_ids, weights + t * top_k);
}

// Requires 1 <= top_k <= n_experts, as the reference.
inline cudaError_t launch_route_topk(const float* logits, int64_t n, const RouteParams& p, const float* bias,
                                     int32_t* ids, float* weights, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  // Decode batches of a token or two get a block of that many warps, not idle ones.
  const int64_t warps = n < kRouteWarpsPerBlock ? n : kRouteWarpsPerBlock;
  const size_t smem = static_cast<size_t>(warps) *
                      (static_cast<size_t>(p.n_experts) * (sizeof(float) + 1) + static_cast<size_t>(p.top_k) * 4);
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(n, warps)));
  return dsv4cu::launch(route_topk_kernel, grid, dim3(static_cast<unsigned>(32 * warps)), smem, stream, logits, n,
                        p.n_experts, p.top_k, p.route_scale, bias, ids, weights);
}

inline cudaError_t launch_route_hash(const float* logits, int64_t n, const RouteParams& p, const int64_t* table_rows,
                                     int32_t* ids, float* weights, dsv4cu::Stream stream) {
  if (n <= 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(n, kRouteHashThreads)));
  return dsv4cu::launch(route_hash_kernel, grid, dim3(kRouteHashThreads), 0, stream, logits, n, p.n_experts, p.top_k,
                        p.route_scale, table_rows, ids, weights);
}

}  // namespace dsv4k::cuda

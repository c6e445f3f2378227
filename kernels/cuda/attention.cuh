// Sparse multi-query attention with a per-head sink: the SIMT twin of dsv4k::ref::sparse_attention
// (spec §2.4.7, contract in dsv4k/attention.h).
//
// One block per (query, group of G heads). All heads of a query attend to the same candidate
// rows (one KV head), so a block reads each candidate row once for its G heads. The softmax is
// two-pass with the global max, as in the reference: pass 1 stores every logit in shared memory
// and finds m; pass 2 forms p = exp(ℓ − m) (rounded to bf16 for P·V when asked; the denominator
// keeps the unrounded fp32 values) and accumulates P·V. So the rounding points are the
// reference's; what differs is fp32 accumulation (the reference accumulates in double) and the
// reduction order of the dot products, the denominator and P·V.
//
// That order is fixed, the same in this kernel and in the split-key kernels of
// attention_split.cuh, so that the two paths agree bit for bit and the launcher may pick either
// from the batch's shape without changing any query's result:
//   - a logit is scale·(q·k) with the channels folded in order by fma (candidate_logits);
//   - the candidates fall in chunks of kChunk = kThreads; the denominator of chunk c is the
//     block reduction of its p (thread i holds candidate c·kChunk + i), and the chunks' sums
//     are folded in chunk order;
//   - P·V of chunk c is an fma chain over its candidates in order, from 0; the chunks' partial
//     sums are folded in chunk order.
// Entries past n_cand and skipped (−1) entries contribute exact zeros, so trailing −1 padding
// (a batch's candidate lists padded to its longest) leaves every result unchanged.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/attention.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

namespace attention_detail {

inline constexpr int kThreads = 256;
inline constexpr int kWarps = kThreads / 32;
inline constexpr int kMaxGroup = 8;  // heads per block; per-thread accumulators are kept in registers
// Candidates per chunk of the fixed reduction order (see the top of this file): one per thread,
// so that a chunk's denominator is one block reduction in either path.
inline constexpr int kChunk = kThreads;
// The kernel's static shared arrays (reduction scratch), plus alignment slack.
inline constexpr size_t kStaticSharedBytes = (kMaxGroup * kThreads + kMaxGroup * kWarps + 2 * kMaxGroup) * 4 + 64;

// Dynamic shared memory of one block: q of the group, logits (then probabilities) of the group,
// the candidate list.
constexpr size_t shared_bytes(int64_t group, int64_t head_dim, int64_t n_cand) {
  return static_cast<size_t>(group * head_dim + group * n_cand) * sizeof(float) +
         static_cast<size_t>(n_cand) * sizeof(int32_t);
}

// Reduces v[g] (g < G) over the block (max or sum) into out[g], visible to every thread on
// return. Through shared memory in a fixed order: a lane per (group, warp) folds its warp's
// 32 values, then a thread per group folds the warps. (Warp shuffles would do the same work,
// but each costs two barriers in the host emulation.)
DSV4_DEVICE void block_reduce_groups(const float* v, float* red, float* red_warp, float* out, int G, bool is_max) {
  const int tid = static_cast<int>(threadIdx.x);
  for (int g = 0; g < kMaxGroup; ++g)
    if (g < G) red[g * kThreads + tid] = v[g];
  __syncthreads();
  if (tid < G * kWarps) {
    const float* r = red + (tid / kWarps) * kThreads + (tid % kWarps) * 32;
    float a = r[0];
    for (int l = 1; l < 32; ++l) a = is_max ? fmaxf(a, r[l]) : a + r[l];
    red_warp[tid] = a;
  }
  __syncthreads();
  if (tid < G) {
    float a = red_warp[tid * kWarps];
    for (int w = 1; w < kWarps; ++w) a = is_max ? fmaxf(a, red_warp[tid * kWarps + w]) : a + red_warp[tid * kWarps + w];
    out[tid] = a;
  }
  __syncthreads();
}

// logit[g] = scale·(q_g·k) for g < G, q_g = qs[g·d, (g+1)·d) (shared), k = kr[0, d) (one
// candidate row). The channels are folded in order by explicit fma and the scale applied by a
// multiply that is never contracted: both attention paths compute every logit here, so their
// logits agree bit for bit whatever nvcc would contract.
DSV4_DEVICE void candidate_logits(const float* qs, int64_t d, const float* kr, int G, float scale, float* logit) {
  float acc[kMaxGroup];
  for (int g = 0; g < kMaxGroup; ++g) acc[g] = 0.0f;
  for (int64_t i = 0; i < d; ++i) {
    const float v = kr[i];
    for (int g = 0; g < kMaxGroup; ++g)
      if (g < G) acc[g] = fmaf(qs[g * d + i], v, acc[g]);
  }
  for (int g = 0; g < kMaxGroup; ++g) logit[g] = dsv4cu::mul_rn(scale, acc[g]);
}

// The output of the fixed order: o = P·V / (e^(sink − m) + Σp), the sink term and the divide
// in double as in the reference (a sink far above every logit must shrink the output, not
// overflow the denominator to inf).
DSV4_DEVICE float attention_output(float pv, float sink, float m, float denom_sum, Round round) {
  const double denom = exp(static_cast<double>(sink) - static_cast<double>(m)) + static_cast<double>(denom_sum);
  return round_to(static_cast<float>(static_cast<double>(pv) / denom), round);
}

}  // namespace attention_detail

// grid (ceil(n_heads / group), n_q), block kThreads.
DSV4_GLOBAL void sparse_attention_kernel(const float* q, int64_t ldq, int64_t n_heads, int64_t head_dim, float scale,
                                         const float* kv, int64_t ldkv, const int32_t* cand, int64_t n_cand,
                                         const float* sink, float* out, int64_t ldo, int group, Round round) {
  using namespace attention_detail;
  const int64_t d = head_dim;
  const int64_t t = blockIdx.y;
  const int64_t h0 = static_cast<int64_t>(blockIdx.x) * group;
  const int64_t g_rem = n_heads - h0;
  const int G = g_rem < group ? static_cast<int>(g_rem) : group;  // heads of this block
  const int tid = static_cast<int>(threadIdx.x);

  DSV4_DYNAMIC_SHARED(float, smem);
  float* qs = smem;                     // [G][d]
  float* prob = qs + group * d;         // [G][n_cand]: logits, then probabilities
  int32_t* cidx = reinterpret_cast<int32_t*>(prob + group * n_cand);  // [n_cand]
  DSV4_SHARED_ARRAY(float, red, kMaxGroup * kThreads);
  DSV4_SHARED_ARRAY(float, red_warp, kMaxGroup * kWarps);
  DSV4_SHARED_ARRAY(float, gmax, kMaxGroup);
  DSV4_SHARED_ARRAY(float, gsum, kMaxGroup);

  const float* qt = q + t * ldq + h0 * d;
  for (int64_t e = tid; e < static_cast<int64_t>(G) * d; e += kThreads) qs[e] = qt[e];
  const int32_t* ct = cand + t * n_cand;
  for (int64_t j = tid; j < n_cand; j += kThreads) cidx[j] = ct[j];
  __syncthreads();

  // Pass 1: a thread per candidate row computes its G logits (the G queries are broadcast
  // reads from shared memory).
  const float neg_inf = -__int_as_float(0x7F800000);
  float part[kMaxGroup];
  for (int g = 0; g < kMaxGroup; ++g) part[g] = neg_inf;
  for (int64_t j = tid; j < n_cand; j += kThreads) {
    const int32_t c = cidx[j];
    if (c < 0) continue;  // skipped entries take no part in max, denominator or P·V
    float logit[kMaxGroup];
    candidate_logits(qs, d, kv + static_cast<int64_t>(c) * ldkv, G, scale, logit);
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g >= G) break;
      prob[g * n_cand + j] = logit[g];
      part[g] = fmaxf(part[g], logit[g]);
    }
  }
  block_reduce_groups(part, red, red_warp, gmax, G, true);

  // Pass 2a: probabilities with the global max; the denominator sums the unrounded values,
  // a block reduction per chunk folded in chunk order. Thread g < G computes the reduction's
  // result for head g itself, so it keeps the running fold in a register.
  float denom_sum = 0.0f;
  for (int64_t c0 = 0; c0 < n_cand; c0 += kChunk) {
    const int64_t j = c0 + tid;
    for (int g = 0; g < kMaxGroup; ++g) {
      part[g] = 0.0f;
      if (g >= G || j >= n_cand) continue;
      if (cidx[j] >= 0) part[g] = expf(prob[g * n_cand + j] - gmax[g]);
      prob[g * n_cand + j] = round_to(part[g], round);
    }
    block_reduce_groups(part, red, red_warp, gsum, G, false);
    if (tid < G) denom_sum += gsum[tid];
  }
  // Thread g < G alone reads and writes gsum[g] until this barrier.
  if (tid < G) gsum[tid] = denom_sum;
  __syncthreads();

  // Pass 2b: a thread per output channel accumulates P·V, an fma chain per chunk in candidate
  // order, the chunks folded in order.
  for (int64_t i = tid; i < d; i += kThreads) {
    float acc[kMaxGroup];
    for (int g = 0; g < kMaxGroup; ++g) acc[g] = 0.0f;
    for (int64_t c0 = 0; c0 < n_cand; c0 += kChunk) {
      const int64_t c1 = c0 + kChunk < n_cand ? c0 + kChunk : n_cand;
      float chunk[kMaxGroup];
      for (int g = 0; g < kMaxGroup; ++g) chunk[g] = 0.0f;
      for (int64_t j = c0; j < c1; ++j) {
        const int32_t c = cidx[j];
        if (c < 0) continue;
        const float v = kv[static_cast<int64_t>(c) * ldkv + i];
        for (int g = 0; g < kMaxGroup; ++g)
          if (g < G) chunk[g] = fmaf(prob[g * n_cand + j], v, chunk[g]);
      }
      for (int g = 0; g < kMaxGroup; ++g) acc[g] += chunk[g];
    }
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g >= G) break;
      out[t * ldo + (h0 + g) * d + i] = attention_output(acc[g], sink[h0 + g], gmax[g], gsum[g], round);
    }
  }
}

// As launch_sparse_attention with an explicit group (1..kMaxGroup heads per block); the tests
// use it to cover every group size.
inline cudaError_t launch_sparse_attention_group(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s,
                                                 const float* kv, int64_t ldkv, const int32_t* cand, int64_t n_cand,
                                                 const float* sink, float* out, int64_t ldo, Round round, int group,
                                                 dsv4cu::Stream stream) {
  using namespace attention_detail;
  if (group < 1 || group > kMaxGroup || n_q < 0 || n_q > 65535 || n_cand < 0 || s.n_heads < 0 || s.head_dim < 0)
    return dsv4cu::kInvalidValue;
  if (n_q == 0 || s.n_heads == 0 || s.head_dim == 0) return cudaSuccess;
  const size_t smem = shared_bytes(group, s.head_dim, n_cand);
  const cudaError_t err = dsv4cu::allow_shared(sparse_attention_kernel, smem, kStaticSharedBytes);
  if (err != cudaSuccess) return err;
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(s.n_heads, group)), static_cast<unsigned>(n_q));
  return dsv4cu::launch(sparse_attention_kernel, grid, dim3(kThreads), smem, stream, q, ldq, s.n_heads, s.head_dim,
                        s.scale, kv, ldkv, cand, n_cand, sink, out, ldo, group, round);
}

// Same arguments as dsv4k::ref::sparse_attention; n_q ≤ 65535 (queries are grid.y). The group
// shrinks while the grid is small (decode: few queries), so that the heads of one query still
// spread over many SMs, and while a block would need more than the default 48 KiB of shared
// memory. The overload with scratch in attention_split.cuh may take the split-key path instead.
inline cudaError_t launch_sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s,
                                           const float* kv, int64_t ldkv, const int32_t* cand, int64_t n_cand,
                                           const float* sink, float* out, int64_t ldo, Round round,
                                           dsv4cu::Stream stream) {
  using namespace attention_detail;
  int group = kMaxGroup;
  while (group > 1 && (n_q * dsv4cu::ceil_div(s.n_heads, group) < 256 ||
                       shared_bytes(group, s.head_dim, n_cand) + kStaticSharedBytes > dsv4cu::kDefaultSharedBytes))
    group /= 2;
  return launch_sparse_attention_group(q, n_q, ldq, s, kv, ldkv, cand, n_cand, sink, out, ldo, round, group, stream);
}

}  // namespace dsv4k::cuda

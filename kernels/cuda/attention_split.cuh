// Sparse attention split over the candidates (flash-decoding), for decode: a few queries over
// long candidate lists, where attention.cuh's one block per (query, head group) leaves most SMs
// idle and each block walks every candidate serially.
//
// Three kernels per tile of queries, each block over one chunk of kChunk candidates:
//   1. logits:   grid (n_chunks, head groups, queries). The chunk's logits go to scratch, and
//                the chunk's max.
//   2. partials: same grid. The chunk maxes fold into the global max m; the block forms the
//                chunk's p = exp(ℓ − m) (rounded to bf16 for P·V when asked) and writes the
//                chunk's denominator (sum of the unrounded p) and P·V.
//   3. combine:  grid (channel blocks, queries). Folds the chunks' denominators and P·V in chunk
//                order and divides, the sink term in double.
// Every reduction follows the fixed order of attention.cuh (no atomics), so this path and the
// single-block kernel give the same bits, and a query's result depends neither on its batch nor
// on the path. The global max is what keeps the reference's rounding points: classic
// flash-decoding rescales per-split maxes, which would round each p to bf16 relative to another
// max and so change the bf16 values that feed P·V.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/attention.cuh"
#include "cuda/compat.cuh"
#include "dsv4k/attention.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

namespace attention_split_detail {

using attention_detail::kChunk;
using attention_detail::kMaxGroup;
using attention_detail::kThreads;
using attention_detail::kWarps;

// Where the split path is taken (see split_plan).
inline constexpr int64_t kFullGridBlocks = 512;  // ≈ 4 blocks of kThreads per SM on an H100 (132 SMs)
inline constexpr int64_t kMinChunks = 3;
// Scratch one launch may use; longer batches run in tiles of queries.
inline constexpr size_t kScratchCapBytes = size_t{64} << 20;

// Scratch regions of a tile of n_t queries, as offsets in floats (each 256-byte aligned).
struct SplitLayout {
  int64_t logits = 0;  // [n_t, n_heads, n_cand]
  int64_t cmax = 0;    // [n_t, n_heads, n_chunks] chunk maxes of the logits
  int64_t csum = 0;    // [n_t, n_heads, n_chunks] chunk sums of the unrounded p
  int64_t cpv = 0;     // [n_chunks, n_t, n_heads, head_dim] chunk P·V
  size_t bytes = 0;
};

constexpr int64_t aligned_floats(int64_t n) { return (n + 63) / 64 * 64; }

constexpr SplitLayout split_layout(int64_t n_t, int64_t n_heads, int64_t head_dim, int64_t n_cand) {
  const int64_t n_chunks = dsv4cu::ceil_div(n_cand, kChunk);
  const int64_t rows = n_t * n_heads;
  SplitLayout l;
  l.cmax = aligned_floats(rows * n_cand);
  l.csum = l.cmax + aligned_floats(rows * n_chunks);
  l.cpv = l.csum + aligned_floats(rows * n_chunks);
  l.bytes = static_cast<size_t>(l.cpv + n_chunks * rows * head_dim) * sizeof(float);
  return l;
}

// grid (n_chunks, ceil(n_heads / group), n_t), block kThreads; dynamic shared [group][head_dim].
DSV4_GLOBAL void split_logits_kernel(const float* q, int64_t ldq, int64_t n_heads, int64_t head_dim, float scale,
                                     const float* kv, int64_t ldkv, const int32_t* cand, int64_t n_cand, int group,
                                     float* logits, float* cmax) {
  using namespace attention_detail;
  const int64_t d = head_dim, n_chunks = gridDim.x;
  const int64_t c = blockIdx.x, t = blockIdx.z;
  const int64_t h0 = static_cast<int64_t>(blockIdx.y) * group;
  const int G = n_heads - h0 < group ? static_cast<int>(n_heads - h0) : group;
  const int tid = static_cast<int>(threadIdx.x);

  DSV4_DYNAMIC_SHARED(float, qs);  // [G][d]
  DSV4_SHARED_ARRAY(float, red, kMaxGroup * kThreads);
  DSV4_SHARED_ARRAY(float, red_warp, kMaxGroup * kWarps);
  DSV4_SHARED_ARRAY(float, gmax, kMaxGroup);

  const float* qt = q + t * ldq + h0 * d;
  for (int64_t e = tid; e < static_cast<int64_t>(G) * d; e += kThreads) qs[e] = qt[e];
  __syncthreads();

  const float neg_inf = -__int_as_float(0x7F800000);
  float part[kMaxGroup];
  for (int g = 0; g < kMaxGroup; ++g) part[g] = neg_inf;
  const int64_t j = c * kChunk + tid;
  const int32_t cj = j < n_cand ? cand[t * n_cand + j] : -1;
  if (cj >= 0) {  // skipped entries take no part in max, denominator or P·V
    float logit[kMaxGroup];
    candidate_logits(qs, d, kv + static_cast<int64_t>(cj) * ldkv, G, scale, logit);
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g >= G) break;
      logits[(t * n_heads + h0 + g) * n_cand + j] = logit[g];
      part[g] = logit[g];
    }
  }
  block_reduce_groups(part, red, red_warp, gmax, G, true);
  if (tid < G) cmax[(t * n_heads + h0 + tid) * n_chunks + c] = gmax[tid];
}

// grid (n_chunks, ceil(n_heads / group), n_t), block kThreads.
DSV4_GLOBAL void split_partials_kernel(int64_t n_heads, int64_t head_dim, const float* kv, int64_t ldkv,
                                       const int32_t* cand, int64_t n_cand, int group, Round round,
                                       const float* logits, const float* cmax, float* csum, float* cpv) {
  using namespace attention_detail;
  const int64_t d = head_dim, n_chunks = gridDim.x, n_t = gridDim.z;
  const int64_t c = blockIdx.x, t = blockIdx.z;
  const int64_t h0 = static_cast<int64_t>(blockIdx.y) * group;
  const int G = n_heads - h0 < group ? static_cast<int>(n_heads - h0) : group;
  const int tid = static_cast<int>(threadIdx.x);

  DSV4_SHARED_ARRAY(float, prob, kMaxGroup * kChunk);  // [G][kChunk] p as P·V uses it
  DSV4_SHARED_ARRAY(int32_t, cidx, kChunk);
  DSV4_SHARED_ARRAY(float, red, kMaxGroup * kThreads);
  DSV4_SHARED_ARRAY(float, red_warp, kMaxGroup * kWarps);
  DSV4_SHARED_ARRAY(float, gmax, kMaxGroup);
  DSV4_SHARED_ARRAY(float, gsum, kMaxGroup);

  // The global max: fmax is exact, so any fold of the chunk maxes gives the single-block m.
  if (tid < G) {
    const float* cm = cmax + (t * n_heads + h0 + tid) * n_chunks;
    float m = cm[0];
    for (int64_t k = 1; k < n_chunks; ++k) m = fmaxf(m, cm[k]);
    gmax[tid] = m;
  }
  const int64_t j = c * kChunk + tid;
  const int32_t cj = j < n_cand ? cand[t * n_cand + j] : -1;
  cidx[tid] = cj;
  __syncthreads();

  float part[kMaxGroup];
  for (int g = 0; g < kMaxGroup; ++g) part[g] = 0.0f;
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g >= G) break;
    if (cj >= 0) part[g] = expf(logits[(t * n_heads + h0 + g) * n_cand + j] - gmax[g]);
    prob[g * kChunk + tid] = round_to(part[g], round);
  }
  block_reduce_groups(part, red, red_warp, gsum, G, false);  // its barriers also publish prob
  if (tid < G) csum[(t * n_heads + h0 + tid) * n_chunks + c] = gsum[tid];

  const int64_t n_in = n_cand - c * kChunk < kChunk ? n_cand - c * kChunk : kChunk;
  for (int64_t i = tid; i < d; i += kThreads) {
    float acc[kMaxGroup];
    for (int g = 0; g < kMaxGroup; ++g) acc[g] = 0.0f;
    for (int64_t jj = 0; jj < n_in; ++jj) {
      const int32_t r = cidx[jj];
      if (r < 0) continue;
      const float v = kv[static_cast<int64_t>(r) * ldkv + i];
      for (int g = 0; g < kMaxGroup; ++g)
        if (g < G) acc[g] = fmaf(prob[g * kChunk + jj], v, acc[g]);
    }
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g >= G) break;
      cpv[((c * n_t + t) * n_heads + h0 + g) * d + i] = acc[g];
    }
  }
}

// grid (ceil(n_heads·head_dim / kThreads), n_t), block kThreads: a thread per output element.
DSV4_GLOBAL void split_combine_kernel(int64_t n_heads, int64_t head_dim, int64_t n_chunks, const float* sink,
                                      const float* cmax, const float* csum, const float* cpv, float* out,
                                      int64_t ldo, Round round) {
  using namespace attention_detail;
  const int64_t n_t = gridDim.y, t = blockIdx.y;
  const int64_t e = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (e >= n_heads * head_dim) return;
  const int64_t h = e / head_dim;
  const float* cm = cmax + (t * n_heads + h) * n_chunks;
  const float* cs = csum + (t * n_heads + h) * n_chunks;
  float m = -__int_as_float(0x7F800000), denom_sum = 0.0f, pv = 0.0f;
  for (int64_t k = 0; k < n_chunks; ++k) {
    m = fmaxf(m, cm[k]);
    denom_sum += cs[k];
    pv += cpv[(k * n_t + t) * n_heads * head_dim + e];
  }
  out[t * ldo + e] = attention_output(pv, sink[h], m, denom_sum, round);
}

// Heads per block, queries per launch and scratch of the split path for a batch.
struct SplitPlan {
  bool use = false;  // whether launch_sparse_attention (with scratch) takes the split path
  int group = kMaxGroup;
  int64_t tile_q = 0;
  size_t scratch_bytes = 0;
};

// The split path is taken when the single-block grid would be small and the candidate lists
// long:
//  - n_q·ceil(n_heads / kMaxGroup) < kFullGridBlocks: at its most economical group (8 heads
//    share each kv read) the single-block grid would not give each SM about four blocks, and
//    shrinking the group to make up the count multiplies the kv reads; either way each block
//    walks all n_cand candidates serially;
//  - at least kMinChunks chunks: the split's two extra launches and its scratch round trip
//    (the logits, and a head_dim vector per chunk and head) must buy an at least three times
//    shorter serial walk per block. (A guess from the cost model, to be tuned on the GPU
//    bench's decode cases.)
// It is also taken whenever the single-block kernel cannot run: it keeps every logit in shared
// memory, which one block cannot hold past ~28K candidates (head_dim 512).
// Both paths give the same bits, so this is a speed choice only. Within the split path the
// group shrinks (as in the single-block launcher) until the grid has kFullGridBlocks blocks,
// and the queries run in tiles whose scratch stays under kScratchCapBytes.
inline SplitPlan split_plan(int64_t n_q, const AttentionShape& s, int64_t n_cand) {
  using attention_detail::kStaticSharedBytes;
  using attention_detail::shared_bytes;
  SplitPlan p;
  const int64_t n_chunks = dsv4cu::ceil_div(n_cand, kChunk);
  if (n_q <= 0 || s.n_heads <= 0 || s.head_dim <= 0 || n_cand <= 0) return p;
  const bool small_grid = n_q * dsv4cu::ceil_div(s.n_heads, kMaxGroup) < kFullGridBlocks && n_chunks >= kMinChunks;
  const bool too_long = shared_bytes(1, s.head_dim, n_cand) + kStaticSharedBytes > dsv4cu::kMaxSharedBytes;
  p.use = small_grid || too_long;
  // A query's share of the scratch, plus the regions' alignment padding.
  const size_t per_query = split_layout(1, s.n_heads, s.head_dim, n_cand).bytes;
  const int64_t fit = static_cast<int64_t>(kScratchCapBytes / (per_query + 1024));
  p.tile_q = fit < 1 ? 1 : (fit < n_q ? fit : n_q);
  if (p.tile_q > 65535) p.tile_q = 65535;  // queries are grid.z
  while (p.group > 1 && n_chunks * dsv4cu::ceil_div(s.n_heads, p.group) * p.tile_q < kFullGridBlocks) p.group /= 2;
  p.scratch_bytes = split_layout(p.tile_q, s.n_heads, s.head_dim, n_cand).bytes;
  return p;
}

}  // namespace attention_split_detail

// Scratch bytes launch_sparse_attention_split needs for tiles of tile_q queries.
inline size_t sparse_attention_split_scratch_bytes(int64_t tile_q, const AttentionShape& s, int64_t n_cand) {
  return attention_split_detail::split_layout(tile_q, s.n_heads, s.head_dim, n_cand).bytes;
}

// The split path with an explicit group (1..kMaxGroup heads per block) and tile (queries per
// launch); the tests use it to cover both. Same arguments as dsv4k::ref::sparse_attention, plus
// scratch: device memory of scratch_bytes ≥ sparse_attention_split_scratch_bytes(min(n_q,
// tile_q), s, n_cand), 4-byte aligned.
inline cudaError_t launch_sparse_attention_split(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s,
                                                 const float* kv, int64_t ldkv, const int32_t* cand, int64_t n_cand,
                                                 const float* sink, float* out, int64_t ldo, Round round, int group,
                                                 int64_t tile_q, void* scratch, size_t scratch_bytes,
                                                 dsv4cu::Stream stream) {
  using namespace attention_split_detail;
  if (group < 1 || group > kMaxGroup || tile_q < 1 || n_q < 0 || n_cand < 0 || s.n_heads < 0 || s.head_dim < 0)
    return dsv4cu::kInvalidValue;
  if (n_q == 0 || s.n_heads == 0 || s.head_dim == 0) return cudaSuccess;
  const int64_t n_t = tile_q < n_q ? tile_q : n_q;
  const int64_t n_chunks = dsv4cu::ceil_div(n_cand, kChunk);
  const int64_t n_groups = dsv4cu::ceil_div(s.n_heads, group);
  const SplitLayout l = split_layout(n_t, s.n_heads, s.head_dim, n_cand);
  if (n_t > 65535 || n_groups > 65535 || n_chunks > 0x7FFFFFFF || scratch == nullptr || scratch_bytes < l.bytes ||
      reinterpret_cast<uintptr_t>(scratch) % alignof(float) != 0)
    return dsv4cu::kInvalidValue;
  const size_t smem = static_cast<size_t>(group * s.head_dim) * sizeof(float);
  cudaError_t err = dsv4cu::allow_shared(split_logits_kernel, smem, attention_detail::kStaticSharedBytes);
  if (err != cudaSuccess) return err;

  float* base = static_cast<float*>(scratch);
  float *logits = base + l.logits, *cmax = base + l.cmax, *csum = base + l.csum, *cpv = base + l.cpv;
  const int64_t hd = s.n_heads * s.head_dim;
  // Tiles reuse the scratch: each tile's kernels are stream-ordered after the previous tile's.
  for (int64_t t0 = 0; t0 < n_q; t0 += n_t) {
    const int64_t m = n_q - t0 < n_t ? n_q - t0 : n_t;
    const int32_t* ct = cand + t0 * n_cand;
    if (n_chunks > 0) {
      const dim3 grid(static_cast<unsigned>(n_chunks), static_cast<unsigned>(n_groups), static_cast<unsigned>(m));
      err = dsv4cu::launch(split_logits_kernel, grid, dim3(kThreads), smem, stream, q + t0 * ldq, ldq, s.n_heads,
                           s.head_dim, s.scale, kv, ldkv, ct, n_cand, group, logits, cmax);
      if (err != cudaSuccess) return err;
      err = dsv4cu::launch(split_partials_kernel, grid, dim3(kThreads), 0, stream, s.n_heads, s.head_dim, kv, ldkv,
                           ct, n_cand, group, round, static_cast<const float*>(logits),
                           static_cast<const float*>(cmax), csum, cpv);
      if (err != cudaSuccess) return err;
    }
    const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(hd, kThreads)), static_cast<unsigned>(m));
    err = dsv4cu::launch(split_combine_kernel, grid, dim3(kThreads), 0, stream, s.n_heads, s.head_dim, n_chunks, sink,
                         static_cast<const float*>(cmax), static_cast<const float*>(csum),
                         static_cast<const float*>(cpv), out + t0 * ldo, ldo, round);
    if (err != cudaSuccess) return err;
  }
  return cudaSuccess;
}

// Scratch bytes launch_sparse_attention with scratch needs for this batch; 0 where it takes the
// single-block path.
inline size_t launch_sparse_attention_scratch_bytes(int64_t n_q, const AttentionShape& s, int64_t n_cand) {
  const attention_split_detail::SplitPlan p = attention_split_detail::split_plan(n_q, s, n_cand);
  return p.use ? p.scratch_bytes : 0;
}

// As launch_sparse_attention in attention.cuh, free to take the split path where split_plan
// picks it; scratch: device memory of scratch_bytes ≥ launch_sparse_attention_scratch_bytes(n_q,
// s, n_cand). The results are the same bits either way.
inline cudaError_t launch_sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s,
                                           const float* kv, int64_t ldkv, const int32_t* cand, int64_t n_cand,
                                           const float* sink, float* out, int64_t ldo, Round round, void* scratch,
                                           size_t scratch_bytes, dsv4cu::Stream stream) {
  const attention_split_detail::SplitPlan p = attention_split_detail::split_plan(n_q, s, n_cand);
  if (!p.use) return launch_sparse_attention(q, n_q, ldq, s, kv, ldkv, cand, n_cand, sink, out, ldo, round, stream);
  return launch_sparse_attention_split(q, n_q, ldq, s, kv, ldkv, cand, n_cand, sink, out, ldo, round, p.group,
                                       p.tile_q, scratch, scratch_bytes, stream);
}

}  // namespace dsv4k::cuda

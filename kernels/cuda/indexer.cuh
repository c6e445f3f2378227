// Lightning indexer scoring and top-k row selection: the SIMT twins of dsv4k::ref::indexer_scores
// and dsv4k::ref::topk_rows (spec §2.4.6, contracts in dsv4k/indexer.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/indexer.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

namespace indexer_detail {

inline constexpr int kThreads = 256;
inline constexpr int kWarps = kThreads / 32;
inline constexpr int kKeysPerStep = 4;                             // keys a warp scores at once
inline constexpr int64_t kTileKeys = kWarps * kKeysPerStep;  // keys per block
inline constexpr int kPartialLd = 33;  // doubles per key in the head-sum scratch (odd: no bank conflicts)
inline constexpr size_t kScoresStaticBytes = kTileKeys * kPartialLd * sizeof(double) + 64;
inline constexpr int64_t kMaxTopkSort = 16384;                     // largest min(k, n_keys) topk_rows sorts

// A 64-bit key whose unsigned order is the reference's order: score descending, then index
// ascending. Scores map to their order-preserving bit pattern (−0 is +0, as `==` has it);
// the low half is the complemented index so that a lower index is the larger key.
DSV4_DEVICE uint64_t topk_key(float score, int64_t i) {
  uint32_t u = score == 0.0f ? 0u : f32_bits(score);
  u = (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
  return (static_cast<uint64_t>(u) << 32) | static_cast<uint64_t>(0xFFFFFFFFu - static_cast<uint32_t>(i));
}

}  // namespace indexer_detail

// grid (ceil(n_keys / kTileKeys), n_q), block kThreads. A lane owns heads lane, lane + 32, ...
// and computes each dot product sequentially in fp32 (q in shared memory, rows padded by one
// float so that the 32 lanes read 32 different banks), for kKeysPerStep keys at once so that
// every q value read serves several keys. The head sum is in double like the reference's, so
// only the fp32 dot products differ from it.
DSV4_GLOBAL void indexer_scores_kernel(const float* q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                                       const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores,
                                       Round round) {
  using namespace indexer_detail;
  const int64_t t = blockIdx.y;
  const int64_t s_begin = static_cast<int64_t>(blockIdx.x) * kTileKeys;
  const int64_t s_end = s_begin + kTileKeys < n_keys ? s_begin + kTileKeys : n_keys;
  const int64_t nv = n_visible[t];
  const int64_t vis_end = nv < s_begin ? s_begin : (nv < s_end ? nv : s_end);
  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid / 32;
  const int lane = tid % 32;
  float* st = scores + t * n_keys;
  const float neg_inf = -__int_as_float(0x7F800000);
  for (int64_t s = vis_end + tid; s < s_end; s += kThreads) st[s] = neg_inf;
  if (vis_end == s_begin) return;  // the whole tile is invisible to this query

  const int64_t d = head_dim;
  const int64_t ldqs = d + 1;
  DSV4_DYNAMIC_SHARED(float, qs);  // [n_heads][d + 1], then w [n_heads]
  float* ws = qs + n_heads * ldqs;
  const float* qt = q + t * ldq;
  for (int64_t e = tid; e < n_heads * d; e += kThreads) qs[(e / d) * ldqs + e % d] = qt[e];
  for (int64_t h = tid; h < n_heads; h += kThreads) ws[h] = w[t * n_heads + h];
  __syncthreads();

  // A warp scores kKeysPerStep keys; lane l sums its heads l, l + 32, ... in double.
  DSV4_SHARED_ARRAY(double, partial, kTileKeys * kPartialLd);
  const int64_t s0 = s_begin + warp * kKeysPerStep;
  if (s0 < vis_end) {
    const float* kp[kKeysPerStep];
    for (int kk = 0; kk < kKeysPerStep; ++kk) {
      const int64_t s = s0 + kk < vis_end ? s0 + kk : vis_end - 1;  // past the end: a duplicate, not written
      kp[kk] = keys + s * d;
    }
    double total[kKeysPerStep] = {};
    for (int64_t h = lane; h < n_heads; h += 32) {
      const float* qh = qs + h * ldqs;
      float acc[kKeysPerStep] = {};
      for (int64_t i = 0; i < d; ++i) {
        const float qv = qh[i];
        for (int kk = 0; kk < kKeysPerStep; ++kk) acc[kk] += qv * kp[kk][i];
      }
      const float wh = ws[h];
      for (int kk = 0; kk < kKeysPerStep; ++kk) {
        const float dot = round_to(acc[kk], round);
        const float relu = dot < 0.0f ? 0.0f : dot;  // std::max(dot, 0.0f), NaN and −0 included
        total[kk] += static_cast<double>(round_to(relu * wh, round));
      }
    }
    for (int kk = 0; kk < kKeysPerStep; ++kk) partial[(warp * kKeysPerStep + kk) * kPartialLd + lane] = total[kk];
  }
  __syncthreads();
  // A thread per key folds the 32 lane sums in lane order (shared memory rather than warp
  // shuffles, which cost two barriers each in the host emulation).
  if (tid < kTileKeys && s_begin + tid < vis_end) {
    const double* pk = partial + tid * kPartialLd;
    double sum = 0.0;
    for (int l = 0; l < 32; ++l) sum += pk[l];
    st[s_begin + tid] = round_to(static_cast<float>(sum), round);
  }
}

// Same arguments as dsv4k::ref::indexer_scores; n_q ≤ 65535 (queries are grid.y).
inline cudaError_t launch_indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim,
                                         const float* w, const float* keys, int64_t n_keys, const int64_t* n_visible,
                                         float* scores, Round round, dsv4cu::Stream stream) {
  using namespace indexer_detail;
  if (n_q < 0 || n_q > 65535 || n_heads < 0 || head_dim < 0 || n_keys < 0) return dsv4cu::kInvalidValue;  // grid.y
  if (n_q == 0 || n_keys == 0) return cudaSuccess;
  const size_t smem = static_cast<size_t>(n_heads * (head_dim + 1) + n_heads) * sizeof(float);
  const cudaError_t err = dsv4cu::allow_shared(indexer_scores_kernel, smem, kScoresStaticBytes);
  if (err != cudaSuccess) return err;
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(n_keys, kTileKeys)), static_cast<unsigned>(n_q));
  return dsv4cu::launch(indexer_scores_kernel, grid, dim3(kThreads), smem, stream, q, ldq, n_heads, head_dim, w, keys,
                        n_keys, n_visible, scores, round);
}

// grid (n_q), block kThreads, dynamic shared memory `sort_size` 64-bit keys (a power of two
// ≥ min(k, n_keys)). The reference's order (score descending, ties: lower index first) is a
// strict total order on (score, index), so the selection is exact and needs no stable sort:
//   1. radix select, 8 bits a pass from the top, finds the k-th largest key; a pass stops the
//      search once the bin holding the k-th key is taken whole;
//   2. every key at or above it goes to shared memory (in any order);
//   3. a bitonic sort puts them in the reference's order.
DSV4_GLOBAL void topk_rows_kernel(const float* scores, int64_t n_keys, const int64_t* n_visible, int64_t k,
                                  int64_t sort_size, int32_t* idx) {
  using namespace indexer_detail;
  const int64_t t = blockIdx.x;
  const int tid = static_cast<int>(threadIdx.x);
  int64_t n = n_visible[t] < n_keys ? n_visible[t] : n_keys;
  if (n < 0) n = 0;
  const int64_t kk = k < n ? k : n;
  int32_t* out = idx + t * k;
  if (kk == 0) {
    for (int64_t j = tid; j < k; j += kThreads) out[j] = -1;
    return;
  }
  const float* st = scores + t * n_keys;

  DSV4_SHARED_ARRAY(unsigned, hist, 256);
  DSV4_SHARED_ARRAY(uint64_t, sel, 2);  // the selected key prefix, and the bits it fixes
  DSV4_SHARED_ARRAY(int64_t, state, 2);  // keys still to take inside the prefix; done flag
  DSV4_SHARED_ARRAY(unsigned, count, 1);
  DSV4_DYNAMIC_SHARED(uint64_t, buf);
  if (tid == 0) {
    sel[0] = 0;
    sel[1] = 0;
    state[0] = kk;
    state[1] = 0;
    count[0] = 0;
  }
  __syncthreads();

  for (int shift = 56; shift >= 0; shift -= 8) {
    if (state[1] != 0) break;
    for (int b = tid; b < 256; b += kThreads) hist[b] = 0;
    __syncthreads();
    const uint64_t prefix = sel[0], mask = sel[1];
    for (int64_t i = tid; i < n; i += kThreads) {
      const uint64_t key = topk_key(st[i], i);
      if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 0xFFu], 1u);
    }
    __syncthreads();
    if (tid == 0) {
      int64_t above = 0;
      const int64_t want = state[0];
      for (int b = 255; b >= 0; --b) {
        const int64_t c = hist[b];
        if (above + c >= want) {
          sel[0] = prefix | (static_cast<uint64_t>(b) << shift);
          sel[1] = mask | (static_cast<uint64_t>(0xFFu) << shift);
          state[0] = want - above;
          if (c == want - above) state[1] = 1;  // the whole bin is taken: no finer search
          break;
        }
        above += c;
      }
    }
    __syncthreads();
  }

  // Keys are distinct, so at most one key per bin remains after the last pass and the loop has
  // always stopped with exactly kk keys at or above the prefix.
  const uint64_t prefix = sel[0], mask = sel[1];
  for (int64_t i = tid; i < n; i += kThreads) {
    const uint64_t key = topk_key(st[i], i);
    if ((key & mask) >= prefix) buf[atomicAdd(&count[0], 1u)] = key;
  }
  for (int64_t j = kk + tid; j < sort_size; j += kThreads) buf[j] = 0;  // below every real key
  __syncthreads();

  for (int64_t size = 2; size <= sort_size; size *= 2) {
    for (int64_t stride = size / 2; stride > 0; stride /= 2) {
      for (int64_t e = tid; e < sort_size / 2; e += kThreads) {
        const int64_t i = 2 * e - (e & (stride - 1));
        const int64_t j = i + stride;
        const uint64_t a = buf[i], b = buf[j];
        const bool descending = (i & size) == 0;
        if (descending ? a < b : a > b) {
          buf[i] = b;
          buf[j] = a;
        }
      }
      __syncthreads();
    }
  }
  for (int64_t j = tid; j < k; j += kThreads)
    out[j] = j < kk ? static_cast<int32_t>(0xFFFFFFFFu - static_cast<uint32_t>(buf[j])) : -1;
}

// Same arguments as dsv4k::ref::topk_rows. min(k, n_keys) is at most kMaxTopkSort.
inline cudaError_t launch_topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible,
                                    int64_t k, int32_t* idx, dsv4cu::Stream stream) {
  using namespace indexer_detail;
  if (n_q < 0 || n_keys < 0 || k < 0 || n_keys > 0x7FFFFFFF) return dsv4cu::kInvalidValue;
  if (n_q == 0 || k == 0) return cudaSuccess;
  const int64_t most = k < n_keys ? k : n_keys;
  if (most > kMaxTopkSort) return dsv4cu::kInvalidValue;
  int64_t sort_size = 1;
  while (sort_size < most) sort_size *= 2;
  const size_t smem = static_cast<size_t>(sort_size) * sizeof(uint64_t);
  const cudaError_t err = dsv4cu::allow_shared(topk_rows_kernel, smem, 256 * sizeof(unsigned) + 64);
  if (err != cudaSuccess) return err;
  return dsv4cu::launch(topk_rows_kernel, dim3(static_cast<unsigned>(n_q)), dim3(kThreads), smem, stream, scores,
                        n_keys, n_visible, k, sort_size, idx);
}

}  // namespace dsv4k::cuda

// The routed experts' FP4 product on tensor cores (compute capability 8.9 and later): the
// contract of dsv4k::ref::gemm_fp4_grouped_q (dsv4k/moe_dispatch.h) and the schedule of the
// SIMT kernel (grouped_gemm.cuh, grouped_tiles.cuh), with the inner products of each FP4
// scale group done by mma_m16n8k32_e4m3 (mma_e4m3.cuh).
//
// Operands: activations are e4m3 codes already (one fp32 scale per 1x128); weights are e2m1
// codes with one E8M0 scale per 1x32. Every e2m1 value is exactly an e4m3 value, so the
// weights are re-encoded as e4m3 codes while staged in shared memory and the tensor core sees
// the same numbers as the SIMT tile: every product is exact.
//
// Accumulation, the structure of gemm_tile.cuh: one MMA k step is one FP4 scale group
// (32 = kFp4Block = kMmaK), computed into a zeroed fp32 fragment; that partial sum is
// multiplied by the group's scale sx·sw (powers of two, exact) and added to the fp32
// accumulator, groups in increasing k. The only difference from the SIMT tile is the order
// (and the hardware's rounding) of the additions inside a group of 32. Bound: with u = 2^-24,
// S = Σ_k |xq·wq·sx·sw| over the output's k, and S_g that sum over group g,
//   - the SIMT tile adds a group with 31 rounded fmas: error ≤ 31·u·S_g;
//   - the tensor core (on Hopper: f16 HMMA with fp32 accumulation, see mma_e4m3.cuh) is
//     assumed to add exact products with at most 36 truncations (32 products and up to 4
//     chained internal partial sums), each below one fp32 ulp of the largest magnitude
//     involved (≤ S_g): error < 36·2u·S_g = 72·u·S_g;
//   - both then promote with k/32 rounded additions (≤ u·S each), on values that differ only
//     by the group errors above.
// Hence |y_mma − y_simt| ≤ (103 + 2·k/32)·u·S (first order), plus one bf16 ulp of y when the
// output is rounded to bf16 (the two fp32 values may straddle a rounding boundary). For
// k = 7168 that is 551·u·S ≈ 3.3e-5·S; a misplaced fragment element moves an output by O(S).
//
// Tiling: a block of 4 warps owns kBm x kBn = 32 x 64 outputs of one expert's row tile, warp
// w the 16 x 32 at rows 16·(w / 2), columns 32·(w % 2): one m16 x (4 x n8) per k step. k is
// staged kKc = 128 at a time (one activation scale block, four FP4 groups) with 16-byte
// loads; the next round's data is loaded into registers while the current round's MMAs run.
#pragma once

#include <cstdint>
#include <cstring>

#include "cuda/compat.cuh"
#include "cuda/e2m1_e4m3.cuh"
#include "cuda/grouped_tiles.cuh"
#include "cuda/mma_e4m3.cuh"
#include "dsv4k/gemm.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

namespace grouped_mma_detail {

inline constexpr int kBm = 32;                   // rows of a tile: two m16 steps
inline constexpr int kBn = 64;                   // columns of a tile
inline constexpr int kKc = 128;                  // k per staging round
inline constexpr int kWarps = 4;
inline constexpr int kThreads = 32 * kWarps;
inline constexpr int kWarpN = 32;                // columns per warp
inline constexpr int kNSteps = kWarpN / kMmaN;   // n8 MMAs per warp and k step
inline constexpr int kGroups = kKc / kFp4Block;  // FP4 scale groups per round
// A staged row is kKc e4m3 codes (32 words) plus 4 words of padding: the lanes' fragment
// loads (row groupID, word threadID_in_group) then fall in banks 4·groupID +
// threadID_in_group, all 32 distinct, and rows stay 16-byte aligned for the staging stores.
inline constexpr int kLdw = kKc / 4 + 4;         // words per staged row
inline constexpr int kLdq = kLdw / 4;            // 16-byte quads per staged row
static_assert(kFp4Block == kMmaK, "one MMA k step per FP4 scale group");
static_assert(kKc == kFp8Block, "one activation scale per staged row and round");
static_assert((kBm / kMmaM) * (kBn / kWarpN) == kWarps, "the warps tile the block");
// Staging: thread t copies tile row t / 4 (32 bytes of its 128 codes) and re-encodes weight
// row t / 2 (32 bytes: 64 of its 128 codes).
static_assert(kBm * 4 == kThreads && kBn * 2 == kThreads && kKc == 4 * 32 && kKc / 2 == 2 * 32,
              "the staging plan covers the round exactly");

// Sixteen bytes: the unit of the staging loads and stores.
struct alignas(16) Quad {
  uint32_t w[4];
};

// The 16 bytes at p (16-byte aligned). The host emulation reads byte arrays through memcpy.
DSV4_DEVICE Quad load_quad(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
  const uint4 v = *reinterpret_cast<const uint4*>(p);
  return Quad{{v.x, v.y, v.z, v.w}};
#else
  Quad q;
  std::memcpy(q.w, p, sizeof q.w);
  return q;
#endif
}

DSV4_DEVICE void store_quad(Quad* dst, const Quad& q) {
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<uint4*>(dst) = make_uint4(q.w[0], q.w[1], q.w[2], q.w[3]);
#else
  *dst = q;
#endif
}

// Word i of staged rows that start at `rows` (i = row · kLdw + word).
DSV4_DEVICE uint32_t word_at(const Quad* rows, int i) { return rows[i >> 2].w[i & 3]; }

// Where thread tid stages from, for the whole k loop: its x row and weight row at k = 0
// (null: outside the expert or past n, staged as zeros with a zero scale).
struct StagePlan {
  const uint8_t* x;   // tile row tid / 4, from byte 32·(tid % 4) of each round
  const float* xs;    // its scales [k / 128]
  const uint8_t* w;   // weight row j0 + tid / 2, from FP4 byte 32·(tid % 2) of each round
  const uint8_t* ws;  // its scales from group 2·(tid % 2) of each round
};

DSV4_DEVICE StagePlan stage_plan(const QuantizedRows& x, const int32_t* x_rows, int64_t begin, int64_t m,
                                 const Fp4Weight& w, int64_t j0, int tid) {
  StagePlan p{nullptr, nullptr, nullptr, nullptr};
  const int row = tid / 4;
  if (row < m) {
    const int64_t src = x_rows != nullptr ? static_cast<int64_t>(x_rows[begin + row]) : begin + row;
    p.x = x.q + src * x.k + 32 * (tid % 4);
    p.xs = x.scale + src * (x.k / kFp8Block);
  }
  const int64_t j = j0 + tid / 2;
  if (j < w.n) {
    p.w = w.data + j * (x.k / 2) + 32 * (tid % 2);
    p.ws = w.scale + j * (x.k / kFp4Block) + 2 * (tid % 2);
  }
  return p;
}

// One round of a thread's staging data in registers, so that its loads overlap the previous
// round's MMAs.
struct Staged {
  Quad x[2];          // 32 e4m3 codes
  Quad w[2];          // 64 e2m1 codes, two per byte, low nibble first
  float x_scale;      // the round's activation scale of the tile row
  float w_scale[2];   // two FP4 group scales of the weight row
};

DSV4_DEVICE void load_round(const StagePlan& p, int64_t k0, Staged& s) {
  for (int i = 0; i < 2; ++i) {
    s.x[i] = p.x != nullptr ? load_quad(p.x + k0 + 16 * i) : Quad{};
    s.w[i] = p.w != nullptr ? load_quad(p.w + k0 / 2 + 16 * i) : Quad{};
    s.w_scale[i] = p.ws != nullptr ? e8m0_to_f32(p.ws[k0 / kFp4Block + i]) : 0.0f;
  }
  s.x_scale = p.xs != nullptr ? p.xs[k0 / kFp8Block] : 0.0f;
}

// The registers of load_round into shared memory, the weights re-encoded as e4m3 codes.
DSV4_DEVICE void store_round(const Staged& s, int tid, Quad* xs, Quad* ws, float* x_scale, float* w_scale) {
  for (int i = 0; i < 2; ++i) store_quad(xs + (tid / 4) * kLdq + 2 * (tid % 4) + i, s.x[i]);
  // FP4 word v of quad i holds k 8v .. 8v + 7: e4m3 words 2v (its low half) and 2v + 1.
  Quad* w_row = ws + (tid / 2) * kLdq + 4 * (tid % 2);
  for (int i = 0; i < 2; ++i) {
    for (int h = 0; h < 2; ++h) {
      const uint32_t lo = s.w[i].w[2 * h], hi = s.w[i].w[2 * h + 1];
      store_quad(w_row + 2 * i + h,
                 Quad{{e2m1x4_to_e4m3x4(lo), e2m1x4_to_e4m3x4(lo >> 16), e2m1x4_to_e4m3x4(hi),
                       e2m1x4_to_e4m3x4(hi >> 16)}});
    }
  }
  if (tid % 4 == 0) x_scale[tid / 4] = s.x_scale;
  for (int i = 0; i < 2; ++i) w_scale[(tid / 2) * kGroups + 2 * (tid % 2) + i] = s.w_scale[i];
}

// The staged round's four k steps for this warp's 16 x 32 outputs: per FP4 group a fresh
// MMA partial sum, promoted into acc with the group's scale (gemm_tile.cuh's order).
// acc[s][i] is fragment element i (mma_e4m3.cuh's C layout) of the warp's n8 step s.
DSV4_DEVICE void mma_round(const Quad* xs, const Quad* ws, const float* x_scale, const float* w_scale, int row0,
                           int col0, int lane, float (&acc)[kNSteps][4]) {
  const int group_id = lane >> 2, tig = lane % 4;
  const float sx_lo = x_scale[row0 + group_id], sx_hi = x_scale[row0 + group_id + 8];
  for (int g = 0; g < kGroups; ++g) {
    // Register r of A: row groupID + 8·(r & 1), k from 16·(r >> 1) + 4·threadID_in_group.
    const int x_lo = (row0 + group_id) * kLdw + g * (kMmaK / 4) + tig, x_hi = x_lo + 8 * kLdw;
    const uint32_t a[4] = {word_at(xs, x_lo), word_at(xs, x_hi), word_at(xs, x_lo + 4), word_at(xs, x_hi + 4)};
    for (int s = 0; s < kNSteps; ++s) {
      // Register r of B: column groupID, k from 16·r + 4·threadID_in_group.
      const int w_col = (col0 + s * kMmaN + group_id) * kLdw + g * (kMmaK / 4) + tig;
      const uint32_t b[2] = {word_at(ws, w_col), word_at(ws, w_col + 4)};
      const float zero[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      float part[4];
      mma_m16n8k32_e4m3(part, a, b, zero);
      for (int i = 0; i < 4; ++i) {
        const int col = col0 + s * kMmaN + 2 * tig + (i & 1);
        const float sx = i < 2 ? sx_lo : sx_hi;
        acc[s][i] += part[i] * (sx * w_scale[col * kGroups + g]);
      }
    }
  }
}

// Grid: (ceil(n / kBn), max_row_tiles(x.m, n_experts, kBm)), block kThreads. No minimum of
// blocks per SM is asked for: ptxas (CUDA 13.0) gives 92 registers on sm_90a and 94 on
// sm_100a unconstrained (5 blocks, 20 warps per SM); capped at 80 for 6 blocks, sm_90a
// still fits but sm_100a spills.
DSV4_GLOBAL void __launch_bounds__(kThreads) gemm_fp4_grouped_mma_kernel(QuantizedRows x, const int32_t* x_rows,
                                                                          const int32_t* offsets,
                                                                          const Fp4Weight* experts, int64_t n_experts,
                                                                          float* y, int64_t ldy, Round round) {
  const RowTile tile = block_row_tile(offsets, n_experts, kBm);
  if (tile.expert < 0) return;  // the same for the whole block
  DSV4_SHARED_ARRAY(Quad, xs, kBm * kLdq);            // [kBm, kKc] e4m3 codes, rows kLdw words apart
  DSV4_SHARED_ARRAY(Quad, ws, kBn * kLdq);            // [kBn, kKc] weights as e4m3 codes, likewise
  DSV4_SHARED_ARRAY(float, x_scale, kBm);             // [kBm] this round's activation scales
  DSV4_SHARED_ARRAY(float, w_scale, kBn * kGroups);   // [kBn, kGroups] this round's weight scales
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t m = offsets[tile.expert + 1] - tile.begin;  // rows left in the expert (the tile takes ≤ kBm)
  const Fp4Weight w = experts[tile.expert];
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * kBn;
  const StagePlan plan = stage_plan(x, x_rows, tile.begin, m, w, j0, tid);

  const int warp = tid / 32, lane = tid % 32;
  const int row0 = (warp / (kBn / kWarpN)) * kMmaM, col0 = (warp % (kBn / kWarpN)) * kWarpN;
  float acc[kNSteps][4];
  for (int s = 0; s < kNSteps; ++s)
    for (int i = 0; i < 4; ++i) acc[s][i] = 0.0f;

  Staged next;
  load_round(plan, 0, next);
  for (int64_t k0 = 0; k0 < x.k; k0 += kKc) {
    store_round(next, tid, xs, ws, x_scale, w_scale);
    __syncthreads();
    if (k0 + kKc < x.k) load_round(plan, k0 + kKc, next);
    mma_round(xs, ws, x_scale, w_scale, row0, col0, lane, acc);
    __syncthreads();  // before the next round overwrites the staged data
  }

  const int group_id = lane >> 2, tig = lane % 4;
  for (int s = 0; s < kNSteps; ++s) {
    for (int i = 0; i < 4; ++i) {
      const int64_t r = row0 + group_id + (i < 2 ? 0 : 8);
      const int64_t j = j0 + col0 + s * kMmaN + 2 * tig + (i & 1);
      if (r < m && j < w.n) y[(tile.begin + r) * ldy + j] = round_to(acc[s][i], round);
    }
  }
}

}  // namespace grouped_mma_detail

// Whether the tensor-core kernel can take these activations: whole 128-wide blocks of k (the
// staging round) and 16-byte aligned rows (its loads). Every expert's data must be 16-byte
// aligned too, which the launcher cannot see (device buffers are: the pool aligns blocks to
// 512 bytes, and a row of n·k/2 bytes keeps the alignment).
inline bool grouped_mma_accepts(const QuantizedRows& x) {
  return x.k > 0 && x.k % kFp8Block == 0 && reinterpret_cast<uintptr_t>(x.q) % 16 == 0;
}

// The tensor-core version of launch_gemm_fp4_grouped_q (grouped_gemm.cuh): same arguments,
// same contract, for devices of compute capability 8.9 and later (the caller checks; see
// grouped_gemm.cu) and activations grouped_mma_accepts.
inline cudaError_t launch_gemm_fp4_grouped_q_mma(const QuantizedRows& x, const int32_t* x_rows,
                                                 const int32_t* offsets, const Fp4Weight* experts, int64_t n_experts,
                                                 int64_t n, float* y, int64_t ldy, Round round, dsv4cu::Stream stream) {
  if (x.m <= 0 || n <= 0 || n_experts <= 0) return cudaSuccess;
  if (!grouped_mma_accepts(x)) return dsv4cu::kInvalidValue;
  const int64_t max_tiles = max_row_tiles(x.m, n_experts, grouped_mma_detail::kBm);
  if (max_tiles > 65535) return dsv4cu::kInvalidValue;  // grid.y limit: split the batch
  const dim3 grid(static_cast<unsigned>(dsv4cu::ceil_div(n, grouped_mma_detail::kBn)),
                  static_cast<unsigned>(max_tiles));
  return dsv4cu::launch(grouped_mma_detail::gemm_fp4_grouped_mma_kernel, grid, dim3(grouped_mma_detail::kThreads), 0,
                        stream, x, x_rows, offsets, experts, n_experts, y, ldy, round);
}

}  // namespace dsv4k::cuda

// The tile of every SIMT GEMM (kernels in gemm.cuh and grouped_gemm.cuh): the operand
// sources of each weight encoding and gemm_tile(), which one block runs for one tile of y.
// Only templates and inline device functions, so that each GEMM kernel is compiled by
// exactly one .cu (CI has 2 cores).
//
// SIMT GEMMs y = x · Wᵀ for every weight encoding of the checkpoint (spec §2.1, §3.5); the
// contracts are the dsv4k::ref functions of kernels/include/dsv4k/gemm.h (same arguments,
// same rounding point: one round_to() of the fp32 result). These are the portable fallback
// of the tensor-core / cuBLASLt paths, and they reproduce those paths' accumulation
// structure (spec §6.3) rather than the reference's double sums:
//   - per scale group of k (128 for FP8 and for the activation blocks, 32 for FP4 weights)
//     a partial sum of the unscaled decoded products is formed in fp32;
//   - the partial sum is multiplied by the group's scale (sx · sw, powers of two, so the
//     multiplication is exact) and added to an fp32 accumulator, groups in increasing k as
//     the reference orders its blocks.
// For e4m3 × e4m3 and e4m3 × e2m1 every product is exact in fp32, so the only roundings are
// the additions; bf16 and fp32 weights use the same 128-wide grouping (scale 1), which
// bounds the error by (128 + k/128) additions instead of k.
//
// Tiling: a block of 128 threads owns a kBm × kBn tile of y; k is staged through shared
// memory kKc at a time, weights dequantized there to fp32 codes (without their scale, which
// is applied to the partial sum). Each thread keeps kRows × kCols outputs in registers.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/gemm.h"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

namespace gemm_detail {

inline constexpr int kBm = 32;                  // rows of x per block
inline constexpr int kBn = 64;                  // rows of W (columns of y) per block
inline constexpr int kKc = 64;                  // k staged per shared-memory round
inline constexpr int kTx = 16;                  // threads along n
inline constexpr int kTy = 8;                   // threads along m
inline constexpr int kThreads = kTx * kTy;      // 128
inline constexpr int kRows = kBm / kTy;         // outputs per thread along m
inline constexpr int kCols = kBn / kTx;         // outputs per thread along n
inline constexpr int kLd = kKc + 1;             // padded row: conflict-free column reads
static_assert(kFp8Block % kKc == 0 && kKc % kFp4Block == 0, "staging rounds and scale groups nest");

// Each source describes one op: x(i, k) and w(j, k) decode one element without its scale
// (the caller guarantees i < m, j < n, k < k_dim), scale(i, j, g) is the product of the
// scales of group g (kGroup wide) for output (i, j).

// Quantized rows are x.k apart, weight rows w.k (the contract has x.k == w.k).
struct Fp8QSource {
  static constexpr int64_t kGroup = kFp8Block;
  const uint8_t* xq;
  const float* xs;
  int64_t x_ld;
  const uint8_t* w;
  const uint8_t* ws;
  int64_t k_dim;
  int64_t n_kb;   // activation scales per row (k / 128)
  int64_t ws_ld;  // weight scales per 128-row block (ceil(k / 128))
  DSV4_DEVICE float x(int64_t i, int64_t k) const { return e4m3_to_f32(xq[i * x_ld + k]); }
  DSV4_DEVICE float w_at(int64_t j, int64_t k) const { return e4m3_to_f32(w[j * k_dim + k]); }
  DSV4_DEVICE float scale(int64_t i, int64_t j, int64_t g) const {
    return xs[i * n_kb + g] * e8m0_to_f32(ws[(j / kFp8Block) * ws_ld + g]);
  }
};

struct Fp8FSource {
  static constexpr int64_t kGroup = kFp8Block;
  const float* xf;
  int64_t ldx;
  const uint8_t* w;
  const uint8_t* ws;
  int64_t k_dim;
  int64_t ws_ld;
  DSV4_DEVICE float x(int64_t i, int64_t k) const { return xf[i * ldx + k]; }
  DSV4_DEVICE float w_at(int64_t j, int64_t k) const { return e4m3_to_f32(w[j * k_dim + k]); }
  DSV4_DEVICE float scale(int64_t /*i*/, int64_t j, int64_t g) const {
    return e8m0_to_f32(ws[(j / kFp8Block) * ws_ld + g]);
  }
};

// e2m1 code -> value from the bit fields (the same values as dsv4k::e2m1_to_f32, whose
// lookup table would sit in local memory on the GPU): magnitude codes 2..7 are normal,
// 2^(e-1) · (1 + m/2) with e = code >> 1, m = code & 1; codes 0, 1 are 0 and 0.5.
DSV4_DEVICE float fp4_code(const uint8_t* row, int64_t k) {
  const uint32_t byte = row[k / 2];
  const uint32_t code = (k % 2 == 0) ? (byte & 0xFu) : (byte >> 4);
  const uint32_t e = (code >> 1) & 0x3u, m = code & 0x1u;
  const uint32_t mag = e == 0 ? (m != 0 ? 0x3F000000u : 0u) : (((e + 126u) << 23) | (m << 22));
  return f32_from_bits(((code & 0x8u) << 28) | mag);
}

struct Fp4QSource {
  static constexpr int64_t kGroup = kFp4Block;
  const uint8_t* xq;
  const float* xs;
  int64_t x_ld;
  const uint8_t* w;
  const uint8_t* ws;
  int64_t k_dim;
  int64_t n_kb;
  DSV4_DEVICE float x(int64_t i, int64_t k) const { return e4m3_to_f32(xq[i * x_ld + k]); }
  DSV4_DEVICE float w_at(int64_t j, int64_t k) const { return fp4_code(w + j * (k_dim / 2), k); }
  DSV4_DEVICE float scale(int64_t i, int64_t j, int64_t g) const {
    return xs[i * n_kb + g / (kFp8Block / kFp4Block)] * e8m0_to_f32(ws[j * (k_dim / kFp4Block) + g]);
  }
};

struct Fp4FSource {
  static constexpr int64_t kGroup = kFp4Block;
  const float* xf;
  int64_t ldx;
  const uint8_t* w;
  const uint8_t* ws;
  int64_t k_dim;
  DSV4_DEVICE float x(int64_t i, int64_t k) const { return xf[i * ldx + k]; }
  DSV4_DEVICE float w_at(int64_t j, int64_t k) const { return fp4_code(w + j * (k_dim / 2), k); }
  DSV4_DEVICE float scale(int64_t /*i*/, int64_t j, int64_t g) const { return e8m0_to_f32(ws[j * (k_dim / kFp4Block) + g]); }
};

struct Bf16Source {
  static constexpr int64_t kGroup = kFp8Block;
  const float* xf;
  int64_t ldx;
  const uint16_t* w;
  int64_t k_dim;
  DSV4_DEVICE float x(int64_t i, int64_t k) const { return xf[i * ldx + k]; }
  DSV4_DEVICE float w_at(int64_t j, int64_t k) const { return bf16_to_f32(w[j * k_dim + k]); }
  DSV4_DEVICE float scale(int64_t, int64_t, int64_t) const { return 1.0f; }
};

struct F32Source {
  static constexpr int64_t kGroup = kFp8Block;
  const float* xf;
  int64_t ldx;
  const float* w;
  int64_t k_dim;
  DSV4_DEVICE float x(int64_t i, int64_t k) const { return xf[i * ldx + k]; }
  DSV4_DEVICE float w_at(int64_t j, int64_t k) const { return w[j * k_dim + k]; }
  DSV4_DEVICE float scale(int64_t, int64_t, int64_t) const { return 1.0f; }
};

// One kBm x kBn tile of y = x · Wᵀ: rows i0 .. i0 + kBm of x (those below m), columns
// j0 .. j0 + kBn (below n); the whole block (kThreads) calls it. Elements past m, n or k are
// staged as zeros, so they add exact +0 to the partial sums; threads of such rows/columns
// still take part in the barriers and only skip the store.
template <class Source>
DSV4_DEVICE void gemm_tile(const Source& src, int64_t i0, int64_t m, int64_t j0, int64_t n, int64_t k_dim, float* y,
                           int64_t ldy, Round round) {
  DSV4_SHARED_ARRAY(float, xs, kBm * kLd);
  DSV4_SHARED_ARRAY(float, wt, kBn * kLd);
  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % kTx;
  const int ty = tid / kTx;
  constexpr int kSub = Source::kGroup < kKc ? static_cast<int>(Source::kGroup) : kKc;

  float acc[kRows][kCols];
  float part[kRows][kCols];
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) {
      acc[r][c] = 0.0f;
      part[r][c] = 0.0f;
    }
  }

  for (int64_t k0 = 0; k0 < k_dim; k0 += kKc) {
    // Consecutive threads take consecutive k of one row: coalesced global reads and
    // conflict-free shared writes (rows are kLd floats apart, kLd % 32 == 1).
    for (int e = tid; e < kBm * kKc; e += kThreads) {
      const int row = e / kKc, kk = e % kKc;
      const int64_t i = i0 + row, k = k0 + kk;
      xs[row * kLd + kk] = (i < m && k < k_dim) ? src.x(i, k) : 0.0f;
    }
    for (int e = tid; e < kBn * kKc; e += kThreads) {
      const int row = e / kKc, kk = e % kKc;
      const int64_t j = j0 + row, k = k0 + kk;
      wt[row * kLd + kk] = (j < n && k < k_dim) ? src.w_at(j, k) : 0.0f;
    }
    __syncthreads();
    // The staged k in sub-ranges that each lie in one scale group; the end of a group (or of
    // k) promotes the partial sums. The tests below are uniform over the block.
    for (int g0 = 0; g0 < kKc && k0 + g0 < k_dim; g0 += kSub) {
      for (int kk = g0; kk < g0 + kSub; ++kk) {
        float a[kRows], b[kCols];
        for (int r = 0; r < kRows; ++r) a[r] = xs[(ty + r * kTy) * kLd + kk];
        for (int c = 0; c < kCols; ++c) b[c] = wt[(tx + c * kTx) * kLd + kk];
        for (int r = 0; r < kRows; ++r)
          for (int c = 0; c < kCols; ++c) part[r][c] = fmaf(a[r], b[c], part[r][c]);
      }
      const int64_t k_end = k0 + g0 + kSub;
      if (k_end % Source::kGroup == 0 || k_end >= k_dim) {
        const int64_t g = (k0 + g0) / Source::kGroup;
        for (int r = 0; r < kRows; ++r) {
          const int64_t i = i0 + ty + r * kTy;
          for (int c = 0; c < kCols; ++c) {
            const int64_t j = j0 + tx + c * kTx;
            if (i < m && j < n) acc[r][c] += part[r][c] * src.scale(i, j, g);
            part[r][c] = 0.0f;
          }
        }
      }
    }
    __syncthreads();
  }

  for (int r = 0; r < kRows; ++r) {
    const int64_t i = i0 + ty + r * kTy;
    if (i >= m) continue;
    for (int c = 0; c < kCols; ++c) {
      const int64_t j = j0 + tx + c * kTx;
      if (j < n) y[i * ldy + j] = round_to(acc[r][c], round);
    }
  }
}

}  // namespace gemm_detail

}  // namespace dsv4k::cuda

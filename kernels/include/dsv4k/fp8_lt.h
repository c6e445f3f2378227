// The operand layouts of cuBLASLt's block-scaled FP8 GEMM (Hopper), and the two small steps
// that move the checkpoint's and the quantizer's scales into them and the result out of it.
//
// cuBLASLt is column-major. y[m, n] = xq[m, k] · W[n, k]ᵀ is computed as D = op(A) · op(B),
// where A is W [n, k] row-major read as the column-major k x n matrix and op(A) = Aᵀ (n x k),
// and B is xq [m, k] row-major read as the column-major k x m matrix and op(B) = B (the "TN"
// form FP8 needs on Hopper). So cuBLASLt's M is our n, its N is our m, and D, column-major
// n x m with leading dimension ldd, is y in row-major [m, ldd].
//
// Scale layouts, from the cuBLAS documentation ("128-element 1D and 128x128 2D Block Scaling
// for FP8 Data Types", §3.1.4.5.1 "Scaling factors layouts", cuBLAS 12.9+), cross-checked
// with the shapes and strides PyTorch's _scaled_mm demands for the same cuBLASLt modes:
//   - both scale tensors are fp32, start 16-byte aligned, and M and N must be multiples of 4;
//   - VEC128_32F (B, the activations): one scale per 128 of k per row, "N-major" with shape
//     N x L (L = ceil(k/128)): the m scales of one k block are contiguous, i.e. [L, m];
//     quantize_e4m3 writes [m, L], so it is transposed here;
//   - BLK128x128_32F (A, the weights): one scale per 128x128 tile, "K-major" with shape
//     L4 x ceil(M/128) where L4 = L rounded up to 4 (the column stride must be a multiple
//     of 4): [ceil(n/128), L4] row-major, which is the checkpoint's E8M0 grid
//     [ceil(n/128), L] as fp32 with each row padded to L4.
// E8M0 converts to fp32 exactly (2^(e-127)), so the converted scales are the same numbers.
//
// Why a token count m that is not a multiple of 4 is padded to m_pad instead of refused: decode
// steps have m = 1..3 tokens per step. The pad rows get codes 0 and scales 0 (their outputs are
// computed and dropped), so no uninitialized memory is read.
#pragma once

#include <cstdint>

#include "dsv4k/gemm.h"
#include "dsv4k/numeric.h"

namespace dsv4k {

inline constexpr int64_t kLtScaleAlign = 4;  // M, N and the BLK128x128 column stride

DSV4K_HD int64_t lt_round_up4(int64_t v) { return (v + kLtScaleAlign - 1) / kLtScaleAlign * kLtScaleAlign; }
// Scale blocks along k (L) and the padded BLK128x128 row length (L4).
DSV4K_HD int64_t lt_k_blocks(int64_t k) { return (k + kFp8Block - 1) / kFp8Block; }
DSV4K_HD int64_t lt_k_blocks4(int64_t k) { return lt_round_up4(lt_k_blocks(k)); }
DSV4K_HD int64_t lt_n_blocks(int64_t n) { return (n + kFp8Block - 1) / kFp8Block; }

namespace ref {

// The prepare step: k a multiple of 128, m <= m_pad.
//   xs_t[b][j] = j < m ? xs[j][b] : 0                        xs [m, k/128] -> xs_t [k/128, m_pad]
//   ws_f[r][b] = b < L ? 2^(ws[r][b]-127) : 0               ws [ceil(n/128), L] -> ws_f [.., L4]
//   xq rows m .. m_pad-1 = 0 (e4m3 +0)                       xq [m_pad, k]
inline void lt_fp8_prepare(const float* xs, int64_t m, int64_t m_pad, int64_t k, const uint8_t* ws, int64_t n,
                           float* xs_t, float* ws_f, uint8_t* xq) {
  const int64_t l = lt_k_blocks(k), l4 = lt_k_blocks4(k);
  for (int64_t b = 0; b < l; ++b)
    for (int64_t j = 0; j < m_pad; ++j) xs_t[b * m_pad + j] = j < m ? xs[j * l + b] : 0.0f;
  for (int64_t r = 0; r < lt_n_blocks(n); ++r)
    for (int64_t b = 0; b < l4; ++b) ws_f[r * l4 + b] = b < l ? e8m0_to_f32(ws[r * l + b]) : 0.0f;
  for (int64_t i = m * k; i < m_pad * k; ++i) xq[i] = 0;
}

// The finish step: y[i][j] = round(d[i][j]) for i < m, j < n; d may be y itself (ldd == ldy).
inline void lt_fp8_finish(const float* d, int64_t ldd, int64_t m, int64_t n, float* y, int64_t ldy, Round round) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) y[i * ldy + j] = round_to(d[i * ldd + j], round);
}

}  // namespace ref
}  // namespace dsv4k

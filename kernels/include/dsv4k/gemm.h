// Matrix products y = x · Wᵀ with the checkpoint's weight encodings.
//
// Weights are [n, k] row-major ("out, in"), exactly as stored in the checkpoint, and are
// read in place. Activations are fp32 rows (holding bf16 values in the reference mode).
//
// FP8/FP4 weights are normally multiplied by FP8-quantized activations (the reference's
// dynamic 1x128 quantization, see quant.h): per 128-wide block of k the partial sum of
// exact e4m3 products is formed in fp32, then multiplied by both scales and accumulated.
// The unquantized variants (x in fp32) serve the bf16 `wo_a` product and the fp32
// comparison mode.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {

// e4m3 weight [n, k] with E8M0 block scales [ceil(n/128), ceil(k/128)].
struct Fp8Weight {
  const uint8_t* data = nullptr;   // [n, k]
  const uint8_t* scale = nullptr;  // [ceil(n/128), ceil(k/128)]
  int64_t n = 0;
  int64_t k = 0;
};

// e2m1 weight [n, k] packed two per byte (low nibble = even k) with E8M0 scales per 32 of k.
struct Fp4Weight {
  const uint8_t* data = nullptr;   // [n, k/2]
  const uint8_t* scale = nullptr;  // [n, k/32]
  int64_t n = 0;
  int64_t k = 0;
};

struct Bf16Weight {
  const uint16_t* data = nullptr;  // [n, k]
  int64_t n = 0;
  int64_t k = 0;
};

struct F32Weight {
  const float* data = nullptr;  // [n, k]
  int64_t n = 0;
  int64_t k = 0;
};

// Activations after dynamic FP8 quantization with one power-of-two scale per 128 of k.
struct QuantizedRows {
  const uint8_t* q = nullptr;    // [m, k] e4m3
  const float* scale = nullptr;  // [m, k/128] powers of two
  int64_t m = 0;
  int64_t k = 0;
};

constexpr int64_t kFp8Block = 128;   // weight block (both dims) and activation block
constexpr int64_t kFp4Block = 32;    // FP4 scale block along k

namespace ref {

// y[i][j] = round(Σ_kb (Σ_{k∈kb} xq[i][k]·w[j][k]) · sx[i][kb] · sw[j/128][kb])
void gemm_fp8_q(const QuantizedRows& x, const Fp8Weight& w, float* y, int64_t ldy, Round round);
// y[i][j] = round(Σ_k x[i][k] · w[j][k]·sw), x unquantized (the bf16 `wo_a` product, fp32 mode)
void gemm_fp8_f(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, float* y, int64_t ldy,
                Round round);
// As gemm_fp8_q with e2m1 weights and one weight scale per 32 of k.
void gemm_fp4_q(const QuantizedRows& x, const Fp4Weight& w, float* y, int64_t ldy, Round round);
void gemm_fp4_f(const float* x, int64_t m, int64_t ldx, const Fp4Weight& w, float* y, int64_t ldy,
                Round round);
// fp32 math on bf16 or fp32 weights (compressor, gate, head, hyper-connection mixes).
void gemm_bf16(const float* x, int64_t m, int64_t ldx, const Bf16Weight& w, float* y, int64_t ldy,
               Round round);
void gemm_f32(const float* x, int64_t m, int64_t ldx, const F32Weight& w, float* y, int64_t ldy,
              Round round);

// The grouped output projection `wo_a` (spec §2.4): w is [n_groups·n_g, k_g] with n_g a
// multiple of 128 (so each group owns whole scale rows); group g multiplies x columns
// [g·k_g, (g+1)·k_g) by weight rows [g·n_g, (g+1)·n_g) into y columns [g·n_g, (g+1)·n_g):
// gemm_fp8_f of the group's slices, for every group.
void gemm_fp8_f_grouped(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, int64_t n_groups, float* y,
                        int64_t ldy, Round round);

}  // namespace ref
}  // namespace dsv4k

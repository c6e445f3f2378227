// The reference's quantizers (spec §2.1), all with power-of-two scales:
//  - quantize_e4m3: dynamic activation quantization before FP8/FP4 GEMMs (block 128);
//  - simulate_e4m3: in-place FP8 round trip of KV rows (block 64 on the 448 nope dims);
//  - simulate_e2m1: in-place FP4 round trip of indexer q/k (block 32);
//  - hadamard128: the Sylvester-ordered Walsh-Hadamard transform, scaled by 128^-1/2.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {

constexpr int64_t kHadamardDim = 128;

namespace ref {

// q[i][c] = e4m3(clamp(x[i][c] / s, -448, 448)), s = pow2 scale of the block's amax.
// n_cols must be a multiple of block.
void quantize_e4m3(const float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block,
                   uint8_t* q /*[n_rows, n_cols]*/, float* scale /*[n_rows, n_cols/block]*/);

// x[i][c] <- dequant(quant(x[i][c])) for c in [0, n_cols); n_cols a multiple of block.
void simulate_e4m3(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block);
void simulate_e2m1(float* x, int64_t n_rows, int64_t n_cols, int64_t ldx, int64_t block);

// Each of the n_vec vectors of 128 contiguous floats (vector v starts at x + v*ldx):
// y_j = 128^-1/2 · Σ_i x_i · (-1)^popcount(i & j), fp32 butterflies, then rounded.
void hadamard128(float* x, int64_t n_vec, int64_t ldx, Round round);

}  // namespace ref
}  // namespace dsv4k

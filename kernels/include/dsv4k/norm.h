// RMS normalizations (spec §2.1, §2.9).
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {
namespace ref {

// y[i] = round(x[i] · rsqrt(mean(x[i]²) + eps) · w), all in fp32, w bf16 [dim].
void rmsnorm(const float* x, int64_t n_rows, int64_t dim, int64_t ldx, const uint16_t* w, float eps,
             float* y, int64_t ldy, Round round);

// The weightless per-head q normalization, in place on x [n_rows, n_heads, head_dim]
// (heads contiguous, rows ldx apart). With Round::kBf16 it reproduces the reference's bf16
// tensor ops: q² rounded per element, the fp32 mean rounded, +eps rounded, rsqrt rounded,
// and the product rounded. With Round::kNone it is plain fp32.
void head_rmsnorm(float* x, int64_t n_rows, int64_t n_heads, int64_t head_dim, int64_t ldx, float eps,
                  Round round);

}  // namespace ref
}  // namespace dsv4k

// Small elementwise ops between the big ones, each rounding its output like the reference.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {
namespace ref {

// x[i] = round(x[i] · factor) for i < n (factor 1 just rounds).
void scale(float* x, int64_t n, float factor, Round round);

// out[i] = round(a[i] + b[i]); out may alias a or b.
void add(const float* a, const float* b, float* out, int64_t n, Round round);

// The MoE sub-layer output: per token an fp32 sum of its k routed expert outputs in the
// order given (ascending expert id), then the shared expert's output, rounded once.
// expert_out [n, k, d], shared [n, d], out [n, d].
void moe_combine(const float* expert_out, const float* shared, int64_t n, int64_t k, int64_t d, float* out,
                 Round round);

}  // namespace ref
}  // namespace dsv4k

// Manifold-constrained hyper-connections (spec §2.3, §2.6).
//
// The residual is hc parallel streams X [n, hc, d]. hc_pre mixes them into the sub-layer
// input and produces the post weights and the doubly-stochastic comb matrix (Sinkhorn);
// hc_post writes the new streams; hc_head collapses the streams before the final norm.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {

struct HcParams {
  int64_t hc = 4;              // streams
  int64_t dim = 0;             // d
  float norm_eps = 1e-6f;      // rms_norm_eps, for the scalar r
  float hc_eps = 1e-6f;
  int64_t sinkhorn_iters = 20;
};

namespace ref {

// mix [n, (2+hc)·hc] = fn · flatten(X) (unnormalized; fn is fp32 [(2+hc)·hc, hc·d]).
// Split out so that fast backends can run it as a GEMM.
void hc_mix(const float* X, int64_t n, const HcParams& p, const float* fn, int64_t n_mix, float* mix);

// From mix and X: y [n, d] = round(Σ_j pre_j·X_j), post [n, hc], comb [n, hc, hc] (row a, col b).
void hc_pre_finish(const float* X, int64_t n, const HcParams& p, const float* mix, const float* scale /*[3]*/,
                   const float* base /*[(2+hc)·hc]*/, float* y, float* post, float* comb, Round round);

// X_out[b] = round(post_b·o + Σ_a comb[a][b]·X[a]) per token; X_out may not alias X.
void hc_post(const float* o /*[n, d]*/, const float* X /*[n, hc, d]*/, const float* post, const float* comb,
             int64_t n, const HcParams& p, float* X_out, Round round);

// y [n, d] = round(Σ_j pre_j·X_j) with pre from hc_head_fn/scale/base (no Sinkhorn).
// mix [n, hc] is fn · flatten(X) from hc_mix with n_mix = hc.
void hc_head_finish(const float* X, int64_t n, const HcParams& p, const float* mix, const float* scale /*[1]*/,
                    const float* base /*[hc]*/, float* y, Round round);

}  // namespace ref
}  // namespace dsv4k

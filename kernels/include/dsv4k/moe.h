// Mixture-of-experts routing and the clamped SwiGLU (spec §2.5).
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {

struct RouteParams {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  float route_scale = 1.5f;  // routed_scaling_factor
};

namespace ref {

// s_e = sqrt(softplus(logit_e)) (PyTorch softplus: x for x > 20).
float sqrt_softplus(float x);

// Score routing: picks the top_k experts by s_e + bias_e (ties: lower id first); weights
// w = route_scale · s_e / Σ s over the chosen (unbiased scores). logits [n, n_experts] fp32.
// ids [n, top_k] sorted ascending by expert id, weights aligned with ids.
void route_topk(const float* logits, int64_t n, const RouteParams& p, const float* bias, int32_t* ids,
                float* weights);

// Hash routing: experts are table_rows[t] (top_k ids per token, from tid2eid[token]).
// Same weights formula and ascending-id output order as route_topk.
void route_hash(const float* logits, int64_t n, const RouteParams& p, const int64_t* table_rows, int32_t* ids,
                float* weights);

// h[i][c] = weight[i] · silu(min(g, limit)) · clamp(u, -limit, limit), in fp32, then rounded
// (it is the input of the down projection). weight == nullptr means 1 (shared expert).
// g and u [n, inter], rows ld apart; h [n, inter] rows ldh apart.
void swiglu(const float* g, const float* u, int64_t n, int64_t inter, int64_t ld, const float* weight, float limit,
            float* h, int64_t ldh, Round round);

}  // namespace ref
}  // namespace dsv4k

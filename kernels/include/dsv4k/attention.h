// Sparse multi-query attention with a per-head sink (spec §2.4.7).
//
// Every head of a query attends to the same list of key rows (K = V, one KV head):
//   ℓ_j = scale·(q_h·kv_j),  o_h = Σ_j e^(ℓ_j−m)·kv_j / (Σ_j e^(ℓ_j−m) + e^(sink_h−m)).
// The sink is a raw logit that only enlarges the denominator. With Round::kBf16 the
// probabilities are rounded to bf16 before the P·V product (the denominator keeps fp32)
// and the output is rounded, as in the reference kernel.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {

struct AttentionShape {
  int64_t n_heads = 0;
  int64_t head_dim = 0;
  float scale = 0.0f;  // 1/sqrt(head_dim)
};

namespace ref {

// q   [n_q, n_heads, head_dim], query rows ldq apart (heads contiguous)
// kv  [n_kv, head_dim], rows ldkv apart
// cand [n_q, n_cand] indices into kv, in attention order; -1 entries are skipped
// sink [n_heads]
// out [n_q, n_heads, head_dim], rows ldo apart
void sparse_attention(const float* q, int64_t n_q, int64_t ldq, const AttentionShape& s, const float* kv,
                      int64_t ldkv, const int32_t* cand, int64_t n_cand, const float* sink, float* out,
                      int64_t ldo, Round round);

}  // namespace ref
}  // namespace dsv4k

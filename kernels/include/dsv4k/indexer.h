// Lightning indexer scoring and top-k selection (spec §2.4.6).
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {

namespace ref {

// scores[t][s] = Σ_h w[t][h]·ReLU(q[t][h]·k[s]) for s < n_visible[t], -inf for the rest.
// With Round::kBf16 the dot product, the weighted ReLU and the head sum are each rounded to
// bf16 as in the reference's bf16 einsum.
// q [n_q, n_heads, head_dim] (ldq between queries), w [n_q, n_heads], keys [n_keys, head_dim].
void indexer_scores(const float* q, int64_t n_q, int64_t ldq, int64_t n_heads, int64_t head_dim, const float* w,
                    const float* keys, int64_t n_keys, const int64_t* n_visible, float* scores /*[n_q, n_keys]*/,
                    Round round);

// For each row t: the indices of the k largest of scores[t][0 .. n_visible[t]), by
// descending score (ties: lower index first); positions past n_visible[t] are -1.
void topk_rows(const float* scores, int64_t n_q, int64_t n_keys, const int64_t* n_visible, int64_t k,
               int32_t* idx /*[n_q, k]*/);

}  // namespace ref
}  // namespace dsv4k

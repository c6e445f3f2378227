// Moving tokens to their experts and back (spec §2.5), in the layout a grouped GEMM wants.
//
// After routing, each token t has top_k (expert, weight) entries, ids in ascending expert
// order. The flat entry f = t·top_k + j is sent to expert ids[f]. Dispatch sorts the
// entries by expert, stably (increasing f within an expert, as the CPU model walks them),
// into P = n·top_k permuted rows:
//   - offsets[e] .. offsets[e+1] are the permuted rows of expert e (offsets[0] = 0,
//     offsets[n_experts] = P);
//   - token_of[p] is the token whose activation row p multiplies (x row for the first GEMMs);
//   - position[f] is the permuted row of entry f (where the combine finds its output);
//   - permuted_weights[p] = weights[f] of the entry at row p (the SwiGLU's routing weight).
// Every expert then sees its rows as one contiguous block, and the combine adds the k expert
// rows of a token in slot order, the reference's ascending-expert order.
#pragma once

#include <cstdint>

#include "dsv4k/gemm.h"
#include "dsv4k/numeric.h"

namespace dsv4k {

namespace ref {

// ids [n_tokens, top_k] (each in [0, n_experts)), weights [n_tokens, top_k] or null; outputs
// as described above (offsets [n_experts + 1], token_of / position / permuted_weights [P];
// permuted_weights may be null when weights is).
void moe_permute(const int32_t* ids, const float* weights, int64_t n_tokens, int64_t top_k, int64_t n_experts,
                 int32_t* offsets, int32_t* token_of, int32_t* position, float* permuted_weights);

// The routed experts' FP4 products on permuted rows, one expert per block of rows: for p in
// [offsets[e], offsets[e+1]), y[p] = round(x[rows(p)] · W_eᵀ) exactly as ref::gemm_fp4_q
// computes that row, with rows(p) = x_rows[p] (x_rows null: p). All experts share n and k.
void gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets,
                        const Fp4Weight* experts, int64_t n_experts, float* y, int64_t ldy, Round round);

// out[t] = round(Σ_j ye[position[t·k + j]] + shared[t]) with ye rows ldy apart: the value
// ref::moe_combine gives for expert_out[t][j] = ye[position[t·k + j]].
void moe_combine_permuted(const float* ye, int64_t ldy, const int32_t* position, const float* shared, int64_t n,
                          int64_t k, int64_t d, float* out, Round round);

}  // namespace ref
}  // namespace dsv4k

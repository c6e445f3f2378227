// The routed experts of Backend::moe_experts as a loop over experts, written with the other
// ops of the backend: the CPU backend's implementation, and the CUDA backend's for the cases
// its grouped kernels do not take (unquantized activations, non-FP4 experts).
//
// Steps: the routing is read back to the host and sorted by expert (ref::moe_permute's stable
// order); the rows of each expert are gathered into one block and run through w1 / w3,
// the SwiGLU with their routing weights, and w2; the outputs are gathered back into
// [token, slot] order and combined with the shared expert by moe_combine.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "backend/backend_array.h"

namespace dsv4 {

// Buffers the loop reuses from call to call (one per caller; not shared between threads).
struct MoeByExpertScratch {
  BackendArray<float> xp;   // [P, d] rows in expert order
  BackendArray<float> wp;   // [P] their routing weights
  BackendArray<float> g;    // [P, inter]
  BackendArray<float> u;    // [P, inter]
  BackendArray<float> h;    // [P, inter]
  BackendArray<float> ye;   // [P, d] expert outputs in expert order
  BackendArray<float> eo;   // [n, top_k, d] expert outputs in slot order
  BackendArray<int32_t> token_of;  // [P]
  BackendArray<int32_t> position;  // [P]
  std::vector<int32_t> ids, offsets, token_of_h, position_h;
  std::vector<float> weights, pw_h;
};

// Backend::moe_experts's contract on any backend.
void moe_experts_by_expert(Backend& be, MoeByExpertScratch& scratch, const float* x, int64_t n, const int32_t* ids,
                           const float* weights, const ExpertWeights* experts, const MoeShape& s, ActQuant aq,
                           const float* shared, float* out, Round round);

}  // namespace dsv4

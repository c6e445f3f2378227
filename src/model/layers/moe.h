// The MoE sub-layer (spec §2.5): gate, hash or score routing, the routed experts
// (clamped SwiGLU, routing weight before the down projection), the shared expert, and
// the fp32 combine in ascending expert-id order.
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned_buffer.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class MoeRunner {
 public:
  // x [n, d]: ffn_norm output; out [n, d].
  void forward(const StepContext& ctx, int64_t layer, const MoeWeights& w, const float* x, float* out);

 private:
  void route(const StepContext& ctx, int64_t layer, const MoeWeights& w, const float* x);
  // y [m, d] = expert(x [m, d]) with per-row routing weights (nullptr for the shared expert).
  void run_expert(const StepContext& ctx, const ExpertWeights& e, const float* x, int64_t m, const float* weights,
                  float* y);

  AlignedBuffer<float> logits_;      // [n, n_experts] fp32 gate logits
  std::vector<int32_t> ids_;         // [n, top_k] ascending expert ids
  AlignedBuffer<float> weights_;     // [n, top_k] routing weights
  std::vector<int64_t> table_rows_;  // [n, top_k] hash-table rows of the step's tokens
  AlignedBuffer<float> expert_out_;  // [n, top_k, d]
  AlignedBuffer<float> shared_out_;  // [n, d]
  AlignedBuffer<float> xe_;          // [m, d] rows routed to one expert
  AlignedBuffer<float> we_;          // [m] their routing weights
  AlignedBuffer<float> g_;           // [m, inter]
  AlignedBuffer<float> u_;           // [m, inter]
  AlignedBuffer<float> h_;           // [m, inter]
  AlignedBuffer<float> ye_;          // [m, d]
  std::vector<std::vector<int64_t>> assigned_;  // per expert: flat (token·top_k + slot) entries
};

}  // namespace dsv4

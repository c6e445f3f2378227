// The MoE sub-layer (spec §2.5): gate, hash or score routing, the routed experts
// (clamped SwiGLU, routing weight before the down projection), the shared expert, and
// the fp32 combine in ascending expert-id order. The routed experts and the combine are
// one backend op (Backend::moe_experts), so a device backend keeps the routing on the device.
#pragma once

#include <cstdint>

#include "backend/backend_array.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class MoeRunner {
 public:
  // x [n, d]: ffn_norm output; out [n, d].
  void forward(const StepContext& ctx, int64_t layer, const MoeWeights& w, const float* x, float* out);

 private:
  void route(const StepContext& ctx, int64_t layer, const MoeWeights& w, const float* x);
  // The shared expert over all n rows -> shared_out_.
  void run_shared(const StepContext& ctx, const ExpertWeights& e, const float* x);

  BackendArray<float> logits_;       // [n, n_experts] fp32 gate logits
  BackendArray<int32_t> ids_;        // [n, top_k] ascending expert ids
  BackendArray<float> weights_;      // [n, top_k] routing weights
  BackendArray<int64_t> table_rows_; // [n, top_k] hash-table rows of the step's tokens
  BackendArray<float> shared_out_;   // [n, d]
  BackendArray<float> g_;            // [n, inter]
  BackendArray<float> u_;            // [n, inter]
  BackendArray<float> h_;            // [n, inter]
};

}  // namespace dsv4

// One transformer block (spec §2.3): attention and MoE sub-layers, each wrapped by its
// hyper-connection pre/post pair, updating the 4 residual streams in place.
#pragma once

#include <cstdint>

#include "backend/backend_array.h"
#include "model/layers/attention.h"
#include "model/layers/moe.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class BlockRunner {
 public:
  // X [n, hc, d]: the streams, updated in place.
  void forward(const StepContext& ctx, int64_t layer, const BlockWeights& w, float* X);

 private:
  AttentionRunner attention_;
  MoeRunner moe_;
  BackendArray<float> y_;       // [n, d] collapsed streams
  BackendArray<float> normed_;  // [n, d] sub-layer input
  BackendArray<float> sub_;     // [n, d] sub-layer output
  BackendArray<float> post_;    // [n, hc]
  BackendArray<float> comb_;    // [n, hc, hc]
  BackendArray<float> X2_;      // [n, hc, d] streams after the attention sub-layer
};

}  // namespace dsv4

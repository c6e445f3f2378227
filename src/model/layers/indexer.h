// The lightning indexer of a ratio-4 layer (spec §2.4.6): scores every visible indexer
// row for each query and keeps the top index_topk. Its keys are the rows of the
// indexer's own compressor, which the caller runs first.
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned_buffer.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class IndexerRunner {
 public:
  // x [n, d] attention input; qr [n, q_lora] the normalized query latent.
  // topk [n, index_topk]: selected row indices per token by descending score, -1 padded.
  void select(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x, const float* qr,
              int32_t* topk);

 private:
  AlignedBuffer<float> q_;        // [n, heads, 128]
  AlignedBuffer<float> w_;        // [n, heads]
  AlignedBuffer<float> keys_;     // [n_rows, 128] one sequence's indexer rows
  AlignedBuffer<float> scores_;   // [block, n_rows]
  std::vector<int64_t> visible_;  // [n] rows visible to each token
};

}  // namespace dsv4

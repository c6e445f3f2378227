// The lightning indexer of a ratio-4 layer (spec §2.4.6): scores every visible indexer
// row for each query and keeps the top index_topk. Its keys are the rows of the
// indexer's own compressor, which the caller runs first.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend_array.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class IndexerRunner {
 public:
  // project, then select. project is row-wise over ctx.rows rows (a graph segment can hold
  // it): x [rows, d] attention input; qr [rows, q_lora] the normalized query latent.
  // select: topk [n, index_topk] (the backend's memory), the real tokens' selected row
  // indices by descending score, -1 padded.
  void project(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x, const float* qr);
  void select(const StepContext& ctx, int64_t layer, int32_t* topk);

 private:
  // Sequence s's tokens' selection among its n_rows keys [n_rows, 128].
  void select_sequence(const StepContext& ctx, const StepSeq& s, const float* keys, int64_t n_rows, int32_t* topk);

  BackendArray<float> q_;        // [n, heads, 128]
  BackendArray<float> w_;        // [n, heads]
  BackendArray<float> keys_;     // [Σ n_rows, 128] indexer rows of some sequences, one after the other
  std::vector<CacheRun> runs_;   // those sequences' rows
  BackendArray<float> scores_;   // [block, n_rows]
  std::vector<int64_t> visible_;  // [n] rows visible to each token
  BackendArray<int64_t> visible_dev_;
  std::vector<int32_t> none_;     // -1 rows for sequences without indexer rows yet
};

}  // namespace dsv4

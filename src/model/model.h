// Model: the DeepSeek-V4 forward pass over a ragged batch (spec §2, §7).
//
// forward() runs the main model for a batch of sequence chunks on top of their cached
// state and returns logits for the requested tokens; forward_mtp() runs the MTP draft
// block. There is no other forward signature: one request is a batch of one, a decode
// step a chunk of one token. A Model is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>

#include "backend/backend.h"
#include "dsv4/status.h"
#include "model/batch.h"
#include "model/config.h"
#include "backend/backend_array.h"
#include "model/kv_cache.h"
#include "model/layers/block.h"
#include "model/logits_readback.h"
#include "model/rope_tables.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class Model {
 public:
  Model(const ModelConfig& config, const ModelWeights& weights, Backend& backend, Numerics numerics);

  const ModelConfig& config() const { return config_; }
  const Numerics& numerics() const { return numerics_; }
  // Forces how ratio-4 layers gather the indexer's selection (kAuto by default); the results
  // are the same either way, so this is for tests and benchmarks of the two paths.
  void set_topk_gather(TopkGather g) { topk_gather_ = g; }
  // Replays decode steps' row-wise segments from backend graphs, padded to the smallest of
  // `sizes` (ascending, graph_batch_sizes) that holds the batch; empty turns graphs off.
  // Backends that cannot capture run as before. Results are those of the plain ops.
  void set_decode_graphs(std::vector<int32_t> sizes) { graphs_ = StepGraphs(std::move(sizes)); }
  const StepGraphStats& decode_graph_stats() const { return graphs_.stats(); }

  // Validates the batch (precise errors, cache untouched on error), runs every layer,
  // advances each chunk's sequence length in the cache.
  Status forward(const ForwardBatch& batch, KvCache& cache, ForwardResult* out);

  // The MTP draft block (spec §2.7) on the cache's MTP stream: logits predicting the token
  // after each next_token. Requires a config with num_nextn_predict_layers = 1.
  Status forward_mtp(const MtpBatch& batch, KvCache& cache, ForwardResult* out);

 private:
  // The rows a step runs its segments at when it replays graphs (a decode step within the
  // sizes, on a backend that captures), else 0.
  int64_t step_rows(const StepLayout& layout) const;
  // Uploads the step's tokens and rotary tables, padded to `rows`, and names them.
  StepContext step_context(const StepLayout& layout, int64_t rows, StepGraphs* graphs, KvCache& cache);
  // streams [n, hc, d] = hc copies of rows [n, d].
  void expand_streams(const float* rows, float* streams, int64_t n);
  using SampleOnDevice = std::vector<std::optional<dsv4k::SampleRowParams>>;
  // Rows of X [n, hc, d] whose logits are wanted -> out->logits, or out->sampled for the rows
  // of chunks that sample_on_device lets the backend sample.
  void compute_logits(const float* X, int64_t n_tokens, const std::vector<StepSeq>& seqs, LogitsMode mode,
                      const std::vector<uint8_t>& chunk_mask, const SampleOnDevice& sample_on_device,
                      const HcWeights& head_hc, const uint16_t* final_norm, ForwardResult* out);

  const ModelConfig& config_;
  const ModelWeights& weights_;
  Backend& backend_;
  Numerics numerics_;
  TopkGather topk_gather_ = TopkGather::kAuto;
  RopeFrequencies freqs_;
  BlockRunner block_;
  StepGraphs graphs_;
  std::vector<int32_t> step_tokens_;     // the step's tokens, padded
  std::vector<int64_t> step_positions_;  // their positions, padded
  RopeTable rope_plain_;                 // [rows] per step, refilled in place
  RopeTable rope_compress_;
  // In the backend's memory (the host sees them only through uploads and downloads).
  BackendArray<int32_t> tokens_;  // [n] the step's tokens
  BackendArray<float> X_;         // [n, hc, d] residual streams
  BackendArray<float> e_;         // [n, d]
  BackendArray<float> tmp_;       // [n·hc, d]
  BackendArray<int32_t> rows_;    // [m] tokens that want logits
  BackendArray<float> sel_;       // [m, hc, d] their streams
  BackendArray<float> y_;         // [m, d]
  BackendArray<float> logits_;    // [m, vocab]
  SampleOnDevice row_sampling_;   // [m] or empty: sample_on_device by logits row
  LogitsReadback readback_;
};

}  // namespace dsv4

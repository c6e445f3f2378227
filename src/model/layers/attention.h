// The attention sub-layer (spec §2.4): query and raw KV paths, the compressors and the
// indexer of compressed layers, sparse attention with the sink over the window plus
// compressed rows, inverse RoPE and the grouped low-rank output projection.
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned_buffer.h"
#include "model/layers/compressor.h"
#include "model/layers/indexer.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class AttentionRunner {
 public:
  // x [n, d]: attn_norm output; out [n, d].
  void forward(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x, float* out);

 private:
  void query(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x);
  void raw_kv(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x);
  // Fills kvbuf_ with each sequence's keys and cand_ with each token's candidate rows.
  void gather_candidates(const StepContext& ctx, int64_t layer);
  void output(const StepContext& ctx, int64_t layer, const AttentionWeights& w, float* out);
  void write_window(const StepContext& ctx, int64_t layer);

  CompressorRunner compressor_;
  CompressorRunner index_compressor_;
  IndexerRunner indexer_;
  AlignedBuffer<float> qr_;     // [n, q_lora] normalized query latent
  AlignedBuffer<float> tmp_;    // [n, max(q_lora, head_dim)] pre-norm projections
  AlignedBuffer<float> q_;      // [n, heads, head_dim]
  AlignedBuffer<float> kv_;     // [n, head_dim] this step's raw KV rows
  AlignedBuffer<float> kvbuf_;  // [n_keys, head_dim] keys of all sequences (window, new, compressed)
  AlignedBuffer<float> o_;      // [n, heads, head_dim]
  AlignedBuffer<float> z_;      // [n, o_groups·o_lora]
  std::vector<int32_t> topk_;   // [n, index_topk]
  std::vector<int32_t> cand_;   // [n, n_cand] indices into kvbuf_
  std::vector<int32_t> row_map_;  // compressed row index -> kvbuf_ row (ratio 4 union)
  std::vector<int32_t> union_;    // selected compressed rows of one sequence, ascending
  int64_t n_cand_ = 0;
};

}  // namespace dsv4

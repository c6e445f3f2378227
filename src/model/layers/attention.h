// The attention sub-layer (spec §2.4): query and raw KV paths, the compressors and the
// indexer of compressed layers, sparse attention with the sink over the window plus
// compressed rows, inverse RoPE and the grouped low-rank output projection.
//
// Keys move from the cache into kvbuf_ in the backend's memory, one cache call per kind of
// row for the whole step however many sequences it holds (on a device each call is a
// launch), except the union path's below (one per sequence); the candidate lists are built
// on the host from the step's layout. The indexer's selection (ratio-4 layers) takes one of
// two paths (TopkGather), with the same candidates in the same list positions, so attention
// is bit-identical either way:
//  - union: the selection is read back to the host, each sequence's selected rows are
//    gathered once (sorted, deduplicated) and the host maps entries to kvbuf_ rows;
//  - direct: each token's k selected rows are gathered from the cache by the device into
//    kvbuf_ rows of their own and the device writes their candidate entries, so the host never
//    waits for the device. Its keys grow with n_tokens · k, so it serves small steps (decode).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend_array.h"
#include "model/layers/compressor.h"
#include "model/layers/indexer.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class AttentionRunner {
 public:
  // The sub-layer in three calls, in this order (the first and last are row-wise over
  // ctx.rows rows, so a step can replay them from graphs; attend depends on the context):
  // x [rows, d]: attn_norm output; out [rows, d]. project also runs the compressors' and the
  // indexer's projections, which attend then uses for the real tokens.
  void project(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x);
  void attend(const StepContext& ctx, int64_t layer, const AttentionWeights& w);
  void output(const StepContext& ctx, int64_t layer, const AttentionWeights& w, float* out);

 private:
  void query(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x);
  void raw_kv(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x);
  // Fills kvbuf_ with each sequence's keys and cand_dev_ with each token's candidate rows.
  void gather_candidates(const StepContext& ctx, int64_t layer);
  // Union path: sequence s's selected rows into kvbuf_ rows from row0 (row_map_ maps them);
  // returns their number.
  int64_t gather_union(const StepContext& ctx, int64_t layer, const StepSeq& s, int64_t row0);
  // Direct path: token t's selected rows into kvbuf_ rows row0 + t·k + j, and their entries
  // into cand_dev_ from column first_col_[t] on.
  void gather_direct(const StepContext& ctx, int64_t layer, int64_t row0);
  void write_window(const StepContext& ctx, int64_t layer);

  CompressorRunner compressor_;
  CompressorRunner index_compressor_;
  IndexerRunner indexer_;
  BackendArray<float> qr_;     // [n, q_lora] normalized query latent
  BackendArray<float> tmp_;    // [n, max(q_lora, head_dim)] pre-norm projections
  BackendArray<float> q_;      // [n, heads, head_dim]
  BackendArray<float> kv_;     // [n, head_dim] this step's raw KV rows
  BackendArray<float> kvbuf_;  // [n_keys, head_dim] keys of all sequences (window, new, compressed)
  BackendArray<float> o_;      // [n, heads, head_dim]
  BackendArray<float> z_;      // [n, o_groups·o_lora]
  BackendArray<int32_t> topk_;  // [n, index_topk] the indexer's selection
  std::vector<int32_t> topk_host_;  // the same, read back (union path)
  std::vector<int32_t> cand_;   // [n, n_cand] indices into kvbuf_ (host, then cand_dev_)
  BackendArray<int32_t> cand_dev_;
  std::vector<int32_t> row_map_;  // compressed row index -> kvbuf_ row (union path)
  std::vector<int32_t> union_;    // selected compressed rows of one sequence, ascending
  std::vector<int32_t> first_col_;  // [n] each token's first column after its window entries
  BackendArray<int32_t> first_col_dev_;  // the same, for the direct path's candidates
  std::vector<int32_t> slots_;      // [n] each token's cache slot (direct path)
  std::vector<CacheRun> window_runs_;  // [n_seqs] each sequence's window rows read / written
  std::vector<CacheRun> comp_runs_;    // [n_seqs] each sequence's compressed rows (ratio 128)
  std::vector<dsv4k::CopySpan> spans_;  // [n_seqs] window rows to write, out of kv_
  BackendArray<float> win_rows_;        // [n_rows, head_dim] the same, gathered
  int64_t n_cand_ = 0;
};

}  // namespace dsv4

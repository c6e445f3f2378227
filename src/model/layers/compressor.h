// Runs one KV compressor (the attention's, or the indexer's private one) of one layer over
// a step (spec §2.4.5): projects the step's tokens, pools every block the step completes
// (ratio 4 overlapping the previous block), turns each pooled vector into a cache row
// (bf16 round, RMSNorm, RoPE at the block's first position, quantization simulation),
// appends the rows to the cache and keeps the carry state for blocks still open.
//
// Chunking never changes a row: a block straddling two steps is pooled from the carry
// (the fp32 projections of its earlier tokens) plus the new tokens, exactly as if the
// whole block had arrived at once.
//
// Every buffer is in the backend's memory: the carry moves in contiguous runs (a sequence's
// carry slots and its step rows), all runs of a step in one Backend::copy_spans each way, so
// a decode batch costs a launch per direction, not one per sequence; the pooling is one
// backend call per step, and the new rows reach the cache one call per sequence.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend_array.h"
#include "model/step_context.h"
#include "model/weights.h"

namespace dsv4 {

class CompressorRunner {
 public:
  // project, then run. project is row-wise over ctx.rows rows (a graph segment can hold it):
  // x [rows, d] the attention input (attn_norm output). run pools the real tokens' rows.
  void project(const StepContext& ctx, int64_t layer, RowKind kind, const CompressorWeights& w, const float* x);
  void run(const StepContext& ctx, int64_t layer, RowKind kind, const CompressorWeights& w);

 private:
  struct SeqPlan {
    int64_t ext_begin = 0;  // first row of this sequence's extended token array in ext_*
    int64_t ext_pos = 0;    // absolute position of that first row
  };
  void build_extended(const StepContext& ctx, int64_t layer, RowKind kind, int64_t ratio, int64_t width);
  void update_carry(const StepContext& ctx, int64_t layer, RowKind kind, int64_t ratio, int64_t width);
  void finish_rows(const StepContext& ctx, int64_t layer, RowKind kind, const CompressorWeights& w, int64_t dim);

  BackendArray<float> kv_;       // [n_tokens, width] projections wkv·x (fp32)
  BackendArray<float> z_;        // [n_tokens, width] gate scores wgate·x (fp32, no ape)
  BackendArray<float> ext_kv_;   // [Σ n_ext, width] carry rows followed by the step's rows, per sequence
  BackendArray<float> ext_z_;
  BackendArray<float> rows_;     // [n_emit, dim] the step's new rows
  RopeTable rope_;               // [n_emit] their positions' rotations
  std::vector<SeqPlan> plans_;
  std::vector<Backend::PoolJob> jobs_;
  std::vector<dsv4k::CopySpan> spans_;  // the carry's row runs of one direction
  std::vector<int64_t> row_pos_;    // [n_emit] position bR of each new row (its rotation)
  std::vector<int32_t> row_slot_;   // [n_emit] owning sequence slot
  std::vector<int64_t> row_index_;  // [n_emit] row index b
  std::vector<CacheRun> runs_;      // [n_runs] the emitted rows as runs of one sequence each
};

}  // namespace dsv4

#include "model/layers/compressor.h"

#include <algorithm>

#include "core/check.h"
#include "model/kv_cache.h"

namespace dsv4 {
namespace {

// The carry slot that holds position `pos` when the step starts at block `blk0`:
// ratio 4 keeps the previous block in slots 0..3 and the current one in 4..7.
int64_t carry_slot(int64_t pos, int64_t blk0, int64_t ratio, bool overlap) {
  if (!overlap) return pos - blk0 * ratio;
  return pos < blk0 * ratio ? pos - (blk0 - 1) * ratio : ratio + (pos - blk0 * ratio);
}

// A copy of n rows of `width` floats (a contiguous run) within the backend's memory, added
// to the step's list: all of them run as one Backend::copy_spans.
void add_rows(std::vector<dsv4k::CopySpan>* spans, float* dst, const float* src, int64_t n, int64_t width) {
  if (n > 0) spans->push_back({dst, src, n * width * static_cast<int64_t>(sizeof(float))});
}

}  // namespace

void CompressorRunner::build_extended(const StepContext& ctx, int64_t layer, RowKind kind, int64_t ratio,
                                      int64_t width) {
  const bool overlap = ratio == 4;
  const StepLayout& lay = ctx.layout;
  Backend& be = ctx.backend;
  plans_.clear();
  int64_t total = 0;
  for (const StepSeq& s : lay.seqs) {
    const int64_t blk0 = s.start_pos / ratio;
    const int64_t first_blk = overlap && blk0 >= 1 ? blk0 - 1 : blk0;
    plans_.push_back({total, first_blk * ratio});
    total += s.end_pos() - first_blk * ratio;
  }
  ext_kv_.resize(be, static_cast<size_t>(total * width));
  ext_z_.resize(be, static_cast<size_t>(total * width));
  spans_.clear();
  for (size_t i = 0; i < lay.seqs.size(); ++i) {
    const StepSeq& s = lay.seqs[i];
    const SeqPlan& p = plans_[i];
    const CompressorCarry carry = ctx.cache.compressor_carry(layer, kind, s.slot);
    DSV4_CHECK(carry.width == width);
    // Earlier tokens of open blocks (positions ext_pos .. start_pos-1) come from the carry,
    // whose slots for them are consecutive; then the step's own tokens.
    const int64_t n_carried = s.start_pos - p.ext_pos;
    if (n_carried > 0) {
      const int64_t slot0 = carry_slot(p.ext_pos, s.start_pos / ratio, ratio, overlap);
      DSV4_CHECK(slot0 >= 0 && slot0 + n_carried <= carry.n_slots);
      add_rows(&spans_, ext_kv_.data() + p.ext_begin * width, carry.kv + slot0 * width, n_carried, width);
      add_rows(&spans_, ext_z_.data() + p.ext_begin * width, carry.score + slot0 * width, n_carried, width);
    }
    add_rows(&spans_, ext_kv_.data() + (p.ext_begin + n_carried) * width, kv_.data() + s.begin * width, s.n, width);
    add_rows(&spans_, ext_z_.data() + (p.ext_begin + n_carried) * width, z_.data() + s.begin * width, s.n, width);
  }
  be.copy_spans(spans_.data(), static_cast<int64_t>(spans_.size()));
}

void CompressorRunner::update_carry(const StepContext& ctx, int64_t layer, RowKind kind, int64_t ratio,
                                    int64_t width) {
  const bool overlap = ratio == 4;
  spans_.clear();
  for (size_t i = 0; i < ctx.layout.seqs.size(); ++i) {
    const StepSeq& s = ctx.layout.seqs[i];
    const SeqPlan& p = plans_[i];
    const CompressorCarry carry = ctx.cache.compressor_carry(layer, kind, s.slot);
    const int64_t blk_end = s.end_pos() / ratio;  // the block left open by this step
    auto ext_row = [&](int64_t pos) { return p.ext_begin + pos - p.ext_pos; };
    // Ratio 4: the last complete block becomes the previous block (unchanged if none completed).
    if (overlap && blk_end >= 1 && (blk_end - 1) * ratio >= p.ext_pos) {
      const int64_t r = ext_row((blk_end - 1) * ratio);
      add_rows(&spans_, carry.kv, ext_kv_.data() + r * width, ratio, width);
      add_rows(&spans_, carry.score, ext_z_.data() + r * width, ratio, width);
    }
    // The open block's tokens so far go to the current-block slots.
    const int64_t cur0 = overlap ? ratio : 0;
    const int64_t n_open = s.end_pos() - blk_end * ratio;
    if (n_open > 0) {
      const int64_t r = ext_row(blk_end * ratio);
      add_rows(&spans_, carry.kv + cur0 * width, ext_kv_.data() + r * width, n_open, width);
      add_rows(&spans_, carry.score + cur0 * width, ext_z_.data() + r * width, n_open, width);
    }
  }
  // Sources are the step's extended rows, destinations distinct carry slots: no overlap.
  ctx.backend.copy_spans(spans_.data(), static_cast<int64_t>(spans_.size()));
}

void CompressorRunner::finish_rows(const StepContext& ctx, int64_t layer, RowKind kind, const CompressorWeights& w,
                                   int64_t dim) {
  const int64_t n_emit = static_cast<int64_t>(row_pos_.size());
  if (n_emit == 0) return;
  Backend& be = ctx.backend;
  const Round round = ctx.round();
  const int64_t rope_dim = ctx.config.qk_rope_head_dim;
  // Pooled fp32 -> bf16 -> RMSNorm -> RoPE at the block's first position -> simulation.
  be.scale(rows_.data(), n_emit * dim, 1.0f, round);
  be.rmsnorm(rows_.data(), n_emit, dim, dim, w.norm, static_cast<float>(ctx.config.rms_norm_eps), rows_.data(), dim,
             round);
  rope_.fill(be, ctx.freqs.compress, row_pos_.data(), n_emit);
  be.rope_apply(rows_.data(), n_emit, dim, 1, dim, dim - rope_dim, rope_.cos.data(), rope_.sin.data(), rope_.n_freq,
                false, round);
  switch (kind) {
    case RowKind::kAttention:
      if (ctx.numerics.simulate_kv_fp8) be.simulate_e4m3(rows_.data(), n_emit, dim - rope_dim, dim, 64);
      break;
    case RowKind::kIndexer:
      if (ctx.numerics.simulate_indexer_fp4) {
        be.hadamard128(rows_.data(), n_emit, dim, round);
        be.simulate_e2m1(rows_.data(), n_emit, dim, dim, 32);
      }
      break;
  }
  // Rows come in runs of one sequence with consecutive indices: one append for all runs.
  runs_.clear();
  for (int64_t r = 0; r < n_emit; ++r) {
    const int32_t slot = row_slot_[static_cast<size_t>(r)];
    if (runs_.empty() || runs_.back().slot != slot) runs_.push_back({slot, row_index_[static_cast<size_t>(r)], 0});
    ++runs_.back().n;
  }
  ctx.cache.rows_append(layer, kind, runs_, rows_.data());
}

void CompressorRunner::project(const StepContext& ctx, int64_t layer, RowKind kind, const CompressorWeights& w,
                               const float* x) {
  const int64_t ratio = ctx.config.compress_ratio(layer);
  const int64_t dim = kind == RowKind::kAttention ? ctx.config.head_dim : ctx.config.index_head_dim;
  const int64_t width = compressor_carry_width(ratio, dim);
  const int64_t n = ctx.rows;
  const int64_t d = ctx.config.hidden_size;
  Backend& be = ctx.backend;
  kv_.resize(be, static_cast<size_t>(n * width));
  z_.resize(be, static_cast<size_t>(n * width));
  // The compressor works in fp32 on the bf16 input (spec §2.4.5): no activation rounding.
  be.linear(x, n, d, WeightRef::of(w.wkv), ActQuant::kNone, kv_.data(), width, Round::kNone);
  be.linear(x, n, d, WeightRef::of(w.wgate), ActQuant::kNone, z_.data(), width, Round::kNone);
}

void CompressorRunner::run(const StepContext& ctx, int64_t layer, RowKind kind, const CompressorWeights& w) {
  const int64_t ratio = ctx.config.compress_ratio(layer);
  const int64_t dim = kind == RowKind::kAttention ? ctx.config.head_dim : ctx.config.index_head_dim;
  const bool overlap = ratio == 4;
  const int64_t width = compressor_carry_width(ratio, dim);
  Backend& be = ctx.backend;
  build_extended(ctx, layer, kind, ratio, width);

  jobs_.clear();
  row_pos_.clear();
  row_slot_.clear();
  row_index_.clear();
  for (size_t i = 0; i < ctx.layout.seqs.size(); ++i) {
    const StepSeq& s = ctx.layout.seqs[i];
    const SeqPlan& p = plans_[i];
    // Blocks completed in this step: b with (b+1)·ratio <= end, not completed before.
    for (int64_t b = s.start_pos / ratio; (b + 1) * ratio <= s.end_pos(); ++b) {
      const int64_t cur = p.ext_begin + b * ratio - p.ext_pos;
      const bool has_prev = overlap && b >= 1;
      const int64_t prev = has_prev ? p.ext_begin + (b - 1) * ratio - p.ext_pos : 0;
      DSV4_CHECK(!has_prev || prev >= p.ext_begin);
      jobs_.push_back({has_prev ? ext_kv_.data() + prev * width : nullptr,
                       has_prev ? ext_z_.data() + prev * width : nullptr, width, ext_kv_.data() + cur * width,
                       ext_z_.data() + cur * width, width, nullptr});
      row_pos_.push_back(b * ratio);
      row_slot_.push_back(s.slot);
      row_index_.push_back(b);
    }
  }
  rows_.resize(be, static_cast<size_t>(static_cast<int64_t>(jobs_.size()) * dim));
  for (size_t j = 0; j < jobs_.size(); ++j) jobs_[j].row = rows_.data() + static_cast<int64_t>(j) * dim;
  be.compress_pool(dsv4k::CompressorShape{ratio, dim, overlap}, w.ape, jobs_.data(),
                   static_cast<int64_t>(jobs_.size()));
  update_carry(ctx, layer, kind, ratio, width);
  finish_rows(ctx, layer, kind, w, dim);
}

}  // namespace dsv4

#include "model/layers/indexer.h"

#include <algorithm>
#include <cmath>

namespace dsv4 {

namespace {
// Bounds the score matrix of one query block (queries x rows) to ~64 MB.
constexpr int64_t kScoreBudget = int64_t{16} << 20;
// Bounds the keys read by one cache call to ~256 MB (512K rows of the full model), so that
// the sequences of a decode step take one read (one launch on a device) unless their
// contexts are very long; a sequence longer than that takes a read of its own.
constexpr int64_t kKeyBudget = int64_t{64} << 20;
}  // namespace

void IndexerRunner::project(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x,
                            const float* qr) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.rows;
  const int64_t heads = c.index_n_heads;
  const int64_t hd = c.index_head_dim;
  const int64_t rope = c.qk_rope_head_dim;
  const Round round = ctx.round();
  Backend& be = ctx.backend;

  q_.resize(be, static_cast<size_t>(n * heads * hd));
  be.linear(qr, n, c.q_lora_rank, WeightRef::of(w.index_wq_b), ctx.act_quant(), q_.data(), heads * hd, round);
  const RopeTable& t = ctx.rope_for_layer(layer);
  be.rope_apply(q_.data(), n, heads * hd, heads, hd, hd - rope, t.cos.data(), t.sin.data(), t.n_freq, false, round);
  if (ctx.numerics.simulate_indexer_fp4) {
    be.hadamard128(q_.data(), n * heads, hd, round);
    be.simulate_e2m1(q_.data(), n * heads, hd, hd, 32);
  }
  // Head weights: bf16(weights_proj·x) · (hd^-1/2 · heads^-1/2), rounded again.
  w_.resize(be, static_cast<size_t>(n * heads));
  be.linear(x, n, c.hidden_size, WeightRef::of(w.index_weights_proj), ActQuant::kNone, w_.data(), heads, round);
  const float factor = static_cast<float>(std::pow(static_cast<double>(hd), -0.5) *
                                          std::pow(static_cast<double>(heads), -0.5));
  be.scale(w_.data(), n * heads, factor, round);
}

void IndexerRunner::select(const StepContext& ctx, int64_t layer, int32_t* topk) {
  const int64_t n = ctx.layout.n_tokens;
  const int64_t hd = ctx.config.index_head_dim;
  Backend& be = ctx.backend;
  visible_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) visible_[static_cast<size_t>(i)] = (ctx.layout.positions[static_cast<size_t>(i)] + 1) / 4;
  visible_dev_.assign(be, visible_);
  const std::vector<StepSeq>& seqs = ctx.layout.seqs;
  for (size_t i = 0; i < seqs.size();) {
    // The keys of the next sequences that fit in kKeyBudget (at least one), sequence after
    // sequence in keys_.
    runs_.clear();
    int64_t n_keys = 0;
    for (size_t j = i; j < seqs.size(); ++j) {
      const int64_t n_rows = ctx.cache.rows_count(layer, RowKind::kIndexer, seqs[j].slot);
      if (!runs_.empty() && (n_keys + n_rows) * hd > kKeyBudget) break;
      runs_.push_back({seqs[j].slot, 0, n_rows});
      n_keys += n_rows;
    }
    keys_.resize(be, static_cast<size_t>(n_keys * hd));
    ctx.cache.rows_read(layer, RowKind::kIndexer, runs_, keys_.data());
    int64_t key_row = 0;
    for (const CacheRun& r : runs_) {
      select_sequence(ctx, seqs[i++], keys_.data() + key_row * hd, r.n, topk);
      key_row += r.n;
    }
  }
}

void IndexerRunner::select_sequence(const StepContext& ctx, const StepSeq& s, const float* keys, int64_t n_rows,
                                    int32_t* topk) {
  const ModelConfig& c = ctx.config;
  const int64_t heads = c.index_n_heads;
  const int64_t hd = c.index_head_dim;
  const int64_t k = c.index_topk;
  Backend& be = ctx.backend;
  if (n_rows == 0) {
    none_.assign(static_cast<size_t>(s.n * k), -1);
    be.upload(topk + s.begin * k, none_.data(), none_.size() * sizeof(int32_t));
    return;
  }
  const int64_t block = std::max<int64_t>(1, kScoreBudget / n_rows);
  for (int64_t b = 0; b < s.n; b += block) {
    const int64_t m = std::min(block, s.n - b);
    const int64_t t0 = s.begin + b;
    scores_.resize(be, static_cast<size_t>(m * n_rows));
    be.indexer_scores(q_.data() + t0 * heads * hd, m, heads * hd, heads, hd, w_.data() + t0 * heads, keys, n_rows,
                      visible_dev_.data() + t0, scores_.data(), ctx.round());
    be.topk_rows(scores_.data(), m, n_rows, visible_dev_.data() + t0, k, topk + t0 * k);
  }
}

}  // namespace dsv4

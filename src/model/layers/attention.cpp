#include "model/layers/attention.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace dsv4 {

void AttentionRunner::query(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.rows;
  const int64_t qw = c.num_attention_heads * c.head_dim;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const Round round = ctx.round();
  Backend& be = ctx.backend;
  tmp_.resize(be, static_cast<size_t>(n * std::max(c.q_lora_rank, c.head_dim)));
  qr_.resize(be, static_cast<size_t>(n * c.q_lora_rank));
  q_.resize(be, static_cast<size_t>(n * qw));
  be.linear(x, n, c.hidden_size, WeightRef::of(w.wq_a), ctx.act_quant(), tmp_.data(), c.q_lora_rank, round);
  be.rmsnorm(tmp_.data(), n, c.q_lora_rank, c.q_lora_rank, w.q_norm, eps, qr_.data(), c.q_lora_rank, round);
  be.linear(qr_.data(), n, c.q_lora_rank, WeightRef::of(w.wq_b), ctx.act_quant(), q_.data(), qw, round);
  be.head_rmsnorm(q_.data(), n, c.num_attention_heads, c.head_dim, qw, eps, round);
  const RopeTable& t = ctx.rope_for_layer(layer);
  be.rope_apply(q_.data(), n, qw, c.num_attention_heads, c.head_dim, c.nope_dim(), t.cos.data(), t.sin.data(),
                t.n_freq, false, round);
}

void AttentionRunner::raw_kv(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.rows;
  const int64_t hd = c.head_dim;
  const Round round = ctx.round();
  Backend& be = ctx.backend;
  kv_.resize(be, static_cast<size_t>(n * hd));
  be.linear(x, n, c.hidden_size, WeightRef::of(w.wkv), ctx.act_quant(), tmp_.data(), hd, round);
  be.rmsnorm(tmp_.data(), n, hd, hd, w.kv_norm, static_cast<float>(c.rms_norm_eps), kv_.data(), hd, round);
  const RopeTable& t = ctx.rope_for_layer(layer);
  be.rope_apply(kv_.data(), n, hd, 1, hd, c.nope_dim(), t.cos.data(), t.sin.data(), t.n_freq, false, round);
  // The reference simulates the production FP8 KV cache on the nope dims (spec §2.4.2).
  if (ctx.numerics.simulate_kv_fp8) be.simulate_e4m3(kv_.data(), n, c.nope_dim(), hd, 64);
}

namespace {

// The direct gather gives every token its own index_topk rows, so its keys grow as
// n_tokens · index_topk · head_dim fp32 values. A decode step has one token per sequence and
// the union is no smaller, but a prefill chunk's tokens mostly select the same rows, which the
// union reads once. Up to this many bytes a step goes direct: 512 tokens of the full model
// (index_topk 512, head_dim 512: 1 MiB per token), so decode batches of a few hundred
// sequences skip the read-back, while a 4096-token prefill chunk (4 GiB) takes the union.
constexpr int64_t kDirectGatherBudgetBytes = int64_t{512} << 20;

bool use_direct_gather(const StepContext& ctx) {
  switch (ctx.topk_gather) {
    case TopkGather::kUnion: return false;
    case TopkGather::kDirect: return true;
    case TopkGather::kAuto:
      // Where the backend's memory is the host's the read-back is a memcpy: the union, which
      // decodes each selected row once, is never more work there.
      return !ctx.backend.memory_is_host() &&
             ctx.layout.n_tokens * ctx.config.index_topk * ctx.config.head_dim * 4 <= kDirectGatherBudgetBytes;
  }
  return false;
}

}  // namespace

int64_t AttentionRunner::gather_union(const StepContext& ctx, int64_t layer, const StepSeq& s, int64_t row0) {
  const int64_t k = ctx.config.index_topk;
  // Only the rows some token of the chunk selected, in ascending order.
  union_.clear();
  for (int64_t t = s.begin; t < s.begin + s.n; ++t)
    for (int64_t j = 0; j < k; ++j)
      if (topk_host_[static_cast<size_t>(t * k + j)] >= 0) union_.push_back(topk_host_[static_cast<size_t>(t * k + j)]);
  std::sort(union_.begin(), union_.end());
  union_.erase(std::unique(union_.begin(), union_.end()), union_.end());
  const auto n_rows = static_cast<int64_t>(union_.size());
  ctx.cache.rows_gather(layer, RowKind::kAttention, s.slot, union_.data(), n_rows,
                        kvbuf_.data() + row0 * ctx.config.head_dim);
  row_map_.assign(static_cast<size_t>(ctx.cache.rows_count(layer, RowKind::kAttention, s.slot)), -1);
  for (int64_t i = 0; i < n_rows; ++i)
    row_map_[static_cast<size_t>(union_[static_cast<size_t>(i)])] = static_cast<int32_t>(row0 + i);
  return n_rows;
}

void AttentionRunner::gather_direct(const StepContext& ctx, int64_t layer, int64_t row0) {
  const StepLayout& lay = ctx.layout;
  const int64_t k = ctx.config.index_topk;
  slots_.resize(static_cast<size_t>(lay.n_tokens));
  for (const StepSeq& s : lay.seqs) std::fill_n(slots_.begin() + s.begin, s.n, s.slot);
  ctx.cache.rows_gather_selected(layer, RowKind::kAttention, slots_.data(), lay.n_tokens, topk_.data(), k,
                                 kvbuf_.data() + row0 * ctx.config.head_dim);
  // After the host-built part of cand_dev_ (stream order): the selections' entries.
  first_col_dev_.assign(ctx.backend, first_col_);
  ctx.backend.selected_candidates(topk_.data(), lay.n_tokens, k, row0, first_col_dev_.data(), cand_dev_.data(),
                                  n_cand_);
}

void AttentionRunner::gather_candidates(const StepContext& ctx, int64_t layer) {
  const ModelConfig& c = ctx.config;
  const StepLayout& lay = ctx.layout;
  Backend& be = ctx.backend;
  const int64_t hd = c.head_dim;
  const int64_t win = c.sliding_window;
  const int64_t ratio = c.compress_ratio(layer);
  const int64_t k = c.index_topk;
  const bool direct = ratio == 4 && use_direct_gather(ctx);
  if (ratio == 4 && !direct) topk_host_ = topk_.to_host(be);

  // Candidate list width: the window plus the most compressed rows any token may see.
  int64_t n_comp = 0;
  if (ratio == 128)
    for (const StepSeq& s : lay.seqs) n_comp = std::max(n_comp, s.end_pos() / ratio);
  if (ratio == 4) n_comp = k;
  n_cand_ = win + n_comp;
  cand_.assign(static_cast<size_t>(lay.n_tokens * n_cand_), -1);
  first_col_.resize(static_cast<size_t>(lay.n_tokens));

  // Key rows in sections, each filled by one call for the whole step however many sequences
  // it holds: [the window rows cached before the step, sequence after sequence][the step's
  // own rows, kv_ as it is][the compressed rows, sequence after sequence][the direct gather's
  // k rows per token]. Only the kvbuf_ rows that entries name depend on this order, never
  // the entries' places in a candidate list (the attention's summation order).
  window_runs_.clear();
  comp_runs_.clear();
  int64_t n_window = 0, n_comp_keys = 0;
  for (const StepSeq& s : lay.seqs) {
    const int64_t n_old = std::min(s.start_pos, win - 1);
    window_runs_.push_back({s.slot, s.start_pos - n_old, n_old});
    n_window += n_old;
    const int64_t n_rows = ratio > 0 ? ctx.cache.rows_count(layer, RowKind::kAttention, s.slot) : 0;
    if (ratio == 128) {
      comp_runs_.push_back({s.slot, 0, n_rows});
      n_comp_keys += n_rows;
    }
    if (ratio == 4 && !direct) n_comp_keys += std::min(n_rows, s.n * k);
  }
  const int64_t n_keys = n_window + lay.n_tokens + n_comp_keys + (direct ? lay.n_tokens * k : 0);
  kvbuf_.resize(be, static_cast<size_t>(n_keys * hd));
  ctx.cache.window_read(layer, window_runs_, kvbuf_.data());
  be.copy(kvbuf_.data() + n_window * hd, kv_.data(), static_cast<size_t>(lay.n_tokens * hd) * sizeof(float));
  const int64_t comp0 = n_window + lay.n_tokens;
  if (ratio == 128) ctx.cache.rows_read(layer, RowKind::kAttention, comp_runs_, kvbuf_.data() + comp0 * hd);

  int64_t window_row = 0, comp_row = comp0;  // the sequence's first row in each section
  for (size_t i = 0; i < lay.seqs.size(); ++i) {
    const StepSeq& s = lay.seqs[i];
    int64_t n_comp_rows = 0;
    if (ratio == 128) n_comp_rows = comp_runs_[i].n;
    if (ratio == 4 && !direct) n_comp_rows = gather_union(ctx, layer, s, comp_row);
    const int64_t first_pos = window_runs_[i].first;  // position of kvbuf_ row window_row
    const int64_t own_row = n_window + s.begin - s.start_pos;  // + position: kvbuf_ row of a step token
    for (int64_t t = s.begin; t < s.begin + s.n; ++t) {
      const int64_t pos = lay.positions[static_cast<size_t>(t)];
      int32_t* ct = cand_.data() + t * n_cand_;
      int64_t m = 0;
      // The raw window: positions max(0, pos-win+1) .. pos, oldest first.
      for (int64_t p = std::max<int64_t>(0, pos - win + 1); p <= pos; ++p)
        ct[m++] = static_cast<int32_t>(p < s.start_pos ? window_row + p - first_pos : own_row + p);
      first_col_[static_cast<size_t>(t)] = static_cast<int32_t>(m);
      if (ratio == 128) {
        for (int64_t r = 0; r < (pos + 1) / ratio; ++r) ct[m++] = static_cast<int32_t>(comp_row + r);
      } else if (ratio == 4 && !direct) {
        for (int64_t j = 0; j < k; ++j) {
          const int32_t r = topk_host_[static_cast<size_t>(t * k + j)];
          if (r >= 0) ct[m++] = row_map_[static_cast<size_t>(r)];
        }
      }
      DSV4_CHECK(m <= n_cand_);
    }
    window_row += window_runs_[i].n;
    comp_row += n_comp_rows;
  }
  DSV4_CHECK(comp_row + (direct ? lay.n_tokens * k : 0) <= n_keys);
  cand_dev_.assign(be, cand_);
  if (direct) gather_direct(ctx, layer, comp_row);
}

void AttentionRunner::output(const StepContext& ctx, int64_t layer, const AttentionWeights& w, float* out) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.rows;
  const int64_t qw = c.num_attention_heads * c.head_dim;
  const Round round = ctx.round();
  Backend& be = ctx.backend;
  // V = K carries rotated rope dims: undo the query position's rotation (spec §2.4.8).
  const RopeTable& t = ctx.rope_for_layer(layer);
  be.rope_apply(o_.data(), n, qw, c.num_attention_heads, c.head_dim, c.nope_dim(), t.cos.data(), t.sin.data(),
                t.n_freq, true, round);
  // Grouped projection: group g maps its heads' outputs (group_width) to o_lora_rank with
  // rows [g·o_lora, (g+1)·o_lora) of wo_a, in bf16 math (the reference dequantizes wo_a).
  const int64_t gw = c.group_width();
  const int64_t ol = c.o_lora_rank;
  const int64_t zw = c.o_groups * ol;
  z_.resize(be, static_cast<size_t>(n * zw));
  const int64_t k_blocks = (gw + 127) / 128;
  for (int64_t g = 0; g < c.o_groups; ++g) {
    const dsv4k::Fp8Weight wg{w.wo_a.data + g * ol * gw, w.wo_a.scale + (g * ol / 128) * k_blocks, ol, gw};
    be.linear(o_.data() + g * gw, n, qw, WeightRef::of(wg), ActQuant::kNone, z_.data() + g * ol, zw, round);
  }
  be.linear(z_.data(), n, zw, WeightRef::of(w.wo_b), ctx.act_quant(), out, c.hidden_size, round);
}

void AttentionRunner::write_window(const StepContext& ctx, int64_t layer) {
  const StepLayout& lay = ctx.layout;
  const int64_t hd = ctx.config.head_dim;
  window_runs_.clear();
  int64_t n_rows = 0;
  for (const StepSeq& s : lay.seqs) {
    // Only the last `sliding_window` rows can ever be read again (older ones would land on
    // the same ring rows, which a write names once).
    const int64_t i0 = std::max<int64_t>(0, s.n - ctx.config.sliding_window);
    window_runs_.push_back({s.slot, s.start_pos + i0, s.n - i0});
    n_rows += s.n - i0;
  }
  // kv_ holds the sequences' rows one after the other: unless a chunk longer than the window
  // skips some, the rows to write are kv_ as it is; otherwise one copy gathers them.
  const float* rows = kv_.data();
  if (n_rows < lay.n_tokens) {
    win_rows_.resize(ctx.backend, static_cast<size_t>(n_rows * hd));
    spans_.clear();
    int64_t row = 0;
    for (size_t i = 0; i < lay.seqs.size(); ++i) {
      const StepSeq& s = lay.seqs[i];
      const int64_t n = window_runs_[i].n;
      spans_.push_back({win_rows_.data() + row * hd, kv_.data() + (s.begin + s.n - n) * hd,
                        n * hd * static_cast<int64_t>(sizeof(float))});
      row += n;
    }
    ctx.backend.copy_spans(spans_.data(), static_cast<int64_t>(spans_.size()));
    rows = win_rows_.data();
  }
  ctx.cache.window_write(layer, window_runs_, rows);
}

void AttentionRunner::project(const StepContext& ctx, int64_t layer, const AttentionWeights& w, const float* x) {
  query(ctx, layer, w, x);
  raw_kv(ctx, layer, w, x);
  if (w.has_compressor) compressor_.project(ctx, layer, RowKind::kAttention, w.compressor, x);
  if (w.has_indexer) {
    index_compressor_.project(ctx, layer, RowKind::kIndexer, w.index_compressor, x);
    indexer_.project(ctx, layer, w, x, qr_.data());
  }
}

void AttentionRunner::attend(const StepContext& ctx, int64_t layer, const AttentionWeights& w) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.layout.n_tokens;
  Backend& be = ctx.backend;
  // Rows completed by this step are visible to its later tokens: compress before attending.
  if (w.has_compressor) compressor_.run(ctx, layer, RowKind::kAttention, w.compressor);
  if (w.has_indexer) {
    index_compressor_.run(ctx, layer, RowKind::kIndexer, w.index_compressor);
    topk_.resize(be, static_cast<size_t>(n * c.index_topk));
    indexer_.select(ctx, layer, topk_.data());
  }
  gather_candidates(ctx, layer);
  const int64_t qw = c.num_attention_heads * c.head_dim;
  // output() reads ctx.rows rows; padding rows past n keep whatever they held.
  o_.resize(be, static_cast<size_t>(ctx.rows * qw));
  const dsv4k::AttentionShape shape{c.num_attention_heads, c.head_dim,
                                    static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim)))};
  be.sparse_attention(q_.data(), n, qw, shape, kvbuf_.data(), c.head_dim, cand_dev_.data(), n_cand_, w.sink,
                      o_.data(), qw, ctx.round());
  write_window(ctx, layer);
}

}  // namespace dsv4

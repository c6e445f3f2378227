#include "model/model.h"

#include <vector>

#include "core/check.h"
#include "model/step_context.h"
#include "model/step_layout.h"

namespace dsv4 {

Model::Model(const ModelConfig& config, const ModelWeights& weights, Backend& backend, Numerics numerics)
    : config_(config), weights_(weights), backend_(backend), numerics_(numerics),
      freqs_(RopeFrequencies::for_config(config)) {}

void Model::compute_logits(const float* X, int64_t n_tokens, const std::vector<StepSeq>& seqs, LogitsMode mode,
                           const std::vector<uint8_t>& chunk_mask, const SampleOnDevice& sample_on_device,
                           const HcWeights& head_hc, const uint16_t* final_norm, ForwardResult* out) {
  const int64_t d = config_.hidden_size;
  const int64_t w = config_.hc_mult * d;
  out->logits.clear();
  out->logit_rows.clear();
  out->sampled.clear();
  row_sampling_.clear();
  switch (mode) {
    case LogitsMode::kNone: return;
    case LogitsMode::kLast:
      for (size_t i = 0; i < seqs.size(); ++i)
        if (chunk_mask.empty() || chunk_mask[i]) {
          out->logit_rows.push_back(seqs[i].begin + seqs[i].n - 1);
          if (!sample_on_device.empty()) row_sampling_.push_back(sample_on_device[i]);
        }
      break;
    case LogitsMode::kAll:
      for (int64_t t = 0; t < n_tokens; ++t) out->logit_rows.push_back(t);
      break;
  }
  const int64_t m = static_cast<int64_t>(out->logit_rows.size());
  if (m == 0) return;
  std::vector<int32_t> rows(out->logit_rows.begin(), out->logit_rows.end());
  rows_.assign(backend_, rows);
  sel_.resize(backend_, static_cast<size_t>(m * w));
  const size_t row_bytes = static_cast<size_t>(w) * sizeof(float);
  backend_.gather_rows(X, row_bytes, rows_.data(), m, row_bytes, sel_.data(), row_bytes);
  const Round round = numerics_.round();
  const float eps = static_cast<float>(config_.rms_norm_eps);
  const dsv4k::HcParams hp{config_.hc_mult, d, eps, static_cast<float>(config_.hc_eps), config_.hc_sinkhorn_iters};
  y_.resize(backend_, static_cast<size_t>(m * d));
  tmp_.resize(backend_, static_cast<size_t>(m * d));
  backend_.hc_head(sel_.data(), m, hp, head_hc.fn, head_hc.scale, head_hc.base, tmp_.data(), round);
  backend_.rmsnorm(tmp_.data(), m, d, d, final_norm, eps, y_.data(), d, round);
  logits_.resize(backend_, static_cast<size_t>(m * config_.vocab_size));
  // Logits are fp32 from the bf16 head weight (spec §2.6).
  backend_.linear(y_.data(), m, d, WeightRef::of(weights_.head), ActQuant::kNone, logits_.data(), config_.vocab_size,
                  Round::kNone);
  readback_.read(backend_, logits_.data(), m, config_.vocab_size, row_sampling_, out);
}

void Model::expand_streams(const float* rows, float* streams, int64_t n) {
  const int64_t d = config_.hidden_size;
  const int64_t hc = config_.hc_mult;
  const size_t row = static_cast<size_t>(d) * sizeof(float);
  for (int64_t j = 0; j < hc; ++j)
    backend_.copy_2d(streams + j * d, static_cast<size_t>(hc) * row, rows, row, row, static_cast<size_t>(n));
}

int64_t Model::step_rows(const StepLayout& layout) const {
  if (!graphs_.enabled() || !backend_.can_capture()) return 0;
  // Decode steps only: one token per sequence, so the step's shape is its batch size.
  for (const StepSeq& s : layout.seqs)
    if (s.n != 1) return 0;
  return graphs_.padded_rows(layout.n_tokens);
}

StepContext Model::step_context(const StepLayout& layout, int64_t rows, StepGraphs* graphs, KvCache& cache) {
  // Padding rows: token 0 at position 0, harmless inputs whose results nobody reads.
  step_tokens_.assign(layout.tokens.begin(), layout.tokens.end());
  step_tokens_.resize(static_cast<size_t>(rows), 0);
  step_positions_.assign(layout.positions.begin(), layout.positions.end());
  step_positions_.resize(static_cast<size_t>(rows), 0);
  tokens_.assign(backend_, step_tokens_);
  rope_plain_.fill(backend_, freqs_.plain, step_positions_.data(), rows);
  rope_compress_.fill(backend_, freqs_.compress, step_positions_.data(), rows);
  return StepContext{config_, backend_, numerics_,   layout,         rows,         tokens_.data(), cache,
                     freqs_,  rope_plain_, rope_compress_, topk_gather_, graphs};
}

Status Model::forward(const ForwardBatch& batch, KvCache& cache, ForwardResult* out) {
  DSV4_ASSIGN_OR_RETURN(StepLayout layout, make_step_layout(config_, batch.tokens, batch.chunks, cache, CacheStream::kMain));
  if (!batch.logits_for_chunk.empty() && batch.logits_for_chunk.size() != batch.chunks.size())
    return invalid_argument("logits_for_chunk has " + std::to_string(batch.logits_for_chunk.size()) +
                            " entries for " + std::to_string(batch.chunks.size()) + " chunks");
  if (!batch.sample_on_device.empty() &&
      (batch.sample_on_device.size() != batch.chunks.size() || batch.logits != LogitsMode::kLast))
    return invalid_argument("sample_on_device has " + std::to_string(batch.sample_on_device.size()) + " entries for " +
                            std::to_string(batch.chunks.size()) + " chunks (it needs one per chunk, with kLast logits)");
  const int64_t d = config_.hidden_size;
  const int64_t hc = config_.hc_mult;
  const int64_t rows = step_rows(layout);
  StepGraphs* graphs = rows > 0 ? &graphs_ : nullptr;
  const StepContext ctx = step_context(layout, rows > 0 ? rows : layout.n_tokens, graphs, cache);

  // Embedding, expanded to hc identical streams (padding rows too: the segments read them).
  e_.resize(backend_, static_cast<size_t>(ctx.rows * d));
  X_.resize(backend_, static_cast<size_t>(ctx.rows * hc * d));
  backend_.embed(weights_.embed, d, tokens_.data(), ctx.rows, e_.data());
  expand_streams(e_.data(), X_.data(), ctx.rows);

  for (int64_t l = 0; l < config_.num_hidden_layers; ++l)
    block_.forward(ctx, l, weights_.layers[static_cast<size_t>(l)], X_.data());

  // The real tokens' streams only: a graphed step's X_ holds padding rows after them.
  if (batch.keep_hidden) out->hidden = X_.to_host(backend_, static_cast<size_t>(layout.n_tokens * hc * d));
  compute_logits(X_.data(), layout.n_tokens, layout.seqs, batch.logits, batch.logits_for_chunk, batch.sample_on_device,
                 weights_.hc_head, weights_.norm, out);
  for (const StepSeq& s : layout.seqs) cache.set_length(s.slot, CacheStream::kMain, s.end_pos());
  return Status::ok();
}

Status Model::forward_mtp(const MtpBatch& batch, KvCache& cache, ForwardResult* out) {
  if (config_.n_mtp_layers() < 1) return failed_precondition("this model has no MTP block");
  DSV4_ASSIGN_OR_RETURN(StepLayout layout,
                        make_step_layout(config_, batch.next_tokens, batch.chunks, cache, CacheStream::kMtp));
  const int64_t n = layout.n_tokens;
  const int64_t d = config_.hidden_size;
  const int64_t hc = config_.hc_mult;
  if (static_cast<int64_t>(batch.hidden.size()) != n * hc * d)
    return invalid_argument("MTP hidden streams hold " + std::to_string(batch.hidden.size()) + " values, expected " +
                            std::to_string(n * hc * d) + " (n_tokens x hc_mult x hidden_size)");
  const MtpWeights& mw = weights_.mtp[0];
  // The draft block runs as plain ops: its steps are few next to the main model's.
  const StepContext ctx = step_context(layout, n, nullptr, cache);
  const Round round = numerics_.round();
  const float eps = static_cast<float>(config_.rms_norm_eps);
  const ActQuant aq = numerics_.quantize_activations ? ActQuant::kE4M3Block : ActQuant::kNone;

  // S_j = e_proj·RMSNorm(embed(x_{i+1})) + h_proj·RMSNorm(X_{i,j}), each product bf16.
  e_.resize(backend_, static_cast<size_t>(n * d));
  tmp_.resize(backend_, static_cast<size_t>(n * hc * d));
  X_.resize(backend_, static_cast<size_t>(n * hc * d));
  y_.resize(backend_, static_cast<size_t>(n * d));
  backend_.embed(weights_.embed, d, tokens_.data(), n, e_.data());
  backend_.rmsnorm(e_.data(), n, d, d, mw.enorm, eps, e_.data(), d, round);
  backend_.linear(e_.data(), n, d, WeightRef::of(mw.e_proj), aq, y_.data(), d, round);
  X_.assign(backend_, batch.hidden);  // the main model's streams, staged in X_
  backend_.rmsnorm(X_.data(), n * hc, d, d, mw.hnorm, eps, tmp_.data(), d, round);
  backend_.linear(tmp_.data(), n * hc, d, WeightRef::of(mw.h_proj), aq, X_.data(), d, round);
  // Each stream j of token t gets the token's e-projection added: broadcast it, then one add.
  expand_streams(y_.data(), tmp_.data(), n);
  backend_.add(X_.data(), tmp_.data(), X_.data(), n * hc * d, round);

  block_.forward(ctx, config_.num_hidden_layers, mw.block, X_.data());
  compute_logits(X_.data(), n, layout.seqs, batch.logits, {}, {}, mw.hc_head, mw.norm, out);
  for (const StepSeq& s : layout.seqs) cache.set_length(s.slot, CacheStream::kMtp, s.end_pos());
  return Status::ok();
}

}  // namespace dsv4

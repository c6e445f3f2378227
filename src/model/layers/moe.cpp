#include "model/layers/moe.h"

namespace dsv4 {

void MoeRunner::route(const StepContext& ctx, int64_t layer, const MoeWeights& w, const float* x) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.rows;
  const int64_t ne = c.n_routed_experts;
  const int64_t k = c.num_experts_per_tok;
  Backend& be = ctx.backend;
  // The router stays fp32 (spec §6.2): fp32 logits from the bf16 gate weight.
  logits_.resize(be, static_cast<size_t>(n * ne));
  be.linear(x, n, c.hidden_size, WeightRef::of(w.gate), ActQuant::kNone, logits_.data(), ne, Round::kNone);
  ids_.resize(be, static_cast<size_t>(n * k));
  weights_.resize(be, static_cast<size_t>(n * k));
  const dsv4k::RouteParams p{ne, k, static_cast<float>(c.routed_scaling_factor)};
  if (c.is_hash_layer(layer)) {
    // Row tid2eid[token] of the hash table for each token (token ids were validated).
    table_rows_.resize(be, static_cast<size_t>(n * k));
    const size_t row = static_cast<size_t>(k) * sizeof(int64_t);
    be.gather_rows(w.tid2eid, row, ctx.tokens, n, row, table_rows_.data(), row);
    be.route_hash(logits_.data(), n, p, table_rows_.data(), ids_.data(), weights_.data());
  } else {
    be.route_topk(logits_.data(), n, p, w.gate_bias, ids_.data(), weights_.data());
  }
}

void MoeRunner::run_shared(const StepContext& ctx, const ExpertWeights& e, const float* x) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.rows;
  const int64_t d = c.hidden_size;
  const int64_t inter = c.moe_intermediate_size;
  const Round round = ctx.round();
  Backend& be = ctx.backend;
  g_.resize(be, static_cast<size_t>(n * inter));
  u_.resize(be, static_cast<size_t>(n * inter));
  h_.resize(be, static_cast<size_t>(n * inter));
  shared_out_.resize(be, static_cast<size_t>(n * d));
  be.linear(x, n, d, e.w1, ctx.act_quant(), g_.data(), inter, round);
  be.linear(x, n, d, e.w3, ctx.act_quant(), u_.data(), inter, round);
  be.swiglu(g_.data(), u_.data(), n, inter, inter, nullptr, static_cast<float>(c.swiglu_limit), h_.data(), inter, round);
  be.linear(h_.data(), n, inter, e.w2, ctx.act_quant(), shared_out_.data(), d, round);
}

void MoeRunner::forward(const StepContext& ctx, int64_t layer, const MoeWeights& w, const float* x, float* out) {
  const ModelConfig& c = ctx.config;
  route(ctx, layer, w, x);
  run_shared(ctx, w.shared, x);
  const MoeShape s{c.hidden_size, c.moe_intermediate_size, c.num_experts_per_tok, c.n_routed_experts,
                   static_cast<float>(c.swiglu_limit)};
  ctx.backend.moe_experts(x, ctx.rows, ids_.data(), weights_.data(), w.experts.data(), s, ctx.act_quant(),
                          shared_out_.data(), out, ctx.round());
}

}  // namespace dsv4

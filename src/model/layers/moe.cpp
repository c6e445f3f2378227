#include "model/layers/moe.h"

#include <cstring>

namespace dsv4 {

void MoeRunner::route(const StepContext& ctx, int64_t layer, const MoeWeights& w, const float* x) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.layout.n_tokens;
  const int64_t ne = c.n_routed_experts;
  const int64_t k = c.num_experts_per_tok;
  Backend& be = ctx.backend;
  // The router stays fp32 (spec §6.2): fp32 logits from the bf16 gate weight.
  logits_.resize(static_cast<size_t>(n * ne));
  be.linear(x, n, c.hidden_size, WeightRef::of(w.gate), ActQuant::kNone, logits_.data(), ne, Round::kNone);
  ids_.resize(static_cast<size_t>(n * k));
  weights_.resize(static_cast<size_t>(n * k));
  const dsv4k::RouteParams p{ne, k, static_cast<float>(c.routed_scaling_factor)};
  if (c.is_hash_layer(layer)) {
    table_rows_.resize(static_cast<size_t>(n * k));
    for (int64_t t = 0; t < n; ++t)
      std::memcpy(table_rows_.data() + t * k, w.tid2eid + static_cast<int64_t>(ctx.layout.tokens[static_cast<size_t>(t)]) * k,
                  static_cast<size_t>(k) * sizeof(int64_t));
    be.route_hash(logits_.data(), n, p, table_rows_.data(), ids_.data(), weights_.data());
  } else {
    be.route_topk(logits_.data(), n, p, w.gate_bias, ids_.data(), weights_.data());
  }
}

void MoeRunner::run_expert(const StepContext& ctx, const ExpertWeights& e, const float* x, int64_t m,
                           const float* weights, float* y) {
  const ModelConfig& c = ctx.config;
  const int64_t d = c.hidden_size;
  const int64_t inter = c.moe_intermediate_size;
  const Round round = ctx.round();
  Backend& be = ctx.backend;
  g_.resize(static_cast<size_t>(m * inter));
  u_.resize(static_cast<size_t>(m * inter));
  h_.resize(static_cast<size_t>(m * inter));
  be.linear(x, m, d, e.w1, ctx.act_quant(), g_.data(), inter, round);
  be.linear(x, m, d, e.w3, ctx.act_quant(), u_.data(), inter, round);
  be.swiglu(g_.data(), u_.data(), m, inter, inter, weights, static_cast<float>(c.swiglu_limit), h_.data(), inter, round);
  be.linear(h_.data(), m, inter, e.w2, ctx.act_quant(), y, d, round);
}

void MoeRunner::forward(const StepContext& ctx, int64_t layer, const MoeWeights& w, const float* x, float* out) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.layout.n_tokens;
  const int64_t d = c.hidden_size;
  const int64_t k = c.num_experts_per_tok;
  route(ctx, layer, w, x);

  assigned_.resize(static_cast<size_t>(c.n_routed_experts));
  for (auto& a : assigned_) a.clear();
  for (int64_t i = 0; i < n * k; ++i) assigned_[static_cast<size_t>(ids_[static_cast<size_t>(i)])].push_back(i);

  expert_out_.resize(static_cast<size_t>(n * k * d));
  for (int64_t e = 0; e < c.n_routed_experts; ++e) {
    const std::vector<int64_t>& a = assigned_[static_cast<size_t>(e)];
    if (a.empty()) continue;
    const int64_t m = static_cast<int64_t>(a.size());
    xe_.resize(static_cast<size_t>(m * d));
    we_.resize(static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r) {
      const int64_t slot = a[static_cast<size_t>(r)];
      std::memcpy(xe_.data() + r * d, x + (slot / k) * d, static_cast<size_t>(d) * sizeof(float));
      we_[static_cast<size_t>(r)] = weights_[static_cast<size_t>(slot)];
    }
    ye_.resize(static_cast<size_t>(m * d));
    run_expert(ctx, w.experts[static_cast<size_t>(e)], xe_.data(), m, we_.data(), ye_.data());
    for (int64_t r = 0; r < m; ++r)
      std::memcpy(expert_out_.data() + a[static_cast<size_t>(r)] * d, ye_.data() + r * d,
                  static_cast<size_t>(d) * sizeof(float));
  }
  shared_out_.resize(static_cast<size_t>(n * d));
  run_expert(ctx, w.shared, x, n, nullptr, shared_out_.data());
  ctx.backend.moe_combine(expert_out_.data(), shared_out_.data(), n, k, d, out, ctx.round());
}

}  // namespace dsv4

#include "model/layers/block.h"

namespace dsv4 {

void BlockRunner::forward(const StepContext& ctx, int64_t layer, const BlockWeights& w, float* X) {
  const ModelConfig& c = ctx.config;
  const int64_t n = ctx.rows;
  const int64_t d = c.hidden_size;
  const Round round = ctx.round();
  const float eps = static_cast<float>(c.rms_norm_eps);
  const dsv4k::HcParams hp{c.hc_mult, d, eps, static_cast<float>(c.hc_eps), c.hc_sinkhorn_iters};
  Backend& be = ctx.backend;
  y_.resize(be, static_cast<size_t>(n * d));
  normed_.resize(be, static_cast<size_t>(n * d));
  sub_.resize(be, static_cast<size_t>(n * d));
  post_.resize(be, static_cast<size_t>(n * c.hc_mult));
  comb_.resize(be, static_cast<size_t>(n * c.hc_mult * c.hc_mult));
  X2_.resize(be, static_cast<size_t>(n * c.hc_mult * d));

  // Two segments per layer around the attention's context-dependent middle.
  const auto key = static_cast<int32_t>(2 * layer);
  ctx.segment(key, [&] {
    be.hc_pre(X, n, hp, w.hc_attn.fn, w.hc_attn.scale, w.hc_attn.base, y_.data(), post_.data(), comb_.data(), round);
    be.rmsnorm(y_.data(), n, d, d, w.attn_norm, eps, normed_.data(), d, round);
    attention_.project(ctx, layer, w.attn, normed_.data());
  });
  attention_.attend(ctx, layer, w.attn);
  ctx.segment(key + 1, [&] {
    attention_.output(ctx, layer, w.attn, sub_.data());
    be.hc_post(sub_.data(), X, post_.data(), comb_.data(), n, hp, X2_.data(), round);
    be.hc_pre(X2_.data(), n, hp, w.hc_ffn.fn, w.hc_ffn.scale, w.hc_ffn.base, y_.data(), post_.data(), comb_.data(),
              round);
    be.rmsnorm(y_.data(), n, d, d, w.ffn_norm, eps, normed_.data(), d, round);
    moe_.forward(ctx, layer, w.moe, normed_.data(), sub_.data());
    be.hc_post(sub_.data(), X2_.data(), post_.data(), comb_.data(), n, hp, X, round);
  });
}

}  // namespace dsv4

#include "model/rope_tables.h"

#include "backend/backend.h"

namespace dsv4 {

RopeFrequencies RopeFrequencies::for_config(const ModelConfig& c) {
  RopeFrequencies f;
  const int64_t n = c.qk_rope_head_dim / 2;
  f.plain.resize(static_cast<size_t>(n));
  f.compress.resize(static_cast<size_t>(n));
  rope_frequencies(c.qk_rope_head_dim, c.rope_theta, nullptr, f.plain.data());
  dsv4k::YarnParams yarn;
  const dsv4k::YarnParams* yp = nullptr;
  if (c.rope_scaling.enabled) {
    yarn.factor = c.rope_scaling.factor;
    yarn.original_max_position = static_cast<double>(c.rope_scaling.original_max_position_embeddings);
    yarn.beta_fast = c.rope_scaling.beta_fast;
    yarn.beta_slow = c.rope_scaling.beta_slow;
    yp = &yarn;
  }
  rope_frequencies(c.qk_rope_head_dim, c.compress_rope_theta, yp, f.compress.data());
  return f;
}

void RopeTable::fill(Backend& be, const std::vector<float>& freqs, const int64_t* positions, int64_t n) {
  n_freq = static_cast<int64_t>(freqs.size());
  cos_host_.resize(static_cast<size_t>(n * n_freq));
  sin_host_.resize(cos_host_.size());
  rope_table(positions, n, freqs.data(), n_freq, cos_host_.data(), sin_host_.data());
  cos.assign(be, cos_host_);
  sin.assign(be, sin_host_);
}

}  // namespace dsv4

#include "model/contiguous_kv_cache.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/check.h"

namespace dsv4 {

int64_t compressor_carry_slots(int64_t ratio) { return ratio == 4 ? 2 * ratio : ratio; }
int64_t compressor_carry_width(int64_t ratio, int64_t row_dim) { return ratio == 4 ? 2 * row_dim : row_dim; }

namespace {

void init_carry(std::vector<float>& kv, std::vector<float>& score, int64_t ratio, int64_t dim) {
  const size_t n = static_cast<size_t>(compressor_carry_slots(ratio) * compressor_carry_width(ratio, dim));
  // A slot that no token has filled pools with weight 0: kv 0, score -inf.
  kv.assign(n, 0.0f);
  score.assign(n, -std::numeric_limits<float>::infinity());
}

}  // namespace

ContiguousKvCache::ContiguousKvCache(const ModelConfig& config) : config_(config) {}

void ContiguousKvCache::init_sequence(Sequence& s) const {
  const int64_t n_layers = config_.num_hidden_layers + config_.n_mtp_layers();
  s.live = true;
  s.length_main = 0;
  s.length_mtp = 0;
  s.layers.assign(static_cast<size_t>(n_layers), LayerState{});
  for (int64_t l = 0; l < n_layers; ++l) {
    LayerState& ls = s.layers[static_cast<size_t>(l)];
    ls.window.assign(static_cast<size_t>(config_.sliding_window * config_.head_dim), 0.0f);
    ls.window_pos.assign(static_cast<size_t>(config_.sliding_window), -1);
    const int64_t ratio = config_.compress_ratio(l);
    if (ratio > 0) init_carry(ls.carry_kv, ls.carry_score, ratio, config_.head_dim);
    if (ratio == 4) init_carry(ls.index_carry_kv, ls.index_carry_score, ratio, config_.index_head_dim);
  }
}

int32_t ContiguousKvCache::add_sequence() {
  for (size_t i = 0; i < seqs_.size(); ++i) {
    if (!seqs_[i].live) {
      init_sequence(seqs_[i]);
      return static_cast<int32_t>(i);
    }
  }
  seqs_.emplace_back();
  init_sequence(seqs_.back());
  return static_cast<int32_t>(seqs_.size() - 1);
}

void ContiguousKvCache::remove_sequence(int32_t slot) {
  DSV4_CHECK(has_sequence(slot));
  Sequence& s = seqs_[static_cast<size_t>(slot)];
  s.live = false;
  s.layers.clear();
  s.layers.shrink_to_fit();
}

int32_t ContiguousKvCache::fork(int32_t slot) {
  DSV4_CHECK(has_sequence(slot));
  const int32_t copy = add_sequence();
  seqs_[static_cast<size_t>(copy)] = seqs_[static_cast<size_t>(slot)];
  return copy;
}

bool ContiguousKvCache::has_sequence(int32_t slot) const {
  return slot >= 0 && static_cast<size_t>(slot) < seqs_.size() && seqs_[static_cast<size_t>(slot)].live;
}

int64_t ContiguousKvCache::length(int32_t slot, CacheStream stream) const {
  DSV4_CHECK(has_sequence(slot));
  const Sequence& s = seqs_[static_cast<size_t>(slot)];
  return stream == CacheStream::kMain ? s.length_main : s.length_mtp;
}

void ContiguousKvCache::set_length(int32_t slot, CacheStream stream, int64_t n) {
  DSV4_CHECK(has_sequence(slot));
  Sequence& s = seqs_[static_cast<size_t>(slot)];
  (stream == CacheStream::kMain ? s.length_main : s.length_mtp) = n;
}

const ContiguousKvCache::LayerState& ContiguousKvCache::layer_state(int64_t layer, int32_t slot) const {
  DSV4_CHECK(has_sequence(slot));
  const Sequence& s = seqs_[static_cast<size_t>(slot)];
  DSV4_CHECK(layer >= 0 && static_cast<size_t>(layer) < s.layers.size());
  return s.layers[static_cast<size_t>(layer)];
}

ContiguousKvCache::LayerState& ContiguousKvCache::layer_state(int64_t layer, int32_t slot) {
  return const_cast<LayerState&>(static_cast<const ContiguousKvCache*>(this)->layer_state(layer, slot));
}

int64_t ContiguousKvCache::row_width(RowKind kind) const {
  return kind == RowKind::kAttention ? config_.head_dim : config_.index_head_dim;
}

void ContiguousKvCache::window_write(int64_t layer, int32_t slot, int64_t pos, const float* row) {
  LayerState& ls = layer_state(layer, slot);
  const int64_t ring = pos % config_.sliding_window;
  std::memcpy(ls.window.data() + ring * config_.head_dim, row, static_cast<size_t>(config_.head_dim) * sizeof(float));
  ls.window_pos[static_cast<size_t>(ring)] = pos;
}

void ContiguousKvCache::window_read(int64_t layer, int32_t slot, int64_t pos, float* row) const {
  const LayerState& ls = layer_state(layer, slot);
  const int64_t ring = pos % config_.sliding_window;
  DSV4_CHECK_MSG(ls.window_pos[static_cast<size_t>(ring)] == pos, "window row no longer cached");
  std::memcpy(row, ls.window.data() + ring * config_.head_dim, static_cast<size_t>(config_.head_dim) * sizeof(float));
}

void ContiguousKvCache::rows_append(int64_t layer, RowKind kind, int32_t slot, int64_t index, const float* row) {
  LayerState& ls = layer_state(layer, slot);
  std::vector<float>& rows = kind == RowKind::kAttention ? ls.rows : ls.index_rows;
  const int64_t w = row_width(kind);
  DSV4_CHECK(static_cast<int64_t>(rows.size()) == index * w);
  rows.insert(rows.end(), row, row + w);
}

int64_t ContiguousKvCache::rows_count(int64_t layer, RowKind kind, int32_t slot) const {
  const LayerState& ls = layer_state(layer, slot);
  const std::vector<float>& rows = kind == RowKind::kAttention ? ls.rows : ls.index_rows;
  return static_cast<int64_t>(rows.size()) / row_width(kind);
}

void ContiguousKvCache::rows_read(int64_t layer, RowKind kind, int32_t slot, int64_t begin, int64_t end,
                                  float* out) const {
  const LayerState& ls = layer_state(layer, slot);
  const std::vector<float>& rows = kind == RowKind::kAttention ? ls.rows : ls.index_rows;
  const int64_t w = row_width(kind);
  DSV4_CHECK(begin >= 0 && begin <= end && end * w <= static_cast<int64_t>(rows.size()));
  std::copy(rows.begin() + begin * w, rows.begin() + end * w, out);
}

void ContiguousKvCache::rows_gather(int64_t layer, RowKind kind, int32_t slot, const int32_t* idx, int64_t n,
                                    float* out) const {
  const LayerState& ls = layer_state(layer, slot);
  const std::vector<float>& rows = kind == RowKind::kAttention ? ls.rows : ls.index_rows;
  const int64_t w = row_width(kind);
  const int64_t count = static_cast<int64_t>(rows.size()) / w;
  for (int64_t i = 0; i < n; ++i) {
    DSV4_CHECK(idx[i] >= 0 && idx[i] < count);
    std::copy(rows.begin() + idx[i] * w, rows.begin() + (idx[i] + 1) * w, out + i * w);
  }
}

CompressorCarry ContiguousKvCache::compressor_carry(int64_t layer, RowKind kind, int32_t slot) {
  LayerState& ls = layer_state(layer, slot);
  const int64_t ratio = config_.compress_ratio(layer);
  DSV4_CHECK(ratio > 0 && (kind == RowKind::kAttention || ratio == 4));
  const int64_t dim = row_width(kind);
  std::vector<float>& kv = kind == RowKind::kAttention ? ls.carry_kv : ls.index_carry_kv;
  std::vector<float>& score = kind == RowKind::kAttention ? ls.carry_score : ls.index_carry_score;
  return {kv.data(), score.data(), compressor_carry_slots(ratio), compressor_carry_width(ratio, dim)};
}

}  // namespace dsv4

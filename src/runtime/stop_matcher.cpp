// StopStrings (Aho-Corasick construction) and StopMatcher (streaming match and hold-back);
// the semantics are in stop_matcher.h.
#include "runtime/stop_matcher.h"

#include <algorithm>

#include "core/log.h"

namespace dsv4 {

Result<std::shared_ptr<const StopStrings>> StopStrings::compile(const std::vector<std::string>& stops) {
  for (size_t i = 0; i < stops.size(); ++i) {
    if (stops[i].empty()) return invalid_argument(format("stop: string %zu is empty", i));
  }
  std::shared_ptr<StopStrings> compiled(new StopStrings(stops));
  compiled->build();
  return std::shared_ptr<const StopStrings>(std::move(compiled));
}

int32_t StopStrings::child(int32_t state, uint8_t byte) const {
  const Node& node = nodes_[static_cast<size_t>(state)];
  for (int32_t e = node.first_edge; e < node.first_edge + node.n_edges; ++e) {
    if (edge_bytes_[static_cast<size_t>(e)] == byte) return edge_targets_[static_cast<size_t>(e)];
  }
  return -1;
}

int32_t StopStrings::next(int32_t state, uint8_t byte) const {
  // Classic failure-link walk: each failure strictly shortens the matched suffix, so the
  // walk is amortized O(1) per byte.
  while (state != 0) {
    int32_t c = child(state, byte);
    if (c >= 0) return c;
    state = nodes_[static_cast<size_t>(state)].fail;
  }
  return root_next_[byte];
}

void StopStrings::build() {
  // 1. The trie, with a node's stop index set by the first (lowest) index that ends there.
  std::vector<std::vector<std::pair<uint8_t, int32_t>>> children(1);
  nodes_.assign(1, Node{});
  for (size_t i = 0; i < stops_.size(); ++i) {
    int32_t state = 0;
    for (char ch : stops_[i]) {
      auto byte = static_cast<uint8_t>(ch);
      auto& edges = children[static_cast<size_t>(state)];
      auto it = std::find_if(edges.begin(), edges.end(), [&](const auto& e) { return e.first == byte; });
      if (it != edges.end()) {
        state = it->second;
        continue;
      }
      auto created = static_cast<int32_t>(nodes_.size());
      Node node;
      node.depth = nodes_[static_cast<size_t>(state)].depth + 1;
      nodes_.push_back(node);
      children.emplace_back();
      children[static_cast<size_t>(state)].emplace_back(byte, created);
      state = created;
    }
    Node& end = nodes_[static_cast<size_t>(state)];
    if (end.output < 0) end.output = static_cast<int32_t>(i);
  }
  // 2. Flat, byte-sorted edge lists, and the root's dense table.
  for (size_t s = 0; s < nodes_.size(); ++s) {
    auto& edges = children[s];
    std::sort(edges.begin(), edges.end());
    nodes_[s].first_edge = static_cast<int32_t>(edge_bytes_.size());
    nodes_[s].n_edges = static_cast<int32_t>(edges.size());
    for (const auto& [byte, target] : edges) {
      edge_bytes_.push_back(byte);
      edge_targets_.push_back(target);
    }
  }
  root_next_.fill(0);
  for (const auto& [byte, target] : children[0]) root_next_[byte] = target;
  // 3. Failure links and outputs, breadth first so a node's fail target is done before it.
  // A node that ends no stop string itself inherits its fail target's output: that is the
  // longest stop string ending at this point (any shorter suffix is a trie node on the
  // fail chain, and fail is the longest of them).
  std::vector<int32_t> queue;
  for (const auto& [byte, target] : children[0]) queue.push_back(target);
  for (size_t q = 0; q < queue.size(); ++q) {
    int32_t u = queue[q];
    for (const auto& [byte, v] : children[static_cast<size_t>(u)]) {
      Node& node = nodes_[static_cast<size_t>(v)];
      node.fail = next(nodes_[static_cast<size_t>(u)].fail, byte);
      if (node.output < 0) node.output = nodes_[static_cast<size_t>(node.fail)].output;
      queue.push_back(v);
    }
  }
}

StopFeedResult StopMatcher::feed(std::string_view token_bytes) {
  StopFeedResult result;
  ++n_fed_;
  const int64_t begin = n_bytes_;
  n_bytes_ += static_cast<int64_t>(token_bytes.size());
  if (match_ || stops_ == nullptr || stops_->size() == 0) {
    result.match = match_;
    result.n_released = 1;  // nothing is ever held once matched, or without stop strings
    return result;
  }
  held_ends_.push_back(n_bytes_);
  for (size_t j = 0; j < token_bytes.size(); ++j) {
    state_ = stops_->next(state_, static_cast<uint8_t>(token_bytes[j]));
    int32_t out = stops_->output(state_);
    if (out < 0) continue;
    int64_t end = begin + static_cast<int64_t>(j) + 1;
    match_ = StopMatch{out, end - static_cast<int64_t>(stops_->stop(static_cast<size_t>(out)).size())};
    result.match = match_;
    result.n_released = finish();
    return result;
  }
  result.n_released = release_through(n_bytes_ - stops_->depth(state_));
  return result;
}

int64_t StopMatcher::finish() {
  auto n = static_cast<int64_t>(held_ends_.size());
  held_ends_.clear();
  return n;
}

int64_t StopMatcher::n_pending_bytes() const {
  if (match_ || stops_ == nullptr || stops_->size() == 0) return 0;
  return stops_->depth(state_);
}

int64_t StopMatcher::release_through(int64_t byte_offset) {
  int64_t n = 0;
  while (!held_ends_.empty() && held_ends_.front() <= byte_offset) {
    held_ends_.pop_front();
    ++n;
  }
  return n;
}

}  // namespace dsv4

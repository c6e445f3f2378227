// IdPool: a fixed set of small integer ids (sequence slots), lowest free id first so that
// slot numbering is deterministic.
#pragma once

#include <cstdint>
#include <optional>
#include <set>

namespace dsv4 {

class IdPool {
 public:
  explicit IdPool(int32_t n) : n_(n) {
    for (int32_t i = 0; i < n; ++i) free_.insert(i);
  }
  std::optional<int32_t> acquire() {
    if (free_.empty()) return std::nullopt;
    const int32_t id = *free_.begin();
    free_.erase(free_.begin());
    return id;
  }
  void release(int32_t id) { free_.insert(id); }
  int32_t size() const { return n_; }
  int32_t n_free() const { return static_cast<int32_t>(free_.size()); }

 private:
  int32_t n_;
  std::set<int32_t> free_;
};

}  // namespace dsv4

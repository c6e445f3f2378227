// BackendArray<T>: a growable array in a backend's memory, the forward pass's activation and
// index buffer. Like AlignedBuffer it grows by reallocation (contents are not preserved)
// and new memory is zeroed, so stale values of an earlier step can never leak into a
// result; unlike it, the host never dereferences data(): values move with assign (upload)
// and to_host (download).
//
// A buffer that grows takes grown_capacity (below).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/check.h"

namespace dsv4 {

// The bytes a buffer holding `have` bytes takes when it must hold `need` (> have): half its
// old size again, up to 64 MiB more, when that is more than asked. Buffers sized by the
// context (keys, attention's partial sums) grow a little every decode step, and each
// reallocation releases a block, which drops every captured graph (Backend::memory_epoch);
// geometric growth makes that rare, the cap keeps prefill-sized buffers near their need.
inline size_t grown_capacity(size_t have, size_t need) {
  constexpr size_t kMaxExtraBytes = size_t{64} << 20;
  return std::max(need, have + std::min(have / 2, kMaxExtraBytes));
}

template <class T>
class BackendArray {
 public:
  // n elements; a failed allocation stops the process with the size (activation memory is
  // sized by the engine's admission limits, so running out here is a bug in them).
  void resize(Backend& be, size_t n) {
    if (n > capacity_) {
      const size_t cap = std::max<size_t>(grown_capacity(capacity_ * sizeof(T), n * sizeof(T)) / sizeof(T), 1);
      mem_.reset();
      Result<std::unique_ptr<BackendMemory>> m = be.allocate(cap * sizeof(T));
      DSV4_CHECK_MSG(m.is_ok(), "activation memory (" + std::to_string(cap * sizeof(T)) + " bytes) on " + be.name() +
                                    ": " + m.status().to_string());
      mem_ = std::move(m).value();
      capacity_ = cap;
    }
    size_ = n;
  }
  // Resizes to n and uploads host values.
  void assign(Backend& be, const T* src, size_t n) {
    resize(be, n);
    if (n > 0) be.upload(data(), src, n * sizeof(T));
  }
  void assign(Backend& be, const std::vector<T>& src) { assign(be, src.data(), src.size()); }
  // The first n values (all by default), downloaded.
  std::vector<T> to_host(Backend& be, size_t n = SIZE_MAX) const {
    std::vector<T> out(std::min(n, size_));
    if (!out.empty()) be.download(out.data(), data(), out.size() * sizeof(T));
    return out;
  }

  T* data() { return mem_ ? static_cast<T*>(mem_->data()) : nullptr; }
  const T* data() const { return mem_ ? static_cast<const T*>(mem_->data()) : nullptr; }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<BackendMemory> mem_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace dsv4

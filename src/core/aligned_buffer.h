// A heap buffer aligned for 512-bit SIMD, for activations and scratch.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace dsv4 {

template <class T>
class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }

  // Reallocates when growing; contents are not preserved. New memory is zeroed so that
  // stale values from an earlier step can never leak into a result.
  void resize(size_t n) {
    if (n > capacity_) {
      size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
      data_.reset(static_cast<T*>(std::aligned_alloc(kAlignment, bytes)));
      std::memset(static_cast<void*>(data_.get()), 0, bytes);
      capacity_ = n;
    }
    size_ = n;
  }
  // Without zeroing: for large pools whose every element is written before it is read
  // (KV pages). The operating system then commits memory only as it is first touched.
  void resize_uninitialized(size_t n) {
    if (n > capacity_) {
      size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
      data_.reset(static_cast<T*>(std::aligned_alloc(kAlignment, bytes)));
      capacity_ = n;
    }
    size_ = n;
  }
  void fill_zero() { std::memset(static_cast<void*>(data_.get()), 0, size_ * sizeof(T)); }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace dsv4

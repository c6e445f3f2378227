// TensorView: a non-owning view of a dense row-major tensor in some memory.
//
// Views carry their dtype and shape so that loaders and validators can check them;
// compute code unpacks them into raw pointers and sizes before calling a kernel.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace dsv4 {

enum class Device : uint8_t { kCpu, kCuda };

constexpr int kMaxRank = 4;

struct Shape {
  int rank = 0;
  std::array<int64_t, kMaxRank> dims{};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[static_cast<size_t>(i)];
    return n;
  }
  int64_t operator[](int i) const { return dims[static_cast<size_t>(i)]; }
  bool operator==(const Shape& o) const {
    if (rank != o.rank) return false;
    for (int i = 0; i < rank; ++i)
      if (dims[static_cast<size_t>(i)] != o.dims[static_cast<size_t>(i)]) return false;
    return true;
  }
  // "[1024, 4096]"
  std::string to_string() const;
};

Shape make_shape(std::initializer_list<int64_t> dims);

struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  Shape shape;
  Device device = Device::kCpu;

  int64_t numel() const { return shape.numel(); }
  int64_t nbytes() const { return numel() * static_cast<int64_t>(dtype_size(dtype)); }
  template <class T>
  const T* as() const { return static_cast<const T*>(data); }
  bool valid() const { return data != nullptr; }
};

}  // namespace dsv4

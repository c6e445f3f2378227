// The CUDA backend under test, and device buffers on its runtime. Each test binary defines
// make_backend_under_test(): over the host emulation (every build) or over a GPU.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"

namespace dsv4::backend_test {

// The backend, or null with *why_not set (the tests then skip with that reason).
std::unique_ptr<Backend> make_backend_under_test(std::string* why_not);

// Device copies of host vectors, kept alive until the Device is destroyed.
class Device {
 public:
  explicit Device(Backend& b) : rt_(cuda_backend_runtime(b)) {}
  template <typename T>
  T* up(const std::vector<T>& host) {
    T* p = alloc<T>(host.size());
    expect_ok(rt_.copy(p, host.data(), host.size() * sizeof(T), CopyKind::kHostToDevice));
    return p;
  }
  template <typename T>
  T* alloc(size_t n) {
    Result<PoolBuffer> b = allocate_buffer(rt_.pool(), std::max<size_t>(n, 1) * sizeof(T), rt_.stream());
    expect_ok(b.status());
    buffers_.push_back(std::move(b).value());
    return buffers_.back().as<T>();
  }
  template <typename T>
  std::vector<T> down(const T* p, size_t n) {
    std::vector<T> out(n);
    expect_ok(rt_.copy(out.data(), p, n * sizeof(T), CopyKind::kDeviceToHost));
    expect_ok(rt_.synchronize());
    return out;
  }

 private:
  static void expect_ok(const Status& s) { ASSERT_TRUE(s.is_ok()) << s.to_string(); }
  DeviceRuntime& rt_;
  std::vector<PoolBuffer> buffers_;
};

}  // namespace dsv4::backend_test

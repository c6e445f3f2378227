// The CUDA backend under test, and device buffers on its runtime. Each test binary defines
// make_backend_under_test(): over the host emulation (every build) or over a GPU.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "dsv4k/numeric.h"

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

// A test on the backend under test (skipped, with the reason, where there is none), with
// device buffers and seeded random host data.
class DeviceBackendTest : public ::testing::Test {
 protected:
  explicit DeviceBackendTest(uint32_t seed) : rng_(seed) {}

  void SetUp() override {
    std::string why;
    be_ = make_backend_under_test(&why);
    if (!be_) GTEST_SKIP() << "no supported GPU: " << why;
    dev_ = std::make_unique<Device>(*be_);
  }

  // bf16-representable normal values.
  std::vector<float> normal(size_t n, float sigma = 1.0f) {
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = dsv4k::round_bf16(d(rng_));
    return v;
  }
  // Random bytes; e4m3: no NaN codes (checkpoints hold none).
  std::vector<uint8_t> bytes(size_t n, bool e4m3 = false) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) {
      b = static_cast<uint8_t>(rng_());
      if (e4m3 && (b & 0x7Fu) == 0x7Fu) b = 0;
    }
    return v;
  }
  // ue8m0 block scales near 1 (2^-9 .. 2^0).
  std::vector<uint8_t> scales(size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(118 + rng_() % 10);
    return v;
  }

  std::unique_ptr<Backend> be_;
  std::unique_ptr<Device> dev_;  // after be_: released before it
  std::mt19937 rng_;
};

}  // namespace dsv4::backend_test

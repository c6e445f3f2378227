// What the GPU tests share: skipping with the reason where no supported GPU exists, device
// buffers that copy to and from host vectors, and a checked-status assertion.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/cuda/cuda_runtime.h"
#include "backend/cuda_device.h"

namespace dsv4::gpu_test {

// Empty when a supported GPU is present, else why the test cannot run.
inline std::string why_no_gpu() {
  const CudaDevices d = query_cuda_devices();
  if (d.devices.empty()) return d.unavailable_reason;
  const Status s = check_cuda_device_supported(d.devices.front());
  return s.is_ok() ? std::string() : s.message();
}

#define DSV4_REQUIRE_GPU()                                              \
  do {                                                                  \
    const std::string why_ = ::dsv4::gpu_test::why_no_gpu();            \
    if (!why_.empty()) GTEST_SKIP() << "no supported GPU: " << why_;    \
  } while (0)

#define DSV4_ASSERT_OK(expr)                      \
  do {                                            \
    const ::dsv4::Status st_ = (expr);            \
    ASSERT_TRUE(st_.is_ok()) << st_.to_string();  \
  } while (0)

// What a kernel test runs on: GPU 0 made current, a stream on it, and a caching pool over
// cudaMalloc (members in that order, so the pool goes before its allocator).
class DeviceSession {
 public:
  static Result<std::unique_ptr<DeviceSession>> open() {
    DSV4_RETURN_IF_ERROR(cuda::set_device(0));
    Result<cuda::Stream> stream = cuda::Stream::create();
    if (!stream.is_ok()) return stream.status();
    return std::unique_ptr<DeviceSession>(new DeviceSession(std::move(stream).value()));
  }
  const cuda::Stream& stream() const { return stream_; }
  DevicePool& pool() { return pool_; }

 private:
  explicit DeviceSession(cuda::Stream stream) : stream_(std::move(stream)) {}
  cuda::Stream stream_;
  cuda::RawAllocator raw_{0};
  DevicePool pool_{raw_};
};

// Device memory from the pool holding a copy of a host vector (or n zeroed elements).
template <typename T>
class DeviceVector {
 public:
  DeviceVector(DevicePool& pool, const cuda::Stream& stream, const std::vector<T>& host) : stream_(stream) {
    init(pool, host.size());
    if (!host.empty()) status_ = cuda::copy_async(buf_.get(), host.data(), host.size() * sizeof(T), CopyKind::kHostToDevice, stream.handle());
  }
  DeviceVector(DevicePool& pool, const cuda::Stream& stream, size_t n) : stream_(stream) {
    init(pool, n);
    if (n > 0 && status_.is_ok()) status_ = cuda::memset_device(buf_.get(), 0, n * sizeof(T), stream);
  }
  T* get() const { return buf_.as<T>(); }
  const Status& status() const { return status_; }
  // Copies back (and waits for the stream).
  std::vector<T> to_host() const {
    std::vector<T> out(n_);
    if (n_ == 0) return out;
    EXPECT_TRUE(cuda::copy_async(out.data(), buf_.get(), n_ * sizeof(T), CopyKind::kDeviceToHost, stream_.handle()).is_ok());
    EXPECT_TRUE(stream_.synchronize().is_ok());
    return out;
  }

 private:
  void init(DevicePool& pool, size_t n) {
    n_ = n;
    Result<PoolBuffer> b = allocate_buffer(pool, n * sizeof(T), stream_.handle());
    if (!b.is_ok()) {
      status_ = b.status();
      return;
    }
    buf_ = std::move(b).value();
  }
  const cuda::Stream& stream_;
  PoolBuffer buf_;
  size_t n_ = 0;
  Status status_;
};

}  // namespace dsv4::gpu_test

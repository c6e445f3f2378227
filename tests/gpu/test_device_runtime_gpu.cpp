// The CUDA DeviceRuntime on a GPU: small uploads go through its pinned staging ring
// (backend/cuda/staging_ring.h). Many of them queued back to back, more bytes in all than the
// ring holds (so its regions are reused once the copies out of them have run), each from a
// host buffer the caller overwrites as soon as the call returns, must all arrive intact.
// Capture: kernels, device copies and memsets become a graph that runs only when launched,
// on the memory of that moment; host copies and waits are refused without touching anything;
// a capture that fails leaves the stream running work as before.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/cuda/device_runtime.h"
#include "cuda/elementwise.h"
#include "gpu_test_util.h"

namespace dsv4 {
namespace {

TEST(CudaDeviceRuntimeGpu, StagedUploadsArriveIntactWhileTheCallerReusesItsBuffer) {
  DSV4_REQUIRE_GPU();
  Result<std::unique_ptr<DeviceRuntime>> made = make_cuda_device_runtime(0);
  DSV4_ASSERT_OK(made.status());
  DeviceRuntime& rt = **made;
  // 600 uploads of 64 KiB (37.5 MiB in all, past the 16 MiB ring) and some of odd sizes.
  constexpr size_t kChunk = 16384;
  constexpr size_t kUploads = 600;
  Result<PoolBuffer> dev = allocate_buffer(rt.pool(), kUploads * kChunk * sizeof(uint32_t), rt.stream());
  DSV4_ASSERT_OK(dev.status());
  auto* d = dev->as<uint32_t>();
  std::vector<uint32_t> src(kChunk);
  for (size_t i = 0; i < kUploads; ++i) {
    const size_t n = i % 7 == 0 ? 1 + i % 1000 : kChunk;  // odd sizes too
    for (size_t j = 0; j < n; ++j) src[j] = static_cast<uint32_t>(i * kChunk + j);
    DSV4_ASSERT_OK(rt.copy(d + i * kChunk, src.data(), n * sizeof(uint32_t), CopyKind::kHostToDevice));
    std::fill(src.begin(), src.end(), 0xdeadbeefu);  // the caller's buffer is free on return
  }
  std::vector<uint32_t> back(kUploads * kChunk);
  DSV4_ASSERT_OK(rt.copy(back.data(), d, back.size() * sizeof(uint32_t), CopyKind::kDeviceToHost));
  DSV4_ASSERT_OK(rt.synchronize());
  for (size_t i = 0; i < kUploads; ++i) {
    const size_t n = i % 7 == 0 ? 1 + i % 1000 : kChunk;
    for (size_t j = 0; j < n; ++j)
      ASSERT_EQ(back[i * kChunk + j], static_cast<uint32_t>(i * kChunk + j)) << "upload " << i << " value " << j;
  }
}

// GPU 0's runtime and device buffers on its pool.
class RuntimeCaptureGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    DSV4_REQUIRE_GPU();
    Result<std::unique_ptr<DeviceRuntime>> made = make_cuda_device_runtime(0);
    DSV4_ASSERT_OK(made.status());
    rt_ = std::move(made).value();
  }
  float* buffer(const std::vector<float>& host) {
    Result<PoolBuffer> b = allocate_buffer(rt_->pool(), host.size() * sizeof(float), rt_->stream());
    EXPECT_TRUE(b.is_ok()) << b.status().to_string();
    buffers_.push_back(std::move(b).value());
    put(buffers_.back().as<float>(), host);
    return buffers_.back().as<float>();
  }
  void put(float* d, const std::vector<float>& host) {
    EXPECT_TRUE(rt_->copy(d, host.data(), host.size() * sizeof(float), CopyKind::kHostToDevice).is_ok());
  }
  std::vector<float> get(const float* d, size_t n) {
    std::vector<float> out(n);
    EXPECT_TRUE(rt_->copy(out.data(), d, n * sizeof(float), CopyKind::kDeviceToHost).is_ok());
    EXPECT_TRUE(rt_->synchronize().is_ok());
    return out;
  }
  void scale(float* x, int64_t n, float f) {
    ASSERT_EQ(dsv4k::cuda::scale(x, n, f, dsv4k::Round::kNone, rt_->stream()), 0);
  }

  std::unique_ptr<DeviceRuntime> rt_;
  std::vector<PoolBuffer> buffers_;  // after rt_: back to its pool first
};

TEST_F(RuntimeCaptureGpu, AGraphRunsItsKernelsCopiesAndMemsetsOnlyWhenLaunched) {
  constexpr size_t kN = 3000;
  float* x = buffer(std::vector<float>(kN, 1.0f));
  float* y = buffer(std::vector<float>(kN, 7.0f));
  float* z = buffer(std::vector<float>(kN, 7.0f));
  DSV4_ASSERT_OK(rt_->begin_capture());
  EXPECT_TRUE(rt_->capturing());
  scale(x, kN, 2.0f);
  DSV4_ASSERT_OK(rt_->copy(y, x, kN * sizeof(float), CopyKind::kDeviceToDevice));
  DSV4_ASSERT_OK(rt_->memset(z, 0, kN * sizeof(float)));
  Result<std::unique_ptr<RuntimeGraph>> g = rt_->end_capture();
  DSV4_ASSERT_OK(g.status());
  EXPECT_FALSE(rt_->capturing());
  EXPECT_EQ(get(x, kN), std::vector<float>(kN, 1.0f)) << "the captured kernel ran";
  EXPECT_EQ(get(y, kN), std::vector<float>(kN, 7.0f));
  EXPECT_EQ(get(z, kN), std::vector<float>(kN, 7.0f));
  DSV4_ASSERT_OK((*g)->launch());
  EXPECT_EQ(get(x, kN), std::vector<float>(kN, 2.0f));
  EXPECT_EQ(get(y, kN), std::vector<float>(kN, 2.0f));
  EXPECT_EQ(get(z, kN), std::vector<float>(kN, 0.0f));
  put(x, std::vector<float>(kN, 5.0f));
  DSV4_ASSERT_OK((*g)->launch());
  EXPECT_EQ(get(y, kN), std::vector<float>(kN, 10.0f)) << "the replay did not read x anew";
}

TEST_F(RuntimeCaptureGpu, HostCopiesAndWaitsAreRefusedWhileCapturing) {
  constexpr size_t kN = 256;
  float* x = buffer(std::vector<float>(kN, 1.0f));
  std::vector<float> host(kN, 9.0f);
  DSV4_ASSERT_OK(rt_->synchronize());
  DSV4_ASSERT_OK(rt_->begin_capture());
  EXPECT_FALSE(rt_->begin_capture().is_ok()) << "a second capture began";
  const Status up = rt_->copy(x, host.data(), kN * sizeof(float), CopyKind::kHostToDevice);  // the staged path
  const Status big_up = rt_->copy_2d(x, 4, host.data(), 4, 4, kN, CopyKind::kHostToDevice);
  const Status down = rt_->copy(host.data(), x, kN * sizeof(float), CopyKind::kDeviceToHost);
  const Status wait = rt_->synchronize();
  scale(x, kN, 3.0f);
  Result<std::unique_ptr<RuntimeGraph>> g = rt_->end_capture();
  for (const Status* st : {&up, &big_up, &down, &wait}) {
    EXPECT_EQ(st->code(), StatusCode::kFailedPrecondition) << st->to_string();
    EXPECT_NE(st->message().find("while capturing a graph"), std::string::npos) << st->message();
  }
  EXPECT_EQ(host, std::vector<float>(kN, 9.0f)) << "the refused download wrote the host buffer";
  DSV4_ASSERT_OK(g.status());
  EXPECT_EQ(get(x, kN), std::vector<float>(kN, 1.0f)) << "a refused upload reached the device";
  DSV4_ASSERT_OK((*g)->launch());
  EXPECT_EQ(get(x, kN), std::vector<float>(kN, 3.0f));
}

// A wait on the capturing stream itself (here straight through the CUDA runtime) invalidates
// the capture: end_capture fails, and the stream must be out of capture mode with no error
// left for the next launch check to trip over.
TEST_F(RuntimeCaptureGpu, AFailedCaptureLeavesTheStreamUsable) {
  constexpr size_t kN = 512;
  float* x = buffer(std::vector<float>(kN, 1.0f));
  DSV4_ASSERT_OK(rt_->begin_capture());
  scale(x, kN, 2.0f);
  EXPECT_NE(cudaStreamSynchronize(static_cast<cudaStream_t>(rt_->stream())), cudaSuccess);
  Result<std::unique_ptr<RuntimeGraph>> g = rt_->end_capture();
  EXPECT_FALSE(g.is_ok());
  EXPECT_FALSE(rt_->capturing());
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusActive;
  ASSERT_EQ(cudaStreamIsCapturing(static_cast<cudaStream_t>(rt_->stream()), &st), cudaSuccess);
  EXPECT_EQ(st, cudaStreamCaptureStatusNone);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  scale(x, kN, 4.0f);
  EXPECT_EQ(get(x, kN), std::vector<float>(kN, 4.0f)) << "the discarded capture ran, or the stream did not";
}

}  // namespace
}  // namespace dsv4

// The CUDA DeviceRuntime on a GPU: small uploads go through its pinned staging ring
// (backend/cuda/staging_ring.h). Many of them queued back to back, more bytes in all than the
// ring holds (so its regions are reused once the copies out of them have run), each from a
// host buffer the caller overwrites as soon as the call returns, must all arrive intact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/cuda/device_runtime.h"
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

}  // namespace
}  // namespace dsv4

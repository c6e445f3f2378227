// GPU smoke test: runs where a CUDA device exists, skips with the reason elsewhere.
#include <gtest/gtest.h>

#include "backend/cuda_device.h"

namespace dsv4 {
namespace {

TEST(CudaDevice, EnumeratesOrExplainsWhyNot) {
  const CudaDevices d = query_cuda_devices();
  if (d.devices.empty()) {
    EXPECT_FALSE(d.unavailable_reason.empty());
    GTEST_SKIP() << d.unavailable_reason;
  }
  for (const CudaDeviceInfo& dev : d.devices) {
    EXPECT_GT(dev.total_memory, 0);
    EXPECT_GT(dev.n_sms, 0);
    std::printf("GPU %d: %s, sm_%d%d, %.1f GiB, %d SMs: %s\n", dev.index, dev.name.c_str(), dev.cc_major,
                dev.cc_minor, static_cast<double>(dev.total_memory) / (1 << 30), dev.n_sms,
                check_cuda_device_supported(dev).to_string().c_str());
  }
}

TEST(CudaDevice, RejectsPreHopperWithAPreciseMessage) {
  CudaDeviceInfo ampere{0, "NVIDIA A100", 8, 0, int64_t{80} << 30, 108};
  Status st = check_cuda_device_supported(ampere);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "GPU 0 (NVIDIA A100) has compute capability 8.0; dsv4's CUDA kernels need 9.0 (Hopper) or newer");
  EXPECT_TRUE(check_cuda_device_supported({1, "NVIDIA H100", 9, 0, int64_t{80} << 30, 132}).is_ok());
}

}  // namespace
}  // namespace dsv4

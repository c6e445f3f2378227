// The checked CUDA runtime wrappers (backend/cuda/cuda_runtime.h) and DevicePool over real
// device memory. The error-message test runs everywhere (the runtime names errors without
// a device); the rest needs a supported GPU and skips with the reason elsewhere.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "backend/cuda/cuda_runtime.h"
#include "cuda/elementwise.h"
#include "gpu_test_util.h"

namespace dsv4 {
namespace {

TEST(CudaRuntime, ErrorsNameTheCallAndTheRuntimeError) {
  EXPECT_TRUE(cuda::status_of(0, "anything").is_ok());
  const Status oom = cuda::status_of(2, "cudaMalloc(1 GiB)");  // cudaErrorMemoryAllocation
  EXPECT_EQ(oom.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(oom.message().rfind("cudaMalloc(1 GiB): cudaErrorMemoryAllocation (", 0), 0u) << oom.message();
  const Status bad = cuda::check_launch(1, "scale_kernel");  // cudaErrorInvalidValue
  EXPECT_EQ(bad.code(), StatusCode::kInternal);
  EXPECT_EQ(bad.message().rfind("launching scale_kernel: cudaErrorInvalidValue (", 0), 0u) << bad.message();
}

// GPU 0 with a stream and a pool over cudaMalloc.
class CudaRuntimeGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    DSV4_REQUIRE_GPU();
    DSV4_ASSERT_OK(cuda::set_device(0));
    Result<cuda::Stream> s = cuda::Stream::create();
    DSV4_ASSERT_OK(s.status());
    stream_ = std::move(s).value();
    pool_ = std::make_unique<DevicePool>(raw_);
  }
  cuda::Stream stream_;
  cuda::RawAllocator raw_{0};
  std::unique_ptr<DevicePool> pool_;
};

TEST_F(CudaRuntimeGpu, PoolMemoryCopiesAndStreamOrder) {
  std::vector<float> host(1000);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(i) * 0.5f;
  gpu_test::DeviceVector<float> x(*pool_, stream_, host);
  DSV4_ASSERT_OK(x.status());
  DSV4_ASSERT_OK(cuda::check_launch(dsv4k::cuda::scale(x.get(), 1000, 2.0f, dsv4k::Round::kNone, stream_.handle()),
                                    "scale_kernel"));
  const std::vector<float> back = x.to_host();
  for (size_t i = 0; i < host.size(); ++i) ASSERT_EQ(back[i], host[i] * 2.0f) << i;
  EXPECT_EQ(pool_->stats().n_segment_allocs, 1);
}

TEST_F(CudaRuntimeGpu, EventsTimeAndGraphsReplayCapturedWork) {
  gpu_test::DeviceVector<float> x(*pool_, stream_, std::vector<float>(4096, 1.0f));
  DSV4_ASSERT_OK(x.status());
  DSV4_ASSERT_OK(stream_.synchronize());
  DSV4_ASSERT_OK(cuda::Graph::begin_capture(stream_));
  DSV4_ASSERT_OK(cuda::check_launch(dsv4k::cuda::scale(x.get(), 4096, 3.0f, dsv4k::Round::kNone, stream_.handle()),
                                    "scale_kernel"));
  Result<cuda::Graph> graph = cuda::Graph::end_capture(stream_);
  DSV4_ASSERT_OK(graph.status());
  Result<cuda::Event> start = cuda::Event::create(true), end = cuda::Event::create(true);
  DSV4_ASSERT_OK(start.status());
  DSV4_ASSERT_OK(end.status());
  DSV4_ASSERT_OK(start->record(stream_));
  for (int i = 0; i < 3; ++i) DSV4_ASSERT_OK(graph->launch(stream_));
  DSV4_ASSERT_OK(end->record(stream_));
  DSV4_ASSERT_OK(end->synchronize());
  Result<float> ms = cuda::Event::elapsed_ms(*start, *end);
  DSV4_ASSERT_OK(ms.status());
  EXPECT_GE(*ms, 0.0f);
  for (float v : x.to_host()) ASSERT_EQ(v, 27.0f);  // captured once (not run), replayed three times
}

TEST_F(CudaRuntimeGpu, PoolReportsDeviceOutOfMemoryPrecisely) {
  size_t free_bytes = 0, total = 0;
  DSV4_ASSERT_OK(cuda::memory_info(&free_bytes, &total));
  Result<void*> r = pool_->allocate(total * 2, nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("cudaMalloc on GPU 0"), std::string::npos) << r.status().message();
  Result<void*> ok = pool_->allocate(1024, nullptr);  // the failure did not poison the context
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  pool_->free(*ok);
}

}  // namespace
}  // namespace dsv4

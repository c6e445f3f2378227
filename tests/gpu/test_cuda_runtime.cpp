// The checked CUDA runtime wrappers (backend/cuda/cuda_runtime.h) and DevicePool over real
// device memory. The error-message test runs everywhere (the runtime names errors without
// a device); the rest needs a supported GPU and skips with the reason elsewhere.
#include <gtest/gtest.h>

#include <vector>

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

TEST(CudaRuntime, PoolMemoryCopiesAndStreamOrder) {
  DSV4_REQUIRE_GPU();
  DSV4_ASSERT_OK(cuda::set_device(0));
  Result<cuda::Stream> stream = cuda::Stream::create();
  DSV4_ASSERT_OK(stream.status());
  cuda::RawAllocator raw(0);
  DevicePool pool(raw);
  std::vector<float> host(1000);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(i) * 0.5f;
  gpu_test::DeviceVector<float> x(pool, *stream, host);
  DSV4_ASSERT_OK(x.status());
  DSV4_ASSERT_OK(cuda::check_launch(dsv4k::cuda::scale(x.get(), 1000, 2.0f, dsv4k::Round::kNone, stream->handle()),
                                    "scale_kernel"));
  const std::vector<float> back = x.to_host();
  for (size_t i = 0; i < host.size(); ++i) ASSERT_EQ(back[i], host[i] * 2.0f) << i;
  EXPECT_EQ(pool.stats().n_segment_allocs, 1);
}

TEST(CudaRuntime, EventsTimeAndGraphsReplayCapturedWork) {
  DSV4_REQUIRE_GPU();
  DSV4_ASSERT_OK(cuda::set_device(0));
  Result<cuda::Stream> stream = cuda::Stream::create();
  DSV4_ASSERT_OK(stream.status());
  cuda::RawAllocator raw(0);
  DevicePool pool(raw);
  gpu_test::DeviceVector<float> x(pool, *stream, std::vector<float>(4096, 1.0f));
  DSV4_ASSERT_OK(x.status());
  DSV4_ASSERT_OK(stream->synchronize());
  DSV4_ASSERT_OK(cuda::Graph::begin_capture(*stream));
  DSV4_ASSERT_OK(cuda::check_launch(dsv4k::cuda::scale(x.get(), 4096, 3.0f, dsv4k::Round::kNone, stream->handle()),
                                    "scale_kernel"));
  Result<cuda::Graph> graph = cuda::Graph::end_capture(*stream);
  DSV4_ASSERT_OK(graph.status());
  Result<cuda::Event> start = cuda::Event::create(true), end = cuda::Event::create(true);
  DSV4_ASSERT_OK(start.status());
  DSV4_ASSERT_OK(end.status());
  DSV4_ASSERT_OK(start->record(*stream));
  for (int i = 0; i < 3; ++i) DSV4_ASSERT_OK(graph->launch(*stream));
  DSV4_ASSERT_OK(end->record(*stream));
  DSV4_ASSERT_OK(end->synchronize());
  Result<float> ms = cuda::Event::elapsed_ms(*start, *end);
  DSV4_ASSERT_OK(ms.status());
  EXPECT_GE(*ms, 0.0f);
  for (float v : x.to_host()) ASSERT_EQ(v, 27.0f);  // captured once (not run), replayed three times
}

TEST(CudaRuntime, PoolReportsDeviceOutOfMemoryPrecisely) {
  DSV4_REQUIRE_GPU();
  cuda::RawAllocator raw(0);
  DevicePool pool(raw);
  size_t free_bytes = 0, total = 0;
  DSV4_ASSERT_OK(cuda::memory_info(&free_bytes, &total));
  Result<void*> r = pool.allocate(total * 2, nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("cudaMalloc on GPU 0"), std::string::npos) << r.status().message();
  EXPECT_TRUE(pool.allocate(1024, nullptr).is_ok());  // the failure did not poison the context
}

}  // namespace
}  // namespace dsv4

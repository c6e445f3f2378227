// The CPU backend's memory: zero-filled, aligned for its kernels, and an impossible request is
// a status naming the size instead of a crash (the KV pool is sized from user options).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "core/host_memory.h"

namespace dsv4 {
namespace {

TEST(CpuBackendMemory, AllocationIsZeroedAndAligned) {
  std::unique_ptr<Backend> be = make_cpu_backend({1, CpuKernels::kFast});
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{100}, size_t{1} << 20}) {
    Result<std::unique_ptr<BackendMemory>> m = be->allocate(bytes);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    EXPECT_EQ((*m)->bytes(), bytes);
    ASSERT_NE((*m)->data(), nullptr) << "even an empty allocation has an address";
    EXPECT_EQ(reinterpret_cast<uintptr_t>((*m)->data()) % 64, 0u);
    const auto* p = static_cast<const uint8_t*>((*m)->data());
    for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(p[i], 0) << "byte " << i << " of " << bytes;
  }
}

TEST(CpuBackendMemory, ImpossibleAllocationIsAStatusNamingTheSize) {
  std::unique_ptr<Backend> be = make_cpu_backend({1, CpuKernels::kFast});
  const size_t huge = size_t{1} << 52;  // 4 PiB
  ASSERT_GT(huge, host_physical_memory_bytes());
  Result<std::unique_ptr<BackendMemory>> m = be->allocate(huge);
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), StatusCode::kResourceExhausted) << m.status().to_string();
  EXPECT_NE(m.status().message().find(std::to_string(huge) + " bytes"), std::string::npos) << m.status().to_string();
  EXPECT_TRUE(be->allocate(1024).is_ok());
}

TEST(HostMemory, PhysicalMemoryIsKnownOnLinux) {
  const size_t bytes = host_physical_memory_bytes();
  EXPECT_GT(bytes, size_t{1} << 28) << "a Linux host reports its physical memory through sysconf";
  EXPECT_LT(bytes, SIZE_MAX);
}

}  // namespace
}  // namespace dsv4

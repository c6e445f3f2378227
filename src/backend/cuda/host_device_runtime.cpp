// The host emulation's DeviceRuntime (see device_runtime.h): host memory, plain copies, and
// nothing to wait for (emulated launches finish before they return).
#include <cstring>

#include "backend/cuda/device_runtime.h"
#include "core/host_memory.h"

namespace dsv4 {
namespace {

class HostDeviceRuntime final : public DeviceRuntime {
 public:
  // The emulated device's memory is as large as the host's physical memory.
  HostDeviceRuntime() : raw_(host_physical_memory_bytes()), pool_(raw_) {}
  std::string name() const override { return "host emulation"; }
  void* stream() const override { return nullptr; }
  DevicePool& pool() override { return pool_; }
  Status copy(void* dst, const void* src, size_t bytes, CopyKind) override {
    if (bytes > 0) std::memmove(dst, src, bytes);
    return Status::ok();
  }
  Status copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                 CopyKind) override {
    for (size_t r = 0; r < height; ++r)
      std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
    return Status::ok();
  }
  Status memset(void* dst, int value, size_t bytes) override {
    if (bytes > 0) std::memset(dst, value, bytes);
    return Status::ok();
  }
  Status synchronize() override { return Status::ok(); }
  std::string error_name(int code) const override {
    return code == 1 ? "invalid launch configuration (cudaErrorInvalidValue)" : "error " + std::to_string(code);
  }
  // The host's: what it could still give, and all of it.
  Result<DeviceMemoryInfo> memory_info() const override {
    return DeviceMemoryInfo{available_memory_bytes(), static_cast<int64_t>(host_physical_memory_bytes())};
  }
  Status bind_thread() override { return Status::ok(); }

 private:
  HostRawAllocator raw_;
  DevicePool pool_;
};

}  // namespace

std::unique_ptr<DeviceRuntime> make_host_device_runtime() { return std::make_unique<HostDeviceRuntime>(); }

}  // namespace dsv4

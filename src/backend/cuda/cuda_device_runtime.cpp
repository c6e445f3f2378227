// The CUDA runtime's DeviceRuntime (see device_runtime.h): one non-blocking stream, a
// DevicePool over cudaMalloc, checked async copies.
#include "backend/cuda/cuda_runtime.h"
#include "backend/cuda/device_runtime.h"
#include "backend/cuda_device.h"

namespace dsv4 {
namespace {

class CudaDeviceRuntime final : public DeviceRuntime {
 public:
  CudaDeviceRuntime(int device, std::string name, cuda::Stream stream)
      : device_(device), name_(std::move(name)), stream_(std::move(stream)), raw_(device), pool_(raw_) {}
  std::string name() const override { return name_; }
  void* stream() const override { return stream_.handle(); }
  DevicePool& pool() override { return pool_; }
  Status copy(void* dst, const void* src, size_t bytes, CopyKind kind) override {
    return cuda::copy_async(dst, src, bytes, kind, stream());
  }
  Status copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                 CopyKind kind) override {
    return cuda::copy_2d_async(dst, dpitch, src, spitch, width, height, kind, stream());
  }
  Status memset(void* dst, int value, size_t bytes) override {
    if (bytes == 0) return Status::ok();
    return cuda::memset_device(dst, value, bytes, stream_);
  }
  Status synchronize() override { return stream_.synchronize(); }
  std::string error_name(int code) const override { return cuda::error_text(code); }
  Result<DeviceMemoryInfo> memory_info() const override {
    DSV4_RETURN_IF_ERROR(cuda::set_device(device_));
    size_t free_bytes = 0, total_bytes = 0;
    DSV4_RETURN_IF_ERROR(cuda::memory_info(&free_bytes, &total_bytes));
    return DeviceMemoryInfo{static_cast<int64_t>(free_bytes), static_cast<int64_t>(total_bytes)};
  }
  Status bind_thread() override { return cuda::set_device(device_); }

 private:
  int device_;
  std::string name_;
  cuda::Stream stream_;
  cuda::RawAllocator raw_;
  DevicePool pool_;
};

}  // namespace

Result<std::unique_ptr<DeviceRuntime>> make_cuda_device_runtime(int device) {
  const CudaDevices devices = query_cuda_devices();
  const CudaDeviceInfo* info = nullptr;
  for (const CudaDeviceInfo& d : devices.devices)
    if (d.index == device) info = &d;
  if (info == nullptr) {
    return unavailable("no CUDA device " + std::to_string(device) +
                       (devices.unavailable_reason.empty() ? std::string() : ": " + devices.unavailable_reason));
  }
  DSV4_RETURN_IF_ERROR(check_cuda_device_supported(*info));
  DSV4_RETURN_IF_ERROR(cuda::set_device(device));
  Result<cuda::Stream> stream = cuda::Stream::create();
  if (!stream.is_ok()) return stream.status();
  std::unique_ptr<DeviceRuntime> rt = std::make_unique<CudaDeviceRuntime>(
      device, "GPU " + std::to_string(device) + " (" + info->name + ")", std::move(stream).value());
  return rt;
}

}  // namespace dsv4

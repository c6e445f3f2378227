// The host emulation's DeviceRuntime (see device_runtime.h): host memory, plain copies, and
// nothing to wait for (emulated launches finish before they return).
//
// Capture is the emulator's recording (kernels/cuda/emu/cuda_emu.h): kernels launched while
// capturing are recorded, and so are device-to-device copies and memsets, as host steps in
// their place among the kernels. The recording is per OS thread, not per runtime: work that
// another host runtime queues on the capturing thread joins the capture (a GPU captures per
// stream); the backend captures on one runtime at a time.
#include <cstring>
#include <string>

#include "backend/cuda/device_runtime.h"
#include "core/host_memory.h"
#include "cuda/emu/cuda_emu.h"

namespace dsv4 {
namespace {

Status needs_host(const char* what, size_t bytes) {
  return failed_precondition(std::string(what) + " of " + std::to_string(bytes) + " bytes while capturing a graph");
}

const char* copy_name(CopyKind kind) {
  switch (kind) {
    case CopyKind::kHostToDevice: return "a host-to-device copy";
    case CopyKind::kDeviceToHost: return "a device-to-host copy";
    case CopyKind::kDeviceToDevice: return "a device-to-device copy";
  }
  return "a copy";
}

class HostGraph final : public RuntimeGraph {
 public:
  explicit HostGraph(dsv4cu::emu::Recording rec) : rec_(std::move(rec)) {}
  Status launch() override {
    rec_.replay();
    return Status::ok();
  }

 private:
  dsv4cu::emu::Recording rec_;
};

class HostDeviceRuntime final : public DeviceRuntime {
 public:
  // The emulated device's memory is as large as the host's physical memory.
  HostDeviceRuntime() : raw_(host_physical_memory_bytes()), pool_(raw_) {}
  // A capture abandoned by its caller ends with the runtime (when on the thread it began on).
  ~HostDeviceRuntime() override {
    if (capturing_ && dsv4cu::emu::recording()) (void)dsv4cu::emu::end_recording();
  }
  HostDeviceRuntime(const HostDeviceRuntime&) = delete;
  HostDeviceRuntime& operator=(const HostDeviceRuntime&) = delete;

  std::string name() const override { return "host emulation"; }
  void* stream() const override { return nullptr; }
  DevicePool& pool() override { return pool_; }
  // While capturing, the bytes are copied when the graph runs: the pointers are fixed now,
  // the contents are read then.
  Status copy(void* dst, const void* src, size_t bytes, CopyKind kind) override {
    if (bytes == 0) return Status::ok();
    if (!capturing_) {
      std::memmove(dst, src, bytes);
      return Status::ok();
    }
    if (kind != CopyKind::kDeviceToDevice) return needs_host(copy_name(kind), bytes);
    dsv4cu::emu::host_step([dst, src, bytes] { std::memmove(dst, src, bytes); });
    return Status::ok();
  }
  Status copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                 CopyKind kind) override {
    const auto rows = [=] {
      for (size_t r = 0; r < height; ++r)
        std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
    };
    if (!capturing_) {
      rows();
      return Status::ok();
    }
    if (kind != CopyKind::kDeviceToDevice) return needs_host(copy_name(kind), width * height);
    dsv4cu::emu::host_step(rows);
    return Status::ok();
  }
  Status memset(void* dst, int value, size_t bytes) override {
    if (bytes == 0) return Status::ok();
    if (!capturing_) {
      std::memset(dst, value, bytes);
      return Status::ok();
    }
    dsv4cu::emu::host_step([dst, value, bytes] { std::memset(dst, value, bytes); });
    return Status::ok();
  }
  Status synchronize() override {
    if (capturing_) return failed_precondition("synchronize while capturing a graph");
    return Status::ok();
  }
  std::string error_name(int code) const override {
    return code == 1 ? "invalid launch configuration (cudaErrorInvalidValue)" : "error " + std::to_string(code);
  }
  // The host's: what it could still give, and all of it.
  Result<DeviceMemoryInfo> memory_info() const override {
    return DeviceMemoryInfo{available_memory_bytes(), static_cast<int64_t>(host_physical_memory_bytes())};
  }
  Status bind_thread() override { return Status::ok(); }

  Status begin_capture() override {
    if (dsv4cu::emu::recording()) return failed_precondition("begin_capture: this thread is already capturing");
    dsv4cu::emu::begin_recording();
    capturing_ = true;
    return Status::ok();
  }
  Result<std::unique_ptr<RuntimeGraph>> end_capture() override {
    if (!capturing_) return failed_precondition("end_capture without begin_capture");
    capturing_ = false;
    std::unique_ptr<RuntimeGraph> g = std::make_unique<HostGraph>(dsv4cu::emu::end_recording());
    return g;
  }
  bool capturing() const override { return capturing_; }

 private:
  HostRawAllocator raw_;
  DevicePool pool_;
  bool capturing_ = false;
};

}  // namespace

std::unique_ptr<DeviceRuntime> make_host_device_runtime() { return std::make_unique<HostDeviceRuntime>(); }

}  // namespace dsv4

// DeviceRuntime: what the CUDA backend needs from a device besides its kernels: a stream to
// launch on, device memory (a DevicePool), copies, and a way to wait.
//
// Two implementations: the CUDA runtime on a GPU (cuda_device_runtime.cpp, builds with CUDA
// only), and the host emulation (host_device_runtime.cpp, every build), where "device"
// memory is host memory and the kernels are the emulated ones (dsv4_cuda_kernels_emu). The
// backend's code is the same for both, so everything but the kernels' device arithmetic is
// tested on machines without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/device_pool.h"
#include "dsv4/status.h"

namespace dsv4 {

enum class CopyKind : uint8_t { kHostToDevice, kDeviceToHost, kDeviceToDevice };

// The device's memory as its driver reports it. `free` does not count blocks the pool has
// cached (DevicePool::stats() has those).
struct DeviceMemoryInfo {
  int64_t free_bytes = 0;
  int64_t total_bytes = 0;
};

// Work captured from the runtime's stream (DeviceRuntime::begin_capture .. end_capture): a
// CUDA graph on a GPU, a recording of emulated launches and copies in the host emulation.
class RuntimeGraph {
 public:
  virtual ~RuntimeGraph() = default;
  // Queues the captured work on the runtime's stream, after the work queued so far.
  virtual Status launch() = 0;
};

class DeviceRuntime {
 public:
  virtual ~DeviceRuntime() = default;
  // "GPU 0 (NVIDIA H100 80GB HBM3)" or "host emulation".
  virtual std::string name() const = 0;
  // The stream every kernel of the backend is launched on (a cudaStream_t; null emulated).
  virtual void* stream() const = 0;
  virtual DevicePool& pool() = 0;
  // Stream-ordered copies; host memory may be pageable (then the call returns once the
  // source has been read).
  virtual Status copy(void* dst, const void* src, size_t bytes, CopyKind kind) = 0;
  // height rows of `width` bytes, rows dpitch / spitch bytes apart.
  virtual Status copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                         CopyKind kind) = 0;
  // Sets `bytes` bytes of device memory to `value`, stream-ordered (after the work queued so far).
  virtual Status memset(void* dst, int value, size_t bytes) = 0;
  // Waits for everything launched so far; reports errors raised while kernels ran.
  virtual Status synchronize() = 0;
  // The name of a kernel launcher's error code, for messages.
  virtual std::string error_name(int code) const = 0;
  virtual Result<DeviceMemoryInfo> memory_info() const = 0;
  // Capture: between begin_capture and end_capture, kernels, device-to-device copies and
  // memsets queued on the stream are captured instead of run. Host<->device copies and
  // synchronize cannot be captured: they fail ("... while capturing a graph") and do nothing.
  // end_capture ends the capture whatever happens (the stream runs work again afterwards) and
  // returns the captured work ready to launch, or why it cannot be. One capture at a time,
  // begun and ended on the same OS thread.
  virtual Status begin_capture() = 0;
  virtual Result<std::unique_ptr<RuntimeGraph>> end_capture() = 0;
  virtual bool capturing() const = 0;
  // Makes this device the calling thread's current one (CUDA's current device is per
  // thread): a thread other than the creating one calls it before its first op.
  virtual Status bind_thread() = 0;
};

// The host emulation (every build).
std::unique_ptr<DeviceRuntime> make_host_device_runtime();

// The CUDA runtime on GPU `device`: an unavailable Status naming the reason when the GPU is
// missing or unsupported. Defined in dsv4_cuda_backend, which exists in builds with CUDA only.
Result<std::unique_ptr<DeviceRuntime>> make_cuda_device_runtime(int device);

}  // namespace dsv4

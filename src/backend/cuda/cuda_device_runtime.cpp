// The CUDA runtime's DeviceRuntime (see device_runtime.h): one non-blocking stream, a
// DevicePool over cudaMalloc, checked async copies, small uploads staged through pinned memory.
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/cuda/cuda_runtime.h"
#include "backend/cuda/device_runtime.h"
#include "backend/cuda/staging_ring.h"
#include "backend/cuda_device.h"

namespace dsv4 {
namespace {

// The staging ring's size, and the largest upload that goes through it. A decode step's
// uploads are a few KB each; larger ones (weights at load time, a long prefill's tables)
// are rare enough to take the driver's own path.
constexpr size_t kStagingBytes = size_t{16} << 20;
constexpr size_t kMaxStagedUpload = size_t{1} << 20;

// The staging ring's fences: events recorded on the stream, reused once they have passed.
class StreamFences final : public cuda::StagingFences {
 public:
  explicit StreamFences(void* stream) : stream_(stream) {}
  Result<int64_t> record() override {
    int64_t id = 0;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else {
      Result<cuda::Event> e = cuda::Event::create(false);
      if (!e.is_ok()) return e.status();
      events_.push_back(std::move(e).value());
      id = static_cast<int64_t>(events_.size()) - 1;
    }
    const Status st = events_[static_cast<size_t>(id)].record(stream_);
    if (!st.is_ok()) {
      free_.push_back(id);
      return st;
    }
    return id;
  }
  Status wait(int64_t fence) override {
    const Status st = events_[static_cast<size_t>(fence)].synchronize();
    free_.push_back(fence);
    return st;
  }

 private:
  void* stream_;
  std::vector<cuda::Event> events_;
  std::vector<int64_t> free_;
};

// A captured graph launches on the stream it was captured from.
class CudaRuntimeGraph final : public RuntimeGraph {
 public:
  CudaRuntimeGraph(cuda::Graph graph, const cuda::Stream& stream) : graph_(std::move(graph)), stream_(stream) {}
  Status launch() override { return graph_.launch(stream_); }

 private:
  cuda::Graph graph_;
  const cuda::Stream& stream_;  // the runtime's; the runtime outlives its graphs (the backend sees to it)
};

Status needs_host(const char* what, size_t bytes) {
  return failed_precondition(std::string(what) + " of " + std::to_string(bytes) + " bytes while capturing a graph");
}

class CudaDeviceRuntime final : public DeviceRuntime {
 public:
  CudaDeviceRuntime(int device, std::string name, cuda::Stream stream, cuda::PinnedHostMemory staging)
      : device_(device), name_(std::move(name)), stream_(std::move(stream)), raw_(device), pool_(raw_),
        staging_(std::move(staging)), fences_(stream_.handle()), ring_(staging_.data(), staging_.bytes(), fences_) {}
  // Copies queued from the staging ring may still be reading it.
  ~CudaDeviceRuntime() override {
    if (capturing_) (void)cuda::Graph::end_capture(stream_);
    (void)stream_.synchronize();
  }
  CudaDeviceRuntime(const CudaDeviceRuntime&) = delete;
  CudaDeviceRuntime& operator=(const CudaDeviceRuntime&) = delete;

  std::string name() const override { return name_; }
  void* stream() const override { return stream_.handle(); }
  DevicePool& pool() override { return pool_; }
  // While capturing, only device-to-device copies are captured: a host copy in a graph would
  // read or write host memory at replay (and the staging ring's regions are reused long before).
  Status copy(void* dst, const void* src, size_t bytes, CopyKind kind) override {
    if (capturing_ && kind != CopyKind::kDeviceToDevice) return needs_host("a host<->device copy", bytes);
    if (kind == CopyKind::kHostToDevice && bytes > 0 && bytes <= kMaxStagedUpload) return staged_upload(dst, src, bytes);
    return cuda::copy_async(dst, src, bytes, kind, stream());
  }
  Status copy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                 CopyKind kind) override {
    if (capturing_ && kind != CopyKind::kDeviceToDevice) return needs_host("a host<->device copy", width * height);
    return cuda::copy_2d_async(dst, dpitch, src, spitch, width, height, kind, stream());
  }
  Status memset(void* dst, int value, size_t bytes) override {
    if (bytes == 0) return Status::ok();
    return cuda::memset_device(dst, value, bytes, stream_);
  }
  Status synchronize() override {
    if (capturing_) return failed_precondition("synchronize while capturing a graph");
    return stream_.synchronize();
  }
  std::string error_name(int code) const override { return cuda::error_text(code); }
  Result<DeviceMemoryInfo> memory_info() const override {
    DSV4_RETURN_IF_ERROR(cuda::set_device(device_));
    size_t free_bytes = 0, total_bytes = 0;
    DSV4_RETURN_IF_ERROR(cuda::memory_info(&free_bytes, &total_bytes));
    return DeviceMemoryInfo{static_cast<int64_t>(free_bytes), static_cast<int64_t>(total_bytes)};
  }
  Status bind_thread() override { return cuda::set_device(device_); }

  Status begin_capture() override {
    if (capturing_) return failed_precondition("begin_capture while capturing a graph");
    DSV4_RETURN_IF_ERROR(cuda::Graph::begin_capture(stream_));
    capturing_ = true;
    return Status::ok();
  }
  Result<std::unique_ptr<RuntimeGraph>> end_capture() override {
    if (!capturing_) return failed_precondition("end_capture without begin_capture");
    capturing_ = false;
    Result<cuda::Graph> g = cuda::Graph::end_capture(stream_);
    if (!g.is_ok()) return g.status().with_context("capturing a graph on " + name_);
    std::unique_ptr<RuntimeGraph> out = std::make_unique<CudaRuntimeGraph>(std::move(g).value(), stream_);
    return out;
  }
  bool capturing() const override { return capturing_; }

 private:
  // The bytes are copied into the ring, and the device copies them from there in stream order.
  Status staged_upload(void* dst, const void* src, size_t bytes) {
    Result<uint8_t*> region = ring_.acquire(bytes);
    if (!region.is_ok()) return region.status().with_context("staging an upload of " + std::to_string(bytes) + " bytes");
    std::memcpy(*region, src, bytes);
    const Status copied = cuda::copy_async(dst, *region, bytes, CopyKind::kHostToDevice, stream());
    const Status fenced = ring_.queued();  // even after a failed copy, so that the ring stays usable
    return copied.is_ok() ? fenced : copied;
  }

  int device_;
  std::string name_;
  cuda::Stream stream_;
  cuda::RawAllocator raw_;
  DevicePool pool_;
  cuda::PinnedHostMemory staging_;
  StreamFences fences_;
  cuda::StagingRing ring_;  // after the memory and fences it uses
  bool capturing_ = false;
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
  Result<cuda::PinnedHostMemory> staging = cuda::PinnedHostMemory::allocate(kStagingBytes);
  if (!staging.is_ok()) return staging.status().with_context("the upload staging ring");
  std::unique_ptr<DeviceRuntime> rt = std::make_unique<CudaDeviceRuntime>(
      device, "GPU " + std::to_string(device) + " (" + info->name + ")", std::move(stream).value(),
      std::move(staging).value());
  return rt;
}

}  // namespace dsv4

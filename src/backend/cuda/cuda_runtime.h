// The CUDA runtime as the backend uses it: every call checked and turned into a Status
// that names the call and the runtime's error, RAII streams, events and graphs, and the
// raw allocator behind DevicePool. Plain C++ (no CUDA headers), so that host code and
// tests include it freely; only builds with CUDA compile the implementation
// (cuda_runtime.cpp), and only code that builds with CUDA may call it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/cuda/device_runtime.h"
#include "backend/device_pool.h"
#include "dsv4/status.h"

namespace dsv4::cuda {

// "<cudaErrorName> (<description>)" of a runtime error code.
std::string error_text(int cuda_error);

// Ok for cudaSuccess, else kInternal (kResourceExhausted for out-of-memory) with
// "<what>: <cudaErrorName> (<description>)".
Status status_of(int cuda_error, const std::string& what);

// A kernel launcher's result (cudaGetLastError right after the launch) checked; `kernel`
// names it in the message.
inline Status check_launch(int cuda_error, const char* kernel) {
  return status_of(cuda_error, std::string("launching ") + kernel);
}

Status set_device(int device);

// A move-only owner of a runtime handle (a cudaStream_t, a cudaEvent_t), released by the
// function it was made with.
class UniqueHandle {
 public:
  UniqueHandle() = default;
  UniqueHandle(void* handle, void (*destroy)(void*)) : handle_(handle), destroy_(destroy) {}
  UniqueHandle(UniqueHandle&& o) noexcept : handle_(o.handle_), destroy_(o.destroy_) { o.handle_ = nullptr; }
  UniqueHandle& operator=(UniqueHandle&& o) noexcept {
    if (this != &o) {
      reset();
      handle_ = o.handle_;
      destroy_ = o.destroy_;
      o.handle_ = nullptr;
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  ~UniqueHandle() { reset(); }
  void* get() const { return handle_; }

 private:
  void reset() {
    if (handle_ != nullptr) destroy_(handle_);
    handle_ = nullptr;
  }
  void* handle_ = nullptr;
  void (*destroy_)(void*) = nullptr;
};

// A non-blocking stream (no implicit synchronization with the legacy default stream).
class Stream {
 public:
  static Result<Stream> create();
  void* handle() const { return h_.get(); }  // a cudaStream_t
  Status synchronize() const;

 private:
  UniqueHandle h_;
};

// An event; with timing on, elapsed_ms between two recorded events.
class Event {
 public:
  static Result<Event> create(bool timing);
  Status record(const Stream& stream) { return record(stream.handle()); }
  Status record(void* stream);  // a cudaStream_t
  Status synchronize() const;
  static Result<float> elapsed_ms(const Event& start, const Event& end);
  void* handle() const { return h_.get(); }

 private:
  UniqueHandle h_;
};

// Page-locked host memory (cudaMallocHost), which copies read without staging it.
class PinnedHostMemory {
 public:
  static Result<PinnedHostMemory> allocate(size_t bytes);
  uint8_t* data() const { return static_cast<uint8_t*>(h_.get()); }
  size_t bytes() const { return bytes_; }

 private:
  UniqueHandle h_;
  size_t bytes_ = 0;
};

// Work captured from a stream once (begin_capture .. end_capture) and replayed with one
// launch (the CUDA backend's graphs).
class Graph {
 public:
  Graph() = default;
  Graph(Graph&& o) noexcept;
  Graph& operator=(Graph&& o) noexcept;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  // In relaxed mode: see cuda_runtime.cpp.
  static Status begin_capture(const Stream& stream);
  // Ends the capture begun on `stream` and instantiates it. On failure too the stream is no
  // longer capturing, and the error is not left behind for the next launch check.
  static Result<Graph> end_capture(const Stream& stream);
  Status launch(const Stream& stream) const;
  bool valid() const { return exec_ != nullptr; }

 private:
  void reset();
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
};

// Device memory for DevicePool: cudaMalloc / cudaFree on one device (never managed memory).
class RawAllocator final : public RawDeviceAllocator {
 public:
  explicit RawAllocator(int device) : device_(device) {}
  void* allocate(size_t bytes) override;
  void release(void* ptr, size_t bytes) override;
  std::string describe() const override { return "cudaMalloc on GPU " + std::to_string(device_); }

 private:
  int device_;
};

// A stream-ordered copy (cudaMemcpyAsync). With pageable host memory the runtime stages
// the bytes and the call returns once the source has been read.
Status copy_async(void* dst, const void* src, size_t bytes, CopyKind kind, void* stream);
// height rows of `width` bytes, rows dpitch / spitch bytes apart (cudaMemcpy2DAsync).
Status copy_2d_async(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                     CopyKind kind, void* stream);
Status memset_device(void* dst, int value, size_t bytes, const Stream& stream);

// Free and total memory of the current device.
Status memory_info(size_t* free_bytes, size_t* total_bytes);

}  // namespace dsv4::cuda

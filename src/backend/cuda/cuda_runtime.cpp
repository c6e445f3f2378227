// The checked CUDA runtime wrappers (see cuda_runtime.h).
#include "backend/cuda/cuda_runtime.h"

#include <cuda_runtime.h>

#include <utility>

namespace dsv4::cuda {

namespace {

cudaStream_t stream_of(const Stream& s) { return static_cast<cudaStream_t>(s.handle()); }

}  // namespace

std::string error_text(int cuda_error) {
  const auto err = static_cast<cudaError_t>(cuda_error);
  return std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ")";
}

Status status_of(int cuda_error, const std::string& what) {
  const auto err = static_cast<cudaError_t>(cuda_error);
  if (err == cudaSuccess) return Status::ok();
  const std::string m = what + ": " + error_text(cuda_error);
  return err == cudaErrorMemoryAllocation ? resource_exhausted(m) : internal_error(m);
}

Status set_device(int device) {
  return status_of(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")");
}

// ---- Stream and Event ----------------------------------------------------------------

namespace {
void destroy_stream(void* s) { (void)cudaStreamDestroy(static_cast<cudaStream_t>(s)); }
void destroy_event(void* e) { (void)cudaEventDestroy(static_cast<cudaEvent_t>(e)); }
cudaEvent_t event_of(const Event& e) { return static_cast<cudaEvent_t>(e.handle()); }
}  // namespace

Result<Stream> Stream::create() {
  cudaStream_t s = nullptr;
  DSV4_RETURN_IF_ERROR(status_of(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags"));
  Stream out;
  out.h_ = UniqueHandle(s, destroy_stream);
  return out;
}

Status Stream::synchronize() const {
  return status_of(cudaStreamSynchronize(stream_of(*this)), "cudaStreamSynchronize");
}

Result<Event> Event::create(bool timing) {
  cudaEvent_t e = nullptr;
  DSV4_RETURN_IF_ERROR(
      status_of(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming), "cudaEventCreate"));
  Event out;
  out.h_ = UniqueHandle(e, destroy_event);
  return out;
}

Status Event::record(void* stream) {
  return status_of(cudaEventRecord(event_of(*this), static_cast<cudaStream_t>(stream)), "cudaEventRecord");
}

Status Event::synchronize() const { return status_of(cudaEventSynchronize(event_of(*this)), "cudaEventSynchronize"); }

Result<float> Event::elapsed_ms(const Event& start, const Event& end) {
  float ms = 0.0f;
  DSV4_RETURN_IF_ERROR(status_of(cudaEventElapsedTime(&ms, event_of(start), event_of(end)), "cudaEventElapsedTime"));
  return ms;
}

// ---- Pinned host memory --------------------------------------------------------------

namespace {
void free_pinned(void* p) { (void)cudaFreeHost(p); }
}  // namespace

Result<PinnedHostMemory> PinnedHostMemory::allocate(size_t bytes) {
  void* p = nullptr;
  DSV4_RETURN_IF_ERROR(status_of(cudaMallocHost(&p, bytes), "cudaMallocHost(" + std::to_string(bytes) + " bytes)"));
  PinnedHostMemory out;
  out.h_ = UniqueHandle(p, free_pinned);
  out.bytes_ = bytes;
  return out;
}

// ---- Graph --------------------------------------------------------------------------

Graph::Graph(Graph&& o) noexcept : graph_(std::exchange(o.graph_, nullptr)), exec_(std::exchange(o.exec_, nullptr)) {}

Graph& Graph::operator=(Graph&& o) noexcept {
  if (this != &o) {
    reset();
    graph_ = std::exchange(o.graph_, nullptr);
    exec_ = std::exchange(o.exec_, nullptr);
  }
  return *this;
}

Graph::~Graph() { reset(); }

void Graph::reset() {
  if (exec_ != nullptr) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_ != nullptr) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
  exec_ = nullptr;
  graph_ = nullptr;
}

namespace {

// A failed capture call is answered with a Status; the runtime also keeps it as the thread's
// last error, which the next kernel launch's check (cudaGetLastError) would then report as
// its own failure. The caller of a capture falls back to plain launches, so it is cleared.
Status capture_status(cudaError_t err, const char* what) {
  if (err != cudaSuccess) (void)cudaGetLastError();
  return status_of(err, what);
}

// Ends a capture still open on `s` (after a failed end), discarding what it captured.
void leave_capture(cudaStream_t s) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(s, &st) == cudaSuccess && st != cudaStreamCaptureStatusNone) {
    cudaGraph_t g = nullptr;
    if (cudaStreamEndCapture(s, &g) == cudaSuccess && g != nullptr) (void)cudaGraphDestroy(g);
  }
  (void)cudaGetLastError();
}

}  // namespace

Status Graph::begin_capture(const Stream& stream) {
  // Relaxed: no call is refused for being unsafe during a capture. The backend stops
  // capturing ops that need the host itself, and lets an allocation (the pool growing with a
  // cudaMalloc) through to a capture it then discards; the stricter modes would fail that
  // cudaMalloc and leave the capture invalidated instead.
  return capture_status(cudaStreamBeginCapture(stream_of(stream), cudaStreamCaptureModeRelaxed),
                        "cudaStreamBeginCapture");
}

Result<Graph> Graph::end_capture(const Stream& stream) {
  cudaGraph_t g = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream_of(stream), &g);
  Graph out;
  out.graph_ = g;  // destroyed with `out` on the failures below
  if (ended != cudaSuccess) {
    leave_capture(stream_of(stream));
    return status_of(ended, "cudaStreamEndCapture");
  }
  cudaGraphExec_t exec = nullptr;
  DSV4_RETURN_IF_ERROR(capture_status(cudaGraphInstantiate(&exec, g, 0), "cudaGraphInstantiate"));
  out.exec_ = exec;
  return out;
}

Status Graph::launch(const Stream& stream) const {
  return status_of(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), stream_of(stream)), "cudaGraphLaunch");
}

// ---- memory -------------------------------------------------------------------------

void* RawAllocator::allocate(size_t bytes) {
  if (cudaSetDevice(device_) != cudaSuccess) return nullptr;
  void* p = nullptr;
  if (cudaMalloc(&p, bytes) != cudaSuccess) {
    (void)cudaGetLastError();  // an allocation failure is not sticky: clear it for later checks
    return nullptr;
  }
  return p;
}

void RawAllocator::release(void* ptr, size_t /*bytes*/) {
  if (cudaSetDevice(device_) == cudaSuccess) (void)cudaFree(ptr);
}

namespace {
cudaMemcpyKind memcpy_kind(CopyKind k) {
  switch (k) {
    case CopyKind::kHostToDevice: return cudaMemcpyHostToDevice;
    case CopyKind::kDeviceToHost: return cudaMemcpyDeviceToHost;
    case CopyKind::kDeviceToDevice: return cudaMemcpyDeviceToDevice;
  }
  return cudaMemcpyDefault;
}
}  // namespace

Status copy_async(void* dst, const void* src, size_t bytes, CopyKind kind, void* stream) {
  if (bytes == 0) return Status::ok();
  return status_of(cudaMemcpyAsync(dst, src, bytes, memcpy_kind(kind), static_cast<cudaStream_t>(stream)),
                   "cudaMemcpyAsync of " + std::to_string(bytes) + " B");
}

Status copy_2d_async(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                     CopyKind kind, void* stream) {
  if (width == 0 || height == 0) return Status::ok();
  return status_of(cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, memcpy_kind(kind),
                                     static_cast<cudaStream_t>(stream)),
                   "cudaMemcpy2DAsync");
}

Status memset_device(void* dst, int value, size_t bytes, const Stream& stream) {
  return status_of(cudaMemsetAsync(dst, value, bytes, stream_of(stream)), "cudaMemsetAsync");
}

Status memory_info(size_t* free_bytes, size_t* total_bytes) {
  return status_of(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
}

}  // namespace dsv4::cuda

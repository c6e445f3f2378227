#include "runtime/open_device.h"

#include <chrono>

#include "model/load_progress.h"
#if DSV4_ENGINE_HAS_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace dsv4 {

bool cuda_devices_supported() { return DSV4_ENGINE_HAS_CUDA != 0; }

Status no_cuda_backend(const DeviceSpec& spec) {
  return unavailable("device " + spec.to_string() +
                     ": this build of dsv4 has no CUDA backend (nvcc was not found when it was built); use --device cpu");
}

Result<std::unique_ptr<ExecutionDevice>> open_execution_device(const DeviceSpec& spec, const LoadedModel& model,
                                                               const CpuBackendOptions& cpu) {
  if (spec.kind == DeviceKind::kCpu) return make_cpu_execution_device(model, cpu);
#if DSV4_ENGINE_HAS_CUDA
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<DeviceRuntime> runtime, make_cuda_device_runtime(spec.index));
  const std::string name = runtime->name();
  std::unique_ptr<Backend> backend = make_cuda_backend(std::move(runtime));
  DeviceRuntime& rt = cuda_backend_runtime(*backend);
  TerminalProgress progress = TerminalProgress::for_stderr("uploading weights to " + name);
  const auto t0 = std::chrono::steady_clock::now();
  bool started = false;
  const UploadProgress report = [&](int64_t done, int64_t total) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!started) progress.on_start(static_cast<uint64_t>(total));
    started = true;
    if (done < total) progress.on_progress(static_cast<uint64_t>(done), static_cast<uint64_t>(total), s);
    else progress.on_finish(static_cast<uint64_t>(done), static_cast<uint64_t>(total), s);
  };
  return make_gpu_execution_device(std::move(backend), rt, model, report);
#else
  return no_cuda_backend(spec);
#endif
}

}  // namespace dsv4

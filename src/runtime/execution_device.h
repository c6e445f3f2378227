// ExecutionDevice: where an engine (or a one-off forward) runs the model: the backend, the
// weights that backend reads, and the memory the KV cache may take.
//
// The CPU device reads the weights where the loaded checkpoint maps them. A GPU device
// copies them to its memory first (model/device_weights.h) and then needs nothing from the
// host checkpoint. Both are built here from interfaces only; the CUDA runtime and backend
// that a GPU device wraps come from runtime/open_device.h (builds with CUDA) or from a test
// (the CUDA backend over the host emulation).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/cuda/device_runtime.h"
#include "dsv4/status.h"
#include "model/device_weights.h"
#include "model/model_loader.h"

namespace dsv4 {

class ExecutionDevice {
 public:
  virtual ~ExecutionDevice() = default;
  // "cpu (16 threads)", "GPU 0 (NVIDIA H100 80GB HBM3)".
  virtual std::string describe() const = 0;
  virtual Backend& backend() = 0;
  virtual const ModelWeights& weights() const = 0;
  // What the KV cache's fraction applies to: bytes the device can still give (0: unknown).
  virtual Result<int64_t> available_memory() const = 0;
  // Called on a thread other than the creating one before it runs anything (the engine
  // thread): a GPU is current per thread.
  virtual Status bind_thread() = 0;
};

// The CPU backend over the model's mapped weights. `model` must outlive the device.
std::unique_ptr<ExecutionDevice> make_cpu_execution_device(const LoadedModel& model, const CpuBackendOptions& options);

// A GPU device: uploads the model's tensors through `runtime` (with progress), then runs on
// `backend`, which must be a CUDA backend made over that runtime. Errors: a bad checkpoint,
// or too little device memory for the weights (with the sizes).
Result<std::unique_ptr<ExecutionDevice>> make_gpu_execution_device(std::unique_ptr<Backend> backend,
                                                                   DeviceRuntime& runtime, const LoadedModel& model,
                                                                   const UploadProgress& progress = nullptr);

}  // namespace dsv4

#include "runtime/execution_device.h"

#include "core/host_memory.h"

namespace dsv4 {
namespace {

class CpuExecutionDevice final : public ExecutionDevice {
 public:
  CpuExecutionDevice(const LoadedModel& model, const CpuBackendOptions& options)
      : model_(model), backend_(make_cpu_backend(options)) {}
  std::string describe() const override {
    return backend_->name() + " (" + std::to_string(backend_->n_threads()) + " threads)";
  }
  Backend& backend() override { return *backend_; }
  const ModelWeights& weights() const override { return *model_.weights; }
  Result<int64_t> available_memory() const override { return available_memory_bytes(); }
  Status bind_thread() override { return Status::ok(); }

 private:
  const LoadedModel& model_;
  std::unique_ptr<Backend> backend_;
};

class GpuExecutionDevice final : public ExecutionDevice {
 public:
  GpuExecutionDevice(std::unique_ptr<Backend> backend, DeviceRuntime& runtime, DeviceModelWeights weights)
      : backend_(std::move(backend)), runtime_(runtime), weights_(std::move(weights)) {}
  std::string describe() const override { return runtime_.name(); }
  Backend& backend() override { return *backend_; }
  const ModelWeights& weights() const override { return *weights_.weights; }
  // Free device memory plus what the pool holds unused: the pool hands those blocks out
  // before it asks the driver for more.
  Result<int64_t> available_memory() const override {
    DSV4_ASSIGN_OR_RETURN(DeviceMemoryInfo info, runtime_.memory_info());
    const DevicePoolStats s = runtime_.pool().stats();
    return info.free_bytes + static_cast<int64_t>(s.reserved_bytes - s.allocated_bytes);
  }
  Status bind_thread() override { return runtime_.bind_thread(); }

 private:
  std::unique_ptr<Backend> backend_;  // owns runtime_ (the backend keeps its runtime)
  DeviceRuntime& runtime_;
  DeviceModelWeights weights_;        // in the runtime's pool
};

}  // namespace

std::unique_ptr<ExecutionDevice> make_cpu_execution_device(const LoadedModel& model, const CpuBackendOptions& options) {
  return std::make_unique<CpuExecutionDevice>(model, options);
}

Result<std::unique_ptr<ExecutionDevice>> make_gpu_execution_device(std::unique_ptr<Backend> backend,
                                                                   DeviceRuntime& runtime, const LoadedModel& model,
                                                                   const UploadProgress& progress) {
  if (model.tensors == nullptr) return invalid_argument("the loaded model has no tensor lookup to upload from");
  Result<DeviceModelWeights> w = upload_model_weights(model.config, *model.tensors, runtime, progress);
  if (!w.is_ok()) return w.status().with_context(model.directory);
  return std::unique_ptr<ExecutionDevice>(
      std::make_unique<GpuExecutionDevice>(std::move(backend), runtime, std::move(w).value()));
}

}  // namespace dsv4

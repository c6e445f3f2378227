// Engine::create (include/dsv4/engine.h): load the checkpoint, open the configured device,
// start the engine. In dsv4_engine with open_device.cpp (see open_device.h for why).
#include "core/thread_pool.h"
#include "runtime/engine_impl.h"
#include "runtime/open_device.h"

namespace dsv4 {

Result<std::unique_ptr<Engine>> Engine::create(const EngineConfig& config) {
  const int threads = config.n_threads > 0 ? config.n_threads : ThreadPool::hardware_threads();
  if (config.device.kind == DeviceKind::kCuda && !cuda_devices_supported())
    return no_cuda_backend(config.device);  // before minutes of loading
  ModelLoadOptions lo;
  // The CPU reads weights where they are mapped: reading every page up front shows progress
  // and keeps page faults out of the first steps. A GPU copies each tensor once, which
  // reads the pages anyway.
  lo.prefault = config.device.kind == DeviceKind::kCpu;
  lo.n_threads = threads;
  TerminalProgress progress = TerminalProgress::for_stderr("loading " + config.model_dir);
  lo.progress = &progress;
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<LoadedModel> m, load_model(config.model_dir, lo));
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<ExecutionDevice> device,
                        open_execution_device(config.device, *m, CpuBackendOptions{threads, CpuKernels::kFast}));
  DSV4_ASSIGN_OR_RETURN(std::unique_ptr<EngineImpl> e, EngineImpl::create(config, std::move(m), std::move(device)));
  return std::unique_ptr<Engine>(std::move(e));
}

}  // namespace dsv4

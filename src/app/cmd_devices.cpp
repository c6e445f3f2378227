// `dsv4 devices`: what --device can name on this machine. The host (threads, memory) and each
// CUDA device with its compute capability, memory and whether dsv4 runs on it; why there are
// none when there are none (no CUDA in this build, no driver, no GPU).
#include <cstdio>

#include "app/commands.h"
#include "backend/cuda_device.h"
#include "core/host_memory.h"
#include "core/thread_pool.h"
#include "model/load_progress.h"
#include "runtime/open_device.h"

namespace dsv4 {
namespace {

int run_devices() {
  std::printf("cpu      %d hardware threads, %s memory (%s available)\n", ThreadPool::hardware_threads(),
              format_bytes(host_physical_memory_bytes()).c_str(),
              format_bytes(static_cast<uint64_t>(available_memory_bytes())).c_str());
  if (!cuda_devices_supported()) {
    std::printf("cuda     none: this build has no CUDA backend (nvcc was not found when it was built)\n");
    return 0;
  }
  const CudaDevices devices = query_cuda_devices();
  if (devices.devices.empty()) {
    std::printf("cuda     none: %s\n", devices.unavailable_reason.c_str());
    return 0;
  }
  for (const CudaDeviceInfo& d : devices.devices) {
    const Status ok = check_cuda_device_supported(d);
    std::printf("cuda:%-3d %s, sm_%d%d, %d SMs, %s memory: %s\n", d.index, d.name.c_str(), d.cc_major, d.cc_minor,
                d.n_sms, format_bytes(static_cast<uint64_t>(d.total_memory)).c_str(),
                ok.is_ok() ? "supported" : ok.message().c_str());
  }
  return 0;
}

}  // namespace

CommandRunner add_devices_command(CLI::App& app) {
  app.add_subcommand("devices", "List the devices --device can name (the CPU and each CUDA GPU) and their memory");
  return [] { return run_devices(); };
}

}  // namespace dsv4

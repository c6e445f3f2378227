// CUDA device enumeration (compiled by nvcc; see cuda_device.h).
#include <cuda_runtime.h>

#include "backend/cuda_device.h"

namespace dsv4 {

bool cuda_compiled_in() { return true; }

CudaDevices query_cuda_devices() {
  CudaDevices out;
  // With no GPU the runtime returns an error and may leave the count unset (TOOLCHAIN.md).
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    out.unavailable_reason = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
    return out;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    out.devices.push_back({i, p.name, p.major, p.minor, static_cast<int64_t>(p.totalGlobalMem), p.multiProcessorCount});
  }
  if (out.devices.empty()) out.unavailable_reason = "the CUDA runtime reports no devices";
  return out;
}

}  // namespace dsv4

// What CUDA devices this process can use, and whether dsv4 supports them.
//
// Available in every build: without CUDA support compiled in, or on a machine without a
// GPU, it reports zero devices with a reason instead of failing (GPU tests use this to
// skip with a clear message).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dsv4/status.h"

namespace dsv4 {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int cc_major = 0;             // compute capability
  int cc_minor = 0;
  int64_t total_memory = 0;     // bytes
  int n_sms = 0;
};

struct CudaDevices {
  std::vector<CudaDeviceInfo> devices;
  std::string unavailable_reason;  // why the list is empty, if it is
};

// Enumerates devices; never fails (an error becomes unavailable_reason).
CudaDevices query_cuda_devices();

// dsv4's CUDA kernels target Hopper (sm_90a) and later: a precise error otherwise.
Status check_cuda_device_supported(const CudaDeviceInfo& d);

// True when this binary was built with CUDA sources.
bool cuda_compiled_in();

}  // namespace dsv4

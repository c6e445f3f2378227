#include "backend/cuda_device.h"

namespace dsv4 {

#if !DSV4_HAVE_CUDA
bool cuda_compiled_in() { return false; }
CudaDevices query_cuda_devices() {
  CudaDevices out;
  out.unavailable_reason = "this dsv4 build has no CUDA support (nvcc was not found at configure time)";
  return out;
}
#endif

Status check_cuda_device_supported(const CudaDeviceInfo& d) {
  if (d.cc_major < 9)
    return unavailable("GPU " + std::to_string(d.index) + " (" + d.name + ") has compute capability " +
                       std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor) +
                       "; dsv4's CUDA kernels need 9.0 (Hopper) or newer");
  return Status::ok();
}

}  // namespace dsv4

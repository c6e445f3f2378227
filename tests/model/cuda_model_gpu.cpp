// The CUDA backend on GPU 0 with its default kernels (cuBLASLt where it applies).
#include "backend/cuda/cuda_backend.h"
#include "cuda_model_backend.h"

namespace dsv4::testing {

std::unique_ptr<Backend> make_model_test_backend(std::string* why_not) {
  Result<std::unique_ptr<DeviceRuntime>> rt = make_cuda_device_runtime(0);
  if (!rt.is_ok()) {
    *why_not = "no supported GPU: " + rt.status().message();
    return nullptr;
  }
  return make_cuda_backend(std::move(rt).value());
}

int64_t host_kernel_launches() { return -1; }

}  // namespace dsv4::testing

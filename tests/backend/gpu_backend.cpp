// The CUDA backend on GPU 0: skips with the reason where there is none. FP8 GEMMs take the
// SIMT kernel, whose accumulation the op suite's tolerances are derived for; cuBLASLt's path
// has its own bounds and tests (tests/gpu/test_cublaslt_fp8_gpu.cpp).
#include "backend_under_test.h"

namespace dsv4::backend_test {

std::unique_ptr<Backend> make_backend_under_test(std::string* why_not) {
  Result<std::unique_ptr<DeviceRuntime>> rt = make_cuda_device_runtime(0);
  if (!rt.is_ok()) {
    *why_not = rt.status().message();
    return nullptr;
  }
  return make_cuda_backend(std::move(rt).value(), CudaBackendOptions{Fp8GemmPath::kSimt});
}

}  // namespace dsv4::backend_test

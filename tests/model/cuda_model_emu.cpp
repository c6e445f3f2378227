// The CUDA backend over the host emulation: the model test runs everywhere.
#include "backend/cuda/cuda_backend.h"
#include "cuda/emu/cuda_emu.h"
#include "cuda_model_backend.h"

namespace dsv4::testing {

std::unique_ptr<Backend> make_model_test_backend(std::string* /*why_not*/) {
  return make_cuda_backend(make_host_device_runtime());
}

int64_t host_kernel_launches() { return static_cast<int64_t>(dsv4cu::emu::launches_issued()); }

}  // namespace dsv4::testing

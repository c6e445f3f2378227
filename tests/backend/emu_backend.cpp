// The CUDA backend over the host emulation: runs everywhere.
#include "backend_under_test.h"

namespace dsv4::backend_test {

std::unique_ptr<Backend> make_backend_under_test(std::string* /*why_not*/) {
  return make_cuda_backend(make_host_device_runtime());
}

}  // namespace dsv4::backend_test

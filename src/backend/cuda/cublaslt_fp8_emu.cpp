// The host emulation's answer for cuBLASLt (see cublaslt_fp8.h): there is none, so the backend
// over the emulation runs every FP8 GEMM on the SIMT kernel.
#include "backend/cuda/cublaslt_fp8.h"

namespace dsv4::cuda {

Result<std::unique_ptr<LtFp8Gemm>> make_cublaslt_fp8_gemm(DeviceRuntime& /*rt*/) {
  return unavailable("cuBLASLt is not part of the host emulation");
}

}  // namespace dsv4::cuda

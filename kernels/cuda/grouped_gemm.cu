// nvcc instantiation of the grouped GEMMs (kernels/cuda/grouped_gemm.cuh and, for the routed
// experts on tensor cores, grouped_gemm_mma.cuh) behind grouped_gemm.h, and the choice
// between the experts' two cores.
#include "cuda/grouped_gemm.h"

#include "cuda/grouped_gemm.cuh"
#include "cuda/grouped_gemm_mma.cuh"

namespace dsv4k::cuda {
namespace {
dsv4cu::Stream as_stream(void* stream) { return static_cast<dsv4cu::Stream>(stream); }

// The compute capability of the calling thread's current device; (0, 0) when it cannot be
// read (the launch that follows then reports the error). The host emulation has no tensor
// cores but runs the MMA kernel on its emulated mma when asked to: it reports (8, 9), and
// its default stays the SIMT core (see current_default_core).
void current_device_cc(int* cc_major, int* cc_minor) {
#if defined(__CUDACC__)
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(cc_major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(cc_minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    *cc_major = 0;
    *cc_minor = 0;
  }
#else
  *cc_major = 8;
  *cc_minor = 9;
#endif
}

ExpertGemmCore current_default_core() {
#if defined(__CUDACC__)
  int major = 0, minor = 0;
  current_device_cc(&major, &minor);
  return default_expert_gemm_core(major, minor);
#else
  // The emulated mma is slow and proves nothing a test of the MMA core does not: backends
  // running on the emulation keep the SIMT core.
  return ExpertGemmCore::kSimt;
#endif
}
}  // namespace

ExpertGemmCore default_expert_gemm_core(int cc_major, int cc_minor) {
  // mma.sync with e4m3 operands exists from sm_89 on (PTX ISA, 9.7.14.5.10). The kernels are
  // built for 90a / 100a, whose device code always has it.
  return cc_major > 8 || (cc_major == 8 && cc_minor >= 9) ? ExpertGemmCore::kMma : ExpertGemmCore::kSimt;
}

int gemm_fp8_f_grouped(const float* x, int64_t m, int64_t ldx, const Fp8Weight& w, int64_t n_groups, float* y,
                       int64_t ldy, Round round, void* stream) {
  return static_cast<int>(launch_gemm_fp8_f_grouped(x, m, ldx, w, n_groups, y, ldy, round, as_stream(stream)));
}

namespace {
// The launch on a core already known to suit the device.
int launch_expert_core(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets,
                       const Fp4Weight* experts, int64_t n_experts, int64_t n, float* y, int64_t ldy, Round round,
                       ExpertGemmCore core, void* stream) {
  switch (core) {
    case ExpertGemmCore::kSimt:
      return static_cast<int>(
          launch_gemm_fp4_grouped_q(x, x_rows, offsets, experts, n_experts, n, y, ldy, round, as_stream(stream)));
    case ExpertGemmCore::kMma:
      return static_cast<int>(
          launch_gemm_fp4_grouped_q_mma(x, x_rows, offsets, experts, n_experts, n, y, ldy, round, as_stream(stream)));
  }
  return static_cast<int>(dsv4cu::kInvalidValue);
}
}  // namespace

int gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets, const Fp4Weight* experts,
                       int64_t n_experts, int64_t n, float* y, int64_t ldy, Round round, void* stream) {
  ExpertGemmCore core = current_default_core();
  // Activations the MMA kernel cannot stage (a partial 128-block breaks the contract of
  // QuantizedRows anyway; misaligned rows do not) go to the SIMT core.
  if (!grouped_mma_accepts(x)) core = ExpertGemmCore::kSimt;
  return launch_expert_core(x, x_rows, offsets, experts, n_experts, n, y, ldy, round, core, stream);
}

int gemm_fp4_grouped_q(const QuantizedRows& x, const int32_t* x_rows, const int32_t* offsets, const Fp4Weight* experts,
                       int64_t n_experts, int64_t n, float* y, int64_t ldy, Round round, ExpertGemmCore core,
                       void* stream) {
  if (core == ExpertGemmCore::kMma) {
    int major = 0, minor = 0;
    current_device_cc(&major, &minor);
    if (default_expert_gemm_core(major, minor) != ExpertGemmCore::kMma) return static_cast<int>(dsv4cu::kInvalidValue);
  }
  return launch_expert_core(x, x_rows, offsets, experts, n_experts, n, y, ldy, round, core, stream);
}

}  // namespace dsv4k::cuda

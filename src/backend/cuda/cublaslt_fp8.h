// cuBLASLt's block-scaled FP8 matmul (Hopper tensor cores) for the dense FP8 projections:
// y[m, n] = xq[m, k] · W[n, k]ᵀ with one fp32 scale per row per 128 of k on xq and one per
// 128x128 tile on W, in the operand layouts of kernels/include/dsv4k/fp8_lt.h (the backend
// moves the quantizer's and the checkpoint's scales into them with kernels/cuda/fp8_lt.h).
//
// Plain C++ (no CUDA or cuBLAS headers), so the CUDA backend includes it in both of its builds:
// the real one links cublaslt_fp8.cpp, the host emulation links cublaslt_fp8_emu.cpp, whose
// factory always answers "unavailable" (the backend then runs the SIMT kernel, as it does for
// every problem cuBLASLt refuses).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend/cuda/device_runtime.h"
#include "dsv4/status.h"
#include "dsv4k/fp8_lt.h"

namespace dsv4::cuda {

// One product in cuBLASLt's terms (device pointers; see dsv4k/fp8_lt.h for the layouts).
struct LtFp8Problem {
  const uint8_t* w = nullptr;      // [n, k] e4m3
  const float* w_scale = nullptr;  // [ceil(n/128), round_up4(k/128)] fp32
  const uint8_t* xq = nullptr;     // [m, k] e4m3
  const float* x_scale = nullptr;  // [k/128, m] fp32
  float* d = nullptr;              // [m, ldd] fp32
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  int64_t ldd = 0;
};

// Why cuBLASLt cannot take this problem whatever the device, or empty. The constraints, from
// the cuBLAS documentation of cublasLtMatmul (FP8: "TN" only, 16-byte aligned pointers and
// leading dimensions) and of the block-scaling modes (M and N multiples of 4, scale tensors
// 16-byte aligned); k must be whole 128-blocks because the activation quantizer's are.
inline std::string lt_fp8_shape_refusal(const LtFp8Problem& p) {
  auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  if (p.m <= 0 || p.n <= 0 || p.k <= 0) return "empty product";
  if (p.k % dsv4k::kFp8Block != 0) return "k " + std::to_string(p.k) + " is not a multiple of 128";
  if (p.m % dsv4k::kLtScaleAlign != 0) return "m " + std::to_string(p.m) + " is not a multiple of 4";
  if (p.n % dsv4k::kLtScaleAlign != 0) return "n " + std::to_string(p.n) + " is not a multiple of 4";
  if (p.ldd < p.n || p.ldd % 4 != 0) return "output rows " + std::to_string(p.ldd) + " floats apart (need >= n, x4)";
  if (!aligned(p.w) || !aligned(p.w_scale) || !aligned(p.xq) || !aligned(p.x_scale) || !aligned(p.d))
    return "an operand is not 16-byte aligned";
  return {};
}

// Not thread-safe: one per backend, driven by the backend's thread. Keeps one matmul
// descriptor, three layouts and the heuristic's algorithm per (m, n, k, ldd).
class LtFp8Gemm {
 public:
  virtual ~LtFp8Gemm() = default;
  // Ok and empty when run() will take this problem; ok with the reason when it will not
  // (shape, alignment, or the heuristic has no algorithm for it: the caller then uses the SIMT
  // kernel, which is always correct); an error Status when creating a descriptor failed. The
  // answer is cached per shape.
  virtual Result<std::string> refusal(const LtFp8Problem& p) = 0;
  // Launches on `stream` (a cudaStream_t); only for a problem refusal() accepted.
  virtual Status run(const LtFp8Problem& p, void* stream) = 0;
};

// cuBLASLt on the runtime's current device, with a workspace from its pool: unavailable,
// naming the reason, unless the device has compute capability 9.0 (the block-scaling modes
// exist for Hopper only) and the cuBLASLt library is 12.9 or newer. Always unavailable in
// the host emulation.
Result<std::unique_ptr<LtFp8Gemm>> make_cublaslt_fp8_gemm(DeviceRuntime& rt);

}  // namespace dsv4::cuda

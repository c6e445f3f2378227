// One source, two worlds: the SIMT kernels of kernels/cuda are written against this header,
// which is the real CUDA runtime under nvcc and the host emulation (emu/cuda_emu.h) under a
// plain C++ compiler. The emulated build is what ctest runs against kernels/ref in every CI
// run; the nvcc build is what the GPU runs. Kernel files therefore use only:
//   - DSV4_GLOBAL / DSV4_DEVICE for kernels and device helpers,
//   - DSV4_SHARED_ARRAY(T, name, n) and DSV4_DYNAMIC_SHARED(T, name) for shared memory,
//   - threadIdx, blockIdx, blockDim, gridDim, __syncthreads, __shfl_*_sync, __ballot_sync,
//     atomics, and IEEE float math (no rsqrtf / __expf where a result must match the
//     reference bit for bit),
//   - dsv4cu::launch() to start a kernel, so that host launchers (grid sizing included) run
//     unchanged in the emulated tests.
// Code here must compile as C++17 (nvcc) and C++20 (host).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#define DSV4_GLOBAL __global__
#define DSV4_DEVICE __device__ __forceinline__
#define DSV4_SHARED_ARRAY(T, name, n) __shared__ T name[n]
#define DSV4_DYNAMIC_SHARED(T, name)                     \
  extern __shared__ __align__(16) unsigned char dsv4_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(dsv4_dynamic_smem_)

namespace dsv4cu {
using Stream = cudaStream_t;

// Launches `kernel` and reports a bad configuration at once (errors raised while the
// kernel runs surface at the next synchronizing call, which the backend checks).
template <typename... KernelArgs, typename... Args>
cudaError_t launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t dynamic_shared_bytes, Stream stream,
                   Args... args) {
  kernel<<<grid, block, dynamic_shared_bytes, stream>>>(static_cast<KernelArgs>(args)...);
  return cudaGetLastError();
}
}  // namespace dsv4cu

#else
#include "emu/cuda_emu.h"

#define DSV4_GLOBAL
#define DSV4_DEVICE inline
#define DSV4_SHARED_ARRAY(T, name, n) T* name = ::dsv4cu::emu::shared_array<T>(n)
#define DSV4_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::dsv4cu::emu::shared_dynamic())

using cudaError_t = int;
inline constexpr cudaError_t cudaSuccess = 0;
inline constexpr cudaError_t cudaErrorInvalidValue = 1;

namespace dsv4cu {
struct EmuStream {};
using Stream = EmuStream*;

// Runs the whole grid before returning (the emulation has no asynchrony), or records it
// (emu::begin_recording). The kernel and its arguments are copied into the body, so a recorded
// launch replays with the arguments it had here, as a CUDA graph's kernel node does.
template <typename... KernelArgs, typename... Args>
cudaError_t launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t dynamic_shared_bytes,
                   Stream /*stream*/, Args... args) {
  emu::launch(grid, block, dynamic_shared_bytes, [kernel, args...] { kernel(static_cast<KernelArgs>(args)...); });
  return cudaSuccess;
}
}  // namespace dsv4cu
#endif

namespace dsv4cu {

inline constexpr unsigned kFullMask = 0xFFFFFFFFu;

DSV4_DEVICE unsigned lane_id() { return threadIdx.x % 32u; }

// Sum over the 32 lanes of a warp, the same value in every lane. The butterfly order is
// fixed, so the result is deterministic (but not the sequential order of kernels/ref).
DSV4_DEVICE float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}
DSV4_DEVICE double warp_sum_f64(double v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}
DSV4_DEVICE float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// a·b rounded on its own. nvcc contracts `acc + a * b` into an fma by default, which rounds
// once where the references round twice; a round-to-nearest multiply is never contracted.
DSV4_DEVICE float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
DSV4_DEVICE double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// A launch configuration the launcher refuses (the value of cudaErrorInvalidValue).
inline constexpr cudaError_t kInvalidValue = cudaErrorInvalidValue;
// Shared memory a block may use without opting in, and the most it may use (H100).
inline constexpr size_t kDefaultSharedBytes = 48 * 1024;
inline constexpr size_t kMaxSharedBytes = 227 * 1024;

// Above 48 KiB (static + dynamic) a kernel must opt in to more dynamic shared memory.
template <typename Kernel>
inline cudaError_t allow_shared(Kernel kernel, size_t dynamic_bytes, size_t static_bytes) {
  if (dynamic_bytes + static_bytes > kMaxSharedBytes) return kInvalidValue;
#if defined(__CUDACC__)
  if (dynamic_bytes + static_bytes > kDefaultSharedBytes)
    return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(dynamic_bytes));
#else
  (void)kernel;
#endif
  return cudaSuccess;
}

// Ceil division for grid sizing.
constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Grid-stride loops: `for (i = first_index(); i < n; i += grid_stride())` over a grid of
// grid_for(n, threads, max_blocks) blocks, which stops growing at max_blocks (enough to fill
// the GPU; the loop covers the rest).
DSV4_DEVICE int64_t first_index() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
DSV4_DEVICE int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }
inline dim3 grid_for(int64_t n, int threads, int64_t max_blocks) {
  int64_t blocks = ceil_div(n, threads);
  if (blocks > max_blocks) blocks = max_blocks;
  return dim3(static_cast<unsigned>(blocks));
}

}  // namespace dsv4cu

// The device's measured ceilings (see device_ceilings.h).
#include <cuda_runtime.h>

#include <algorithm>

#include "backend/cuda/cuda_runtime.h"
#include "device_ceilings.h"

namespace dsv4::gpu_bench {
namespace {

constexpr int kChains = 8;
constexpr int kIters = 4096;

// Eight independent FMA chains per thread keep the pipes full; the result is stored so
// that the compiler keeps the work.
__global__ void fma_kernel(float* out, float a, float b) {
  float v[kChains];
  for (int c = 0; c < kChains; ++c) v[c] = static_cast<float>(threadIdx.x + c);
  for (int i = 0; i < kIters; ++i) {
#pragma unroll
    for (int c = 0; c < kChains; ++c) v[c] = fmaf(v[c], a, b);
  }
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += v[c];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

template <class Body>
Result<float> time_ms(void* stream, int reps, const Body& body) {
  Result<cuda::Event> start = cuda::Event::create(true), end = cuda::Event::create(true);
  if (!start.is_ok()) return start.status();
  if (!end.is_ok()) return end.status();
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  body(s);  // warm-up
  DSV4_RETURN_IF_ERROR(start->record(stream));
  for (int r = 0; r < reps; ++r) body(s);
  DSV4_RETURN_IF_ERROR(end->record(stream));
  DSV4_RETURN_IF_ERROR(end->synchronize());
  Result<float> ms = cuda::Event::elapsed_ms(*start, *end);
  if (!ms.is_ok()) return ms.status();
  return *ms / static_cast<float>(reps);
}

}  // namespace

Result<DeviceCeilings> measure_ceilings(void* stream) {
  DeviceCeilings c;
  const size_t bytes = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  DSV4_RETURN_IF_ERROR(cuda::status_of(cudaMalloc(&a, bytes), "cudaMalloc (ceilings)"));
  DSV4_RETURN_IF_ERROR(cuda::status_of(cudaMalloc(&b, bytes), "cudaMalloc (ceilings)"));
  Result<float> copy = time_ms(stream, 10, [&](cudaStream_t s) { cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s); });
  cudaFree(a);
  cudaFree(b);
  if (!copy.is_ok()) return copy.status();
  c.copy_gbs = 2.0 * static_cast<double>(bytes) / (*copy * 1e-3) / 1e9;

  int sms = 0;
  DSV4_RETURN_IF_ERROR(cuda::status_of(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), "SM count"));
  const int blocks = sms * 8, threads = 256;
  float* out = nullptr;
  DSV4_RETURN_IF_ERROR(cuda::status_of(cudaMalloc(&out, sizeof(float) * blocks * threads), "cudaMalloc (ceilings)"));
  Result<float> fma = time_ms(stream, 5, [&](cudaStream_t s) { fma_kernel<<<blocks, threads, 0, s>>>(out, 0.999f, 0.001f); });
  cudaFree(out);
  if (!fma.is_ok()) return fma.status();
  c.fma_gflops = 2.0 * blocks * threads * kChains * static_cast<double>(kIters) / (*fma * 1e-3) / 1e9;
  return c;
}

}  // namespace dsv4::gpu_bench

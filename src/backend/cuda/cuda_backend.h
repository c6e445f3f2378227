// The CUDA backend: every op of backend.h as kernels of kernels/cuda launched on the
// runtime's stream.
//
// Pointer convention: every pointer an op receives is device memory of the runtime (weights,
// activations, tables, indices, KV rows), except two host arrays whose members point to device
// memory: the PoolJob array of compress_pool (the backend uploads it on every call) and the
// ExpertWeights array of moe_experts (uploaded as device tables on a layer's first call and
// kept: see expert_tables.h), and the host side of upload / download. Ops are stream-ordered
// and return before the device has finished; download and DeviceRuntime::synchronize wait.
// A kernel that cannot be launched, or a copy that fails, is a bug in the caller's shapes or
// a dead device, and stops the process with the op, the shapes and the runtime's error; only
// allocate reports running out of memory as a Status.
//
// Memory from allocate is a block of the runtime's pool, zeroed on the stream; it may outlive
// the backend (it keeps the runtime alive). moe_experts runs FP4 experts with quantized
// activations on the grouped kernels without a host round trip (moe_permute, the grouped FP4
// GEMMs, moe_combine_permuted), and every other layer on moe_experts_by_expert, which reads the
// routing back to the host.
//
// Graphs (Backend::capture): the runtime captures the stream while `enqueue` runs (a CUDA
// graph; the emulator's recording over host memory), and launch() replays it. An op that needs
// the host while capturing (upload, download, allocate, scratch growth, an uncached expert
// table) does not stop the process: it poisons the capture (capture_state.h), skips its host
// part (a download yields zeros), and capture() fails naming it, with nothing run. The memory
// epoch is the pool's count of blocks given back.
//
// Built twice from one source: against the nvcc-built kernels and the CUDA runtime
// (dsv4_cuda_backend), and against the emulated kernels and host memory
// (dsv4_cuda_backend_emu), which is how CI checks the backend on machines without a GPU.
//
// FP8 GEMMs with quantized activations (the dense projections) run on cuBLASLt's block-scaled
// FP8 matmul where the device is sm_90 and the shape qualifies (backend/cuda/cublaslt_fp8.h),
// and on the SIMT kernel otherwise. Both form one partial sum per 128 of k, multiply it by the
// two block scales and accumulate in fp32, then round once; they differ only in the order and
// precision of the additions inside a block (bounds in tests/gpu/test_cublaslt_fp8_gpu.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/cuda/device_runtime.h"

namespace dsv4 {

// Which kernel runs FP8 GEMMs with quantized activations.
enum class Fp8GemmPath : uint8_t {
  kAuto,  // cuBLASLt where the device and the shape allow it, else the SIMT kernel
  kSimt,  // always the SIMT kernel (the portable path; tests compare the two)
};

struct CudaBackendOptions {
  Fp8GemmPath fp8_gemm = Fp8GemmPath::kAuto;
};

std::unique_ptr<Backend> make_cuda_backend(std::unique_ptr<DeviceRuntime> runtime,
                                           const CudaBackendOptions& options = {});

// What a CUDA backend's FP8 GEMMs with quantized activations have done so far: how many ran on
// each path, and why cuBLASLt is off (empty when it is on).
struct Fp8GemmReport {
  int64_t cublaslt = 0;
  int64_t simt = 0;
  std::string cublaslt_off;
};
Fp8GemmReport cuda_backend_fp8_gemm_report(Backend& backend);

// How a CUDA backend's moe_experts calls have run so far: on the grouped kernels, or on the
// loop over experts (moe_experts_by_expert) for the layers those do not take.
struct MoeExpertsReport {
  int64_t grouped = 0;
  int64_t by_expert = 0;
};
MoeExpertsReport cuda_backend_moe_experts_report(Backend& backend);

// The runtime a backend made by make_cuda_backend runs on (for uploads and synchronize).
DeviceRuntime& cuda_backend_runtime(Backend& backend);

}  // namespace dsv4

// The CUDA backend: every op of backend.h as kernels of kernels/cuda launched on the
// runtime's stream.
//
// Pointer convention: every pointer an op receives is device memory of the runtime (weights,
// activations, tables, indices, KV rows), except the PoolJob array of compress_pool, which
// is a host array whose members point to device memory (the backend uploads it). Ops are
// stream-ordered and return before the device has finished; DeviceRuntime::synchronize
// waits. A kernel that cannot be launched is a bug in the caller's shapes or a dead device,
// and stops the process with the op, the shapes and the runtime's error.
//
// Built twice from one source: against the nvcc-built kernels and the CUDA runtime
// (dsv4_cuda_backend), and against the emulated kernels and host memory
// (dsv4_cuda_backend_emu), which is how CI checks the backend on machines without a GPU.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "backend/cuda/device_runtime.h"

namespace dsv4 {

std::unique_ptr<Backend> make_cuda_backend(std::unique_ptr<DeviceRuntime> runtime);

// The runtime a backend made by make_cuda_backend runs on (for uploads and synchronize).
DeviceRuntime& cuda_backend_runtime(Backend& backend);

}  // namespace dsv4

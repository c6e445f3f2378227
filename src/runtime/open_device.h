// Opening the device a DeviceSpec names, for the engine and the CLI's one-off forward passes.
//
// Built into dsv4_engine, the one library that links the real CUDA backend (where nvcc
// exists): dsv4_runtime stays free of it, so tests can pair the engine with the CUDA backend
// over the host emulation (the two CUDA backends must never share a binary).
#pragma once

#include <memory>

#include "dsv4/engine.h"
#include "runtime/execution_device.h"

namespace dsv4 {

// The CPU backend with `cpu` options, or GPU `spec.index` with the model's weights uploaded
// to it (progress on stderr when it is a terminal). Errors: a GPU that is missing or
// unsupported (named), a build without CUDA, too little device memory for the weights.
Result<std::unique_ptr<ExecutionDevice>> open_execution_device(const DeviceSpec& spec, const LoadedModel& model,
                                                               const CpuBackendOptions& cpu);

// Whether this build can open kCuda devices, and the error when it cannot.
bool cuda_devices_supported();
Status no_cuda_backend(const DeviceSpec& spec);

}  // namespace dsv4

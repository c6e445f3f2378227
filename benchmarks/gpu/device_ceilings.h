// What the GPU benchmarks compare against, measured on the device in the same run: the
// bandwidth of a large device-to-device copy, and the fp32 FMA rate of a kernel that does
// nothing else.
#pragma once

#include "dsv4/status.h"

namespace dsv4::gpu_bench {

struct DeviceCeilings {
  double copy_gbs = 0;     // (bytes read + bytes written) / s of cudaMemcpyAsync, 1 GiB
  double fma_gflops = 0;   // 2 · fmas / s
};

Result<DeviceCeilings> measure_ceilings(void* stream);

}  // namespace dsv4::gpu_bench

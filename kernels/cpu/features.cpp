// Run-time CPU feature detection for the AVX-512 kernels (see dsv4k/cpu/features.h).
// Portable code: compiled without ISA flags. __builtin_cpu_supports also checks that the
// OS saves the AVX-512 register state (XCR0), not only the CPUID bits.
#include "dsv4k/cpu/features.h"

namespace dsv4k::cpu {

bool avx512_kernels_supported() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bf16") &&
           __builtin_cpu_supports("fma");
  }();
  return supported;
#else
  return false;
#endif
}

}  // namespace dsv4k::cpu

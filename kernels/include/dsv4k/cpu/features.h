// Run-time CPU feature selection for the optimized CPU kernels.
//
// The AVX-512 kernels are compiled in their own translation units with per-file ISA flags
// and may only be called when the running CPU has every extension they were compiled for;
// this is the one place that decides it. Portable code (this header, the dispatch table in
// the backend) is compiled without those flags.
#pragma once

namespace dsv4k::cpu {

// True when the CPU has AVX-512 F, BW, VL, DQ, VBMI and BF16 (Intel Cooper Lake / Sapphire
// Rapids and later, AMD Zen 4 and later). AVX512-FP16 is deliberately not required: Zen 4
// lacks it, and the kernels do not need it.
bool avx512_kernels_supported();

}  // namespace dsv4k::cpu

// e2m1 (FP4) codes re-encoded as e4m3 (FP8) codes, four at a time: every e2m1 value is
// exactly an e4m3 value, so an FP8 tensor-core step on the re-encoded weights multiplies the
// very numbers the FP4 weights hold (grouped_gemm_mma.cuh). Plain CUDA C++ (compat.cuh).
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"

namespace dsv4k::cuda {

// Byte i of the result is byte (sel >> 4i) & 7 of the 8-byte pool hi:lo: CUDA's __byte_perm
// for selectors whose nibbles are all below 8, which is what every caller passes.
DSV4_DEVICE uint32_t byte_perm(uint32_t lo, uint32_t hi, uint32_t sel) {
#if defined(__CUDA_ARCH__)
  return __byte_perm(lo, hi, sel);
#else
  const uint64_t pool = (static_cast<uint64_t>(hi) << 32) | lo;
  uint32_t out = 0;
  for (int i = 0; i < 4; ++i) out |= static_cast<uint32_t>((pool >> (8 * ((sel >> (4 * i)) & 7u))) & 0xFFu) << (8 * i);
  return out;
#endif
}

// The four e2m1 codes in the low 16 bits of `codes` (first code in the lowest nibble) as four
// e4m3 codes (first in the lowest byte). The magnitudes 0, .5, 1, 1.5, 2, 3, 4, 6 are e4m3
// 0x00, 0x30, 0x38, 0x3C, 0x40, 0x44, 0x48, 0x4C, looked up by one byte_perm; the sign moves
// from bit 3 of the nibble to bit 7 of the byte, by a second one from the pool {0x00, 0x80}.
DSV4_DEVICE uint32_t e2m1x4_to_e4m3x4(uint32_t codes) {
  const uint32_t magnitude = byte_perm(0x3C383000u, 0x4C484440u, codes & 0x7777u);
  const uint32_t sign = byte_perm(0x00008000u, 0u, (codes >> 3) & 0x1111u);
  return magnitude | sign;
}

}  // namespace dsv4k::cuda

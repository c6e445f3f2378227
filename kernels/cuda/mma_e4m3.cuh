// One warp-wide tensor-core step, D = A·B + C with A 16x32 and B 32x8 in e4m3 and C, D in
// fp32: `mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32`. The only inline PTX of the
// grouped FP4 expert GEMM (grouped_gemm_mma.cuh) lives here, behind one function.
//
// Fragments (PTX ISA 9.7.14.5.10, "Matrix Fragments for mma.m16n8k32", the .e4m3 rows;
// elements are listed low to high, so element i of a fragment is byte i % 4 of register
// i / 4), with groupID = lane >> 2 and threadID_in_group = lane % 4:
//   A, 4 x .b32 = a0..a15:  row = groupID      for i in [0, 4) ∪ [8, 12), groupID + 8 otherwise
//                           col = threadID_in_group * 4 + (i & 3)  (+ 16 for i >= 8)
//   B, 2 x .b32 = b0..b7:   row (k) = threadID_in_group * 4 + (i & 3)  (+ 16 for i >= 4)
//                           col (n) = groupID
//   C, D, 4 x .f32 = c0..c3: row = groupID (i < 2) or groupID + 8 (i >= 2)
//                           col = threadID_in_group * 2 + (i & 1)
// That is, register a[r] holds 4 consecutive k of row groupID + 8·(r & 1) starting at
// k = 16·(r >> 1) + 4·threadID_in_group, and b[r] holds 4 consecutive k of column groupID
// starting at k = 16·r + 4·threadID_in_group. The PTX ISA requires sm_89 or later for the
// e4m3 forms. Hopper has no native FP8 mma.sync (NVIDIA/cutlass#1986): for sm_90a (and
// sm_100a) ptxas 13.0 converts the operands to f16 (F2FP.F16.E4M3.UNPACK_B; exact, every
// e4m3 value is an f16 value) and runs two chained HMMA.16816.F32 per step (k 0..15 onto C,
// then k 16..31 onto that); sm_89 and sm_120a get one native QMMA.16832.F32.E4M3.E4M3. The bound of
// grouped_gemm_mma.cuh assumes only exact products and fp32-wide (possibly truncating) sums.
//
// In the host emulation (kernels/cuda/emu) the instruction cannot run; the function there
// gathers the 32 lanes' fragments through a warp exchange, places every element where the
// layout above says it belongs, and computes each lane's D elements as sequential fp32 fmas
// in increasing k starting from C: bit for bit the SIMT tile's per-group partial sum. So the
// emulated tests check the kernel's fragment indexing (a wrong lane, register or byte moves
// a product into another output) and its results bit for bit against the SIMT kernel. Left
// to a GPU: that this transcription of the ISA's layout is the hardware's, and the
// hardware's order and rounding of the additions inside a step.
#pragma once

#include <cstdint>

#include "cuda/compat.cuh"
#include "dsv4k/numeric.h"

namespace dsv4k::cuda {

inline constexpr int kMmaM = 16;
inline constexpr int kMmaN = 8;
inline constexpr int kMmaK = 32;

#if !defined(__CUDACC__)
namespace mma_emu {

// What one lane contributes to the emulated instruction.
struct LaneFragments {
  uint32_t a[4];
  uint32_t b[2];
};

inline uint8_t byte_of(uint32_t reg, int i) { return static_cast<uint8_t>(reg >> (8 * i)); }

// The m16n8k32 step from every lane's fragments, for the calling lane's four D elements.
inline void mma_m16n8k32_e4m3(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
  LaneFragments mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}};
  LaneFragments all[32];
  ::dsv4cu::emu::warp_all_gather(&mine, all, sizeof mine);
  // Scatter every lane's elements to their (row, col) with the formulas of the PTX ISA as
  // written there, so that this is a transcription of the layout, not of the kernel's loads.
  float A[kMmaM][kMmaK];  // [16, 32]
  float B[kMmaK][kMmaN];  // [32, 8]
  for (int lane = 0; lane < 32; ++lane) {
    const int group_id = lane >> 2, tig = lane % 4;
    for (int i = 0; i < 16; ++i) {
      const int row = ((0 <= i && i < 4) || (8 <= i && i < 12)) ? group_id : group_id + 8;
      const int col = i < 8 ? tig * 4 + (i & 0x3) : tig * 4 + (i & 0x3) + 16;
      A[row][col] = e4m3_to_f32(byte_of(all[lane].a[i / 4], i % 4));
    }
    for (int i = 0; i < 8; ++i) {
      const int row = i < 4 ? tig * 4 + (i & 0x3) : tig * 4 + (i & 0x3) + 16;
      const int col = group_id;
      B[row][col] = e4m3_to_f32(byte_of(all[lane].b[i / 4], i % 4));
    }
  }
  const int lane = static_cast<int>(::dsv4cu::lane_id());
  const int group_id = lane >> 2, tig = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = i < 2 ? group_id : group_id + 8;
    const int col = tig * 2 + (i & 0x1);
    float acc = c[i];
    for (int k = 0; k < kMmaK; ++k) acc = fmaf(A[row][k], B[k][col], acc);
    d[i] = acc;
  }
}

}  // namespace mma_emu
#endif

// d = a·b + c for one warp; every lane of the warp must call it (mma.sync.aligned) with the
// fragments of the layout above. a: 16 e4m3 codes, b: 8 e4m3 codes, c, d: 4 fp32 each.
DSV4_DEVICE void mma_m16n8k32_e4m3(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                   const float (&c)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
#elif defined(__CUDA_ARCH__)
  // No e4m3 mma below sm_89: the launchers never select a kernel using it on such devices.
  (void)a;
  (void)b;
  for (int i = 0; i < 4; ++i) d[i] = c[i];
  __trap();
#elif !defined(__CUDACC__)
  mma_emu::mma_m16n8k32_e4m3(d, a, b, c);
#else
  // nvcc's host pass: device code only.
  (void)a;
  (void)b;
  for (int i = 0; i < 4; ++i) d[i] = c[i];
#endif
}

}  // namespace dsv4k::cuda

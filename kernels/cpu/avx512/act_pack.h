// Activation rows packed as bf16 pairs in the lane layout of a weight format (internal).
//
// The GEMMs multiply with vdpbf16ps, which pairs bf16 words 2d and 2d+1 of its two sources
// into fp32 lane d. Weights are decoded in registers into whatever word order is cheapest
// for their encoding (the "layout"); the activations are rearranged once per call into the
// same order, so that word w of a decoded weight chunk and word w of the packed activation
// chunk hold the same k. Each chunk covers 128 consecutive k (4 zmm of 32 words).
//
// Exactness: every product formed is exact in fp32 because both factors are bf16 values
// with few significant bits (e4m3 / e2m1 weights and e4m3 activations times powers of
// two). An fp32 activation that is not a bf16 value is split into three bf16 pieces
// hi + mid + lo = x exactly; pieces of a bf16-exact element are zero, and since adding a
// product ±0 to a partial sum that is never -0 changes nothing, the 3-piece product gives
// bit-identical results to the 1-piece product for such rows.
#pragma once

#include "intrin.h"

#include <cstdint>

#include "dsv4k/gemm.h"

namespace dsv4k::cpu::avx512::detail {

constexpr int64_t kChunk = 128;  // k per chunk
constexpr int kChunkZmm = 4;     // zmm (32 bf16 each) per chunk

// Word order inside a 128-k chunk (see src_k in act_pack.cpp for the formulas).
enum class ActLayout : uint8_t {
  kNatural,  // word w of zmm z holds k = 32z + w (bf16 weights)
  kFp8,      // per 64-k half h: zmm 2h / 2h+1 = vpunpcklbw / vpunpckhbw of the bytes (FP8 weights)
  kFp4,      // zmm z, words 2i / 2i+1 hold k = 8i + z / 8i + z + 4 (FP4 weights)
};

// Packed activation rows [first_row, first_row + n_rows) of a call.
struct PackedActs {
  const __m512i* data = nullptr;  // [n_rows, n_chunks, n_pieces, 4] zmm of bf16 words
  int64_t first_row = 0;
  int64_t n_chunks = 0;
  int n_pieces = 1;               // 1 (all packed rows bf16-exact) or 3
  const __m512i* row(int64_t i) const { return data + (i - first_row) * n_chunks * n_pieces * kChunkZmm; }
};

// Rows [r0, r1) of x [m, k] fp32 (rows ldx apart), zero-padded to whole chunks.
// Uses ScratchSlot::kActs (valid until the next packing on this thread).
PackedActs pack_f32_rows(const float* x, int64_t r0, int64_t r1, int64_t ldx, int64_t k, ActLayout layout);

// Rows [r0, r1) of e4m3 rows (k a multiple of 128); with fold_scale each value is multiplied
// by its activation block scale (exact: a power of two times an e4m3 value is a bf16 value).
// Uses ScratchSlot::kActs.
PackedActs pack_e4m3_rows(const QuantizedRows& x, int64_t r0, int64_t r1, ActLayout layout, bool fold_scale);

}  // namespace dsv4k::cpu::avx512::detail

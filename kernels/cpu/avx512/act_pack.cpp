// Packing of activation rows into the bf16 lane layouts of the GEMM weight formats
// (see act_pack.h for the layouts and why the products are exact).
#include "act_pack.h"

#include "../scratch.h"
#include "simd.h"

namespace dsv4k::cpu::avx512::detail {
namespace {

// k (within the chunk) held by word w of output zmm z.
constexpr int src_k(ActLayout layout, int z, int w) {
  switch (layout) {
    case ActLayout::kNatural:
      return 32 * z + w;
    case ActLayout::kFp8: {
      // vpunpck{l,h}bw interleave within 128-bit lanes: word 8L + j of the low (high)
      // unpack is byte 16L + j (16L + 8 + j) of the 64-byte half.
      const int half = z / 2, high = z % 2, lane = w / 8, j = w % 8;
      return 64 * half + 16 * lane + 8 * high + j;
    }
    case ActLayout::kFp4: {
      // Dword i of the 64 weight bytes holds the 8 nibbles of k = 8i .. 8i+7; zmm z takes
      // nibble z of its low word and nibble z+4 of its high word (a 16-bit shift by 4z).
      const int pair = w / 2, high = w % 2;
      return 8 * pair + z + 4 * high;
    }
  }
  return 0;
}

struct PermTables {
  alignas(64) uint16_t lo[kChunkZmm][32];  // vpermt2w indices into natural zmm 0, 1
  alignas(64) uint16_t hi[kChunkZmm][32];  // ... into natural zmm 2, 3
  uint32_t from_hi[kChunkZmm];             // words taken from the second pair
};

constexpr PermTables make_perm(ActLayout layout) {
  PermTables t{};
  for (int z = 0; z < kChunkZmm; ++z) {
    for (int w = 0; w < 32; ++w) {
      const int k = src_k(layout, z, w);
      t.lo[z][w] = static_cast<uint16_t>(k & 63);
      t.hi[z][w] = static_cast<uint16_t>((k - 64) & 63);
      if (k >= 64) t.from_hi[z] |= 1u << w;
    }
  }
  return t;
}

constexpr PermTables kPermFp8 = make_perm(ActLayout::kFp8);
constexpr PermTables kPermFp4 = make_perm(ActLayout::kFp4);

// Picks the high (bf16) halves of two fp32 zmm: words 0..15 from a, 16..31 from b.
alignas(64) constexpr uint16_t kHighHalves[32] = {1,  3,  5,  7,  9,  11, 13, 15, 17, 19, 21,
                                                 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 43,
                                                 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};

inline __m512i load_idx(const uint16_t* p) { return _mm512_load_si512(p); }

// 8 zmm of fp32 holding bf16 values (k = 16q + lane) -> the chunk's 4 zmm in `layout`.
inline void store_chunk(const __m512* f, ActLayout layout, __m512i* out) {
  const __m512i hh = load_idx(kHighHalves);
  __m512i nat[kChunkZmm];
  for (int q = 0; q < kChunkZmm; ++q)
    nat[q] = _mm512_permutex2var_epi16(_mm512_castps_si512(f[2 * q]), hh, _mm512_castps_si512(f[2 * q + 1]));
  if (layout == ActLayout::kNatural) {
    for (int z = 0; z < kChunkZmm; ++z) _mm512_store_si512(out + z, nat[z]);
    return;
  }
  const PermTables& t = layout == ActLayout::kFp8 ? kPermFp8 : kPermFp4;
  for (int z = 0; z < kChunkZmm; ++z) {
    const __m512i a = _mm512_permutex2var_epi16(nat[0], load_idx(t.lo[z]), nat[1]);
    const __m512i b = _mm512_permutex2var_epi16(nat[2], load_idx(t.hi[z]), nat[3]);
    _mm512_store_si512(out + z, _mm512_mask_mov_epi16(a, t.from_hi[z], b));
  }
}

// e4m3 -> fp32 for 16 bytes, exact and independent of MXCSR (subnormal codes are formed
// as m · 2^-9 from an integer conversion, not through fp32 denormals).
inline __m512 e4m3x16_to_f32(__m128i bytes) {
  const __m512i b = _mm512_cvtepu8_epi32(bytes);
  const __m512i mag = _mm512_and_si512(b, _mm512_set1_epi32(0x7F));
  const __m512i normal = _mm512_add_epi32(_mm512_slli_epi32(mag, 20), _mm512_set1_epi32(120 << 23));
  const __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_and_si512(b, _mm512_set1_epi32(7))),
                                   _mm512_set1_ps(0.001953125f));
  __m512 v = _mm512_mask_mov_ps(_mm512_castsi512_ps(normal), _mm512_cmplt_epu32_mask(mag, _mm512_set1_epi32(8)), sub);
  v = _mm512_mask_mov_ps(v, _mm512_cmpeq_epi32_mask(mag, _mm512_set1_epi32(0x7F)),
                         _mm512_castsi512_ps(_mm512_set1_epi32(0x7FC00000)));
  const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(b, _mm512_set1_epi32(0x80)), 24);
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(v), sign));
}

// True when every element of the row is a bf16 value (low 16 bits zero).
inline bool row_is_bf16(const float* x, int64_t k) {
  const __m512i low = _mm512_set1_epi32(0xFFFF);
  __mmask16 any = 0;
  for (int64_t c = 0; c < k; c += 16)
    any = static_cast<__mmask16>(any | _mm512_mask_test_epi32_mask(mask16(k - c), _mm512_castps_si512(_mm512_maskz_loadu_ps(mask16(k - c), x + c)), low));
  return any == 0;
}

__m512i* alloc_acts(int64_t m, int64_t n_chunks, int n_pieces) {
  const size_t bytes = static_cast<size_t>(m * n_chunks * n_pieces * kChunkZmm) * sizeof(__m512i);
  return static_cast<__m512i*>(thread_scratch(ScratchSlot::kActs, bytes > 0 ? bytes : 64));
}

}  // namespace

PackedActs pack_f32_rows(const float* x_all, int64_t r0, int64_t r1, int64_t ldx, int64_t k, ActLayout layout) {
  const float* x = x_all + r0 * ldx;
  const int64_t m = r1 - r0;
  const int64_t n_chunks = ceil_div_i64(k, kChunk);
  int n_pieces = 1;
  for (int64_t i = 0; i < m && n_pieces == 1; ++i)
    if (!row_is_bf16(x + i * ldx, k)) n_pieces = 3;
  __m512i* out = alloc_acts(m, n_chunks, n_pieces);
  const __m512i hi_mask = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  const __m512i low = _mm512_set1_epi32(0xFFFF);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t c = 0; c < n_chunks; ++c) {
      __m512 f[8];
      for (int q = 0; q < 8; ++q) {
        const int64_t k0 = c * kChunk + 16 * q;
        f[q] = _mm512_maskz_loadu_ps(mask16(max_i64(0, k - k0)), x + i * ldx + min_i64(k0, k));
      }
      __m512i* dst = out + (i * n_chunks + c) * n_pieces * kChunkZmm;
      if (n_pieces == 1) {
        store_chunk(f, layout, dst);
        continue;
      }
      // hi = truncation to bf16; r = x - hi is exact; mid = truncation of r; lo = r - mid
      // has at most 8 significant bits. Elements that are bf16 values keep r = 0 (even
      // when infinite), so their mid and lo pieces are exactly zero.
      __m512 hi[8], mid[8], lo[8];
      for (int q = 0; q < 8; ++q) {
        const __m512i u = _mm512_castps_si512(f[q]);
        hi[q] = _mm512_castsi512_ps(_mm512_and_si512(u, hi_mask));
        const __m512 r = _mm512_maskz_sub_ps(_mm512_test_epi32_mask(u, low), f[q], hi[q]);
        mid[q] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(r), hi_mask));
        lo[q] = _mm512_sub_ps(r, mid[q]);
      }
      store_chunk(hi, layout, dst);
      store_chunk(mid, layout, dst + kChunkZmm);
      store_chunk(lo, layout, dst + 2 * kChunkZmm);
    }
  }
  return {out, r0, n_chunks, n_pieces};
}

PackedActs pack_e4m3_rows(const QuantizedRows& x, int64_t r0, int64_t r1, ActLayout layout, bool fold_scale) {
  const int64_t n_chunks = x.k / kChunk;
  __m512i* out = alloc_acts(r1 - r0, n_chunks, 1);
  for (int64_t i = r0; i < r1; ++i) {
    for (int64_t c = 0; c < n_chunks; ++c) {
      const uint8_t* src = x.q + i * x.k + c * kChunk;
      const __m512 s = _mm512_set1_ps(fold_scale ? x.scale[i * n_chunks + c] : 1.0f);
      __m512 f[8];
      for (int q = 0; q < 8; ++q) {
        const __m512 v = e4m3x16_to_f32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16 * q)));
        f[q] = fold_scale ? _mm512_mul_ps(v, s) : v;
      }
      store_chunk(f, layout, out + ((i - r0) * n_chunks + c) * kChunkZmm);
    }
  }
  return {out, r0, n_chunks, 1};
}

}  // namespace dsv4k::cpu::avx512::detail

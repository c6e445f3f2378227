// AVX-512 KV-row codecs (layouts and contracts in dsv4k/kv_row.h), bit-identical to the
// references in kernels/ref/kv_row_ref.cpp.
//
// Decoding is the hot direction (attention over a long context decodes every selected row
// of every step), so it avoids per-value tables in memory and scalar work:
//  - e4m3: every e4m3 value is a normal bf16 value, so two vpermt2b lookups (VBMI) of 64
//    codes give the high and low bytes of its bf16 pattern (as gemm_fp8.cpp does), one more
//    vpermt2b per 16 values interleaves them into fp32 lanes, and one multiply by the E8M0
//    value applies the block scale: the reference's own product e4m3 · 2^(e-127), for any
//    scale byte and independent of MXCSR's DAZ (no subnormal operand unless the scale byte
//    is 0, where the reference multiplies by the same subnormal).
//  - e2m1: the 16 possible nibbles times the block scale form a 16-lane table (one multiply
//    per block, the reference's products), and vpermps looks every value up: vpermb places
//    byte i/2 in lane i, a per-lane shift of 0 or 4 brings the nibble down, and vpermps reads
//    only the low 4 index bits.
// Encoding follows quantize.cpp: NaN-ignoring amax, the scalar scale rule, the same fp32
// multiply by 2^-e, clamps with std::fmin/fmax NaN behaviour, integer-lane codecs.
#include "dsv4k/cpu/kv_row_avx512.h"

#include "dsv4k/kv_row.h"
#include "simd.h"

namespace dsv4k::cpu::avx512 {
namespace {

// Local copies of kv_row.h's inline size functions (this TU must not emit COMDAT copies of
// portable inline functions; see simd.h).
inline int64_t fp8_row_bytes(int64_t dim, int64_t rope_dim) {
  const int64_t used = dim + rope_dim + (dim - rope_dim) / kKvFp8Block;
  return (used + kKvFp8RowAlign - 1) / kKvFp8RowAlign * kKvFp8RowAlign;
}
inline int64_t fp4_row_bytes(int64_t dim) {
  const int64_t used = dim / 2 + dim / kKvFp4Block;
  return (used + kKvFp4RowAlign - 1) / kKvFp4RowAlign * kKvFp4RowAlign;
}

// The reference's scale exponent: pow2 rule on the amax, clamped to 126 (see kv_row_ref.cpp).
inline int scale_exponent(float amax, float amax_floor, float inv_max) {
  const float a = amax > amax_floor ? amax : amax_floor;
  const int e = ceil_log2_bits(a * inv_max);
  return e < 126 ? e : 126;
}

// amax over n <= 64 floats; NaN lanes are ignored (max_ps returns its second operand).
inline float amax_of(const float* x, int64_t n) {
  __m512 amax = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16)
    amax = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(mask16(n - i), x + i)), amax);
  return hmax(amax);
}

// clamp(v, -m, m) with std::fmin(std::fmax(v, -m), m)'s NaN behaviour (NaN -> -m).
inline __m512 clamp_pm(__m512 v, float m) {
  return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-m)), _mm512_set1_ps(m));
}

// f32_to_e2m1 on 16 lanes of clamped (non-NaN) values: codes 0..15 in each dword.
inline __m512i f32_to_e2m1_x16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512 a = _mm512_abs_ps(v);
  const __m512i sign = _mm512_and_si512(_mm512_srli_epi32(u, 28), _mm512_set1_epi32(0x8));
  const int rne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  // a < 2: rint(2a) (0, .5, 1, 1.5, 2 -> 0..4); 2 <= a < 4: 2 + rint(a); a >= 4: 6 (4) or 7
  // (6), where rint(a/2) >= 3 exactly when a > 5 (a tie at 5 goes to the even code, 4).
  const __m512i lo = _mm512_cvt_roundps_epi32(_mm512_add_ps(a, a), rne);
  const __m512i mid = _mm512_add_epi32(_mm512_cvt_roundps_epi32(a, rne), _mm512_set1_epi32(2));
  const __mmask16 above5 = _mm512_cmp_ps_mask(a, _mm512_set1_ps(5.0f), _CMP_GT_OQ);
  const __m512i hi = _mm512_mask_mov_epi32(_mm512_set1_epi32(6), above5, _mm512_set1_epi32(7));
  __m512i code = _mm512_mask_mov_epi32(hi, _mm512_cmp_ps_mask(a, _mm512_set1_ps(4.0f), _CMP_LT_OQ), mid);
  code = _mm512_mask_mov_epi32(code, _mm512_cmp_ps_mask(a, _mm512_set1_ps(2.0f), _CMP_LT_OQ), lo);
  return _mm512_or_si512(code, sign);
}

// n <= 16 floats -> bf16 (round to nearest even, NaN quieted) at p (2n bytes).
inline void store_bf16_x16(const float* x, int64_t n, uint8_t* p) {
  const __mmask16 mk = mask16(n);
  const __m512 r = round_bf16_vec(_mm512_maskz_loadu_ps(mk, x));
  _mm256_mask_storeu_epi16(p, mk, _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(r), 16)));
}

// n <= 16 bf16 at p -> floats.
inline void load_bf16_x16(const uint8_t* p, int64_t n, float* y) {
  const __mmask16 mk = mask16(n);
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mk, p));
  _mm512_mask_storeu_ps(y, mk, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
}

void encode_fp8_block(const float* x, uint8_t* q, uint8_t* scale) {
  const int e = scale_exponent(amax_of(x, kKvFp8Block), kE4M3AmaxFloor, kE4M3InvMax);
  const __m512 inv_s = _mm512_set1_ps(exp2_int(-e));
  for (int64_t i = 0; i < kKvFp8Block; i += 16) {
    const __m512 v = clamp_pm(_mm512_mul_ps(_mm512_loadu_ps(x + i), inv_s), kE4M3Max);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtepi32_epi8(f32_to_e4m3_x16(v)));
  }
  *scale = static_cast<uint8_t>(e + 127);
}

// bf16 bits of the e4m3 magnitude code c (sign bit clear); 0x7F is NaN. Every e4m3 value,
// subnormals included, is a normal bf16 value.
constexpr uint16_t e4m3_magnitude_bf16(int c) {
  const int e = c >> 3, m = c & 7;
  if (c == 0x7F) return 0x7FC0;
  if (e != 0) return static_cast<uint16_t>(((e + 120) << 7) | (m << 4));
  if (m == 0) return 0;
  const int lead = m >= 4 ? 2 : (m >= 2 ? 1 : 0);  // m·2^-9 = 2^(lead-9) · (m / 2^lead)
  return static_cast<uint16_t>(((127 + lead - 9) << 7) | ((m << (7 - lead)) & 0x7F));
}

// The two bytes of those bf16 patterns, 128 entries each (two zmm per table for vpermt2b),
// and the byte shuffles that interleave them into fp32 lanes [0, 0, lo, hi]: group g
// (values 16g..16g+15) takes lo byte 16g+i into byte 4i+2 and hi byte 16g+i (the second
// source, index + 64) into byte 4i+3; bytes 4i and 4i+1 are zeroed by the mask.
struct E4m3Tables {
  alignas(64) uint8_t hi[128];
  alignas(64) uint8_t lo[128];
  alignas(64) uint8_t interleave[4][64];
};

constexpr E4m3Tables make_e4m3_tables() {
  E4m3Tables t{};
  for (int c = 0; c < 128; ++c) {
    t.hi[c] = static_cast<uint8_t>(e4m3_magnitude_bf16(c) >> 8);
    t.lo[c] = static_cast<uint8_t>(e4m3_magnitude_bf16(c) & 0xFF);
  }
  for (int g = 0; g < 4; ++g) {
    for (int i = 0; i < 16; ++i) {
      t.interleave[g][4 * i + 2] = static_cast<uint8_t>(16 * g + i);
      t.interleave[g][4 * i + 3] = static_cast<uint8_t>(64 + 16 * g + i);
    }
  }
  return t;
}

constexpr E4m3Tables kE4m3 = make_e4m3_tables();
constexpr __mmask64 kHighHalfWords = 0xCCCCCCCCCCCCCCCCull;  // bytes 2 and 3 of every dword

// 64 e4m3 codes times 2^(e-127): the bf16 lookup is the exact code value (NaN code: the
// reference's quiet NaN with the code's sign), and the product with the E8M0 value is the
// reference's fp32 product, for every scale byte (0 and 255 included).
void decode_fp8_block(const uint8_t* q, uint8_t scale, float* y) {
  const __m512i codes = _mm512_loadu_si512(q);
  const __m512i lo = _mm512_permutex2var_epi8(_mm512_load_si512(kE4m3.lo), codes, _mm512_load_si512(kE4m3.lo + 64));
  __m512i hi = _mm512_permutex2var_epi8(_mm512_load_si512(kE4m3.hi), codes, _mm512_load_si512(kE4m3.hi + 64));
  // hi | (codes & 0x80): truth table of A | (B & C) for (A, B, C) = (hi, codes, 0x80).
  hi = _mm512_ternarylogic_epi32(hi, codes, _mm512_set1_epi8(static_cast<char>(0x80)), 0xF8);
  const __m512 s = _mm512_set1_ps(e8m0_scalar(scale));
  for (int g = 0; g < 4; ++g) {
    const __m512i idx = _mm512_load_si512(kE4m3.interleave[g]);
    const __m512i bits = _mm512_maskz_permutex2var_epi8(kHighHalfWords, lo, idx, hi);
    _mm512_storeu_ps(y + 16 * g, _mm512_mul_ps(_mm512_castsi512_ps(bits), s));
  }
}

void encode_fp4_block(const float* x, uint8_t* q, uint8_t* scale) {
  const int e = scale_exponent(amax_of(x, kKvFp4Block), kE2M1AmaxFloor, kE2M1InvMax);
  const __m512 inv_s = _mm512_set1_ps(exp2_int(-e));
  for (int64_t i = 0; i < kKvFp4Block; i += 16) {
    const __m512i c = f32_to_e2m1_x16(clamp_pm(_mm512_mul_ps(_mm512_loadu_ps(x + i), inv_s), kE2M1Max));
    // qword k holds codes 2k (bits 0..3) and 2k+1 (bits 32..35): fold the odd one to bits 4..7.
    const __m512i packed = _mm512_or_si512(c, _mm512_srli_epi64(c, 28));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i / 2), _mm512_cvtepi64_epi8(packed));
  }
  *scale = static_cast<uint8_t>(e + 127);
}

// e2m1 code c -> its value, lane c (c in 0..15; bit 3 is the sign).
alignas(64) constexpr float kE2m1Values[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                               -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
// Output lane i of value 16h + i reads code byte 8h + i/2 (in byte 0 of its dword) ...
alignas(64) constexpr uint8_t kFp4ByteIdx[2][64] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
     4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8,  8,  8,  8,  8,  8,  8,  8,  9,  9,  9,  9,  9,  9,  9,  9,  10, 10, 10, 10, 10, 10,
     10, 10, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13,
     13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15}};
// ... and shifts it right by 0 (even value: low nibble) or 4 (odd value: high nibble).
alignas(64) constexpr uint32_t kFp4Shift[16] = {0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4};

void decode_fp4_block(const uint8_t* q, uint8_t scale, float* y) {
  const __m512 table = _mm512_mul_ps(_mm512_load_ps(kE2m1Values), _mm512_set1_ps(e8m0_scalar(scale)));
  const __m512i bytes = _mm512_zextsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
  const __m512i shift = _mm512_load_si512(kFp4Shift);
  for (int h = 0; h < 2; ++h) {
    const __m512i spread = _mm512_permutexvar_epi8(_mm512_load_si512(kFp4ByteIdx[h]), bytes);
    const __m512i idx = _mm512_srlv_epi32(spread, shift);  // vpermps reads bits 3..0 only
    _mm512_storeu_ps(y + 16 * h, _mm512_permutexvar_ps(idx, table));
  }
}

}  // namespace

void encode_kv_fp8_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* out) {
  const int64_t nope = dim - rope_dim;
  const int64_t n_blocks = nope / kKvFp8Block;
  const int64_t row_bytes = fp8_row_bytes(dim, rope_dim);
  const int64_t used = dim + rope_dim + n_blocks;
  for (int64_t r = 0; r < n; ++r) {
    const float* x = rows + r * ld;  // [dim]
    uint8_t* o = out + r * row_bytes;
    for (int64_t b = 0; b < n_blocks; ++b)
      encode_fp8_block(x + b * kKvFp8Block, o + b * kKvFp8Block, o + dim + rope_dim + b);
    for (int64_t j = 0; j < rope_dim; j += 16) store_bf16_x16(x + nope + j, rope_dim - j, o + nope + 2 * j);
    for (int64_t i = used; i < row_bytes; ++i) o[i] = 0;
  }
}

void decode_kv_fp8_rows(const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows, int64_t ld) {
  const int64_t nope = dim - rope_dim;
  const int64_t n_blocks = nope / kKvFp8Block;
  const int64_t row_bytes = fp8_row_bytes(dim, rope_dim);
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* p = in + r * row_bytes;
    float* y = rows + r * ld;  // [dim]
    for (int64_t b = 0; b < n_blocks; ++b)
      decode_fp8_block(p + b * kKvFp8Block, p[dim + rope_dim + b], y + b * kKvFp8Block);
    for (int64_t j = 0; j < rope_dim; j += 16) load_bf16_x16(p + nope + 2 * j, rope_dim - j, y + nope + j);
  }
}

void encode_kv_fp4_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out) {
  const int64_t n_blocks = dim / kKvFp4Block;
  const int64_t row_bytes = fp4_row_bytes(dim);
  for (int64_t r = 0; r < n; ++r) {
    const float* x = rows + r * ld;  // [dim]
    uint8_t* o = out + r * row_bytes;
    for (int64_t b = 0; b < n_blocks; ++b)
      encode_fp4_block(x + b * kKvFp4Block, o + b * kKvFp4Block / 2, o + dim / 2 + b);
    for (int64_t i = dim / 2 + n_blocks; i < row_bytes; ++i) o[i] = 0;
  }
}

void decode_kv_fp4_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld) {
  const int64_t n_blocks = dim / kKvFp4Block;
  const int64_t row_bytes = fp4_row_bytes(dim);
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* p = in + r * row_bytes;
    float* y = rows + r * ld;  // [dim]
    for (int64_t b = 0; b < n_blocks; ++b)
      decode_fp4_block(p + b * kKvFp4Block / 2, p[dim / 2 + b], y + b * kKvFp4Block);
  }
}

void encode_kv_bf16_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < dim; j += 16) store_bf16_x16(rows + r * ld + j, dim - j, out + (r * dim + j) * 2);
}

void decode_kv_bf16_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < dim; j += 16) load_bf16_x16(in + (r * dim + j) * 2, dim - j, rows + r * ld + j);
}

}  // namespace dsv4k::cpu::avx512

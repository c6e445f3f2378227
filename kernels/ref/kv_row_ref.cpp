// Scalar reference codecs of the compact KV rows (layouts in dsv4k/kv_row.h).
//
// Why decode(encode(row)) is bit-identical for every simulated row
// -----------------------------------------------------------------
// Write M = 448, F = 1e-4, k = fp32(1/M) for FP8 (M = 6, F = 6·2^-126, k = fp32(1/6) for FP4),
// fl() for fp32 rounding, and E(a) = ceil(log2(fl(max(a, F)·k))) for the scale rule. Two facts
// about the fp32 constants, checked by the tests: fl(M·k) = 1 exactly (448·fl(1/448) =
// 1 + 3·2^-26 and 6·fl(1/6) = 1 + 2^-25 both round to 1), and so fl(c·2^j·k) = fl(c·k)·2^j
// whenever the results stay in the normal range.
//
// Claim: let a block be y_i = c_i · 2^e with c_i values of the code grid (e4m3 / e2m1,
// either sign, -0 included), every y_i a finite fp32, and e >= E(0) (= -22 for FP8, -126 for
// FP4). Then the encoder recovers the block exactly. Every simulated block is of this form:
// simulate_* writes c_i · 2^e with e = E(amax) >= E(0) (E is monotone).
//
// Proof. Let C = max |c_i| and A = C · 2^e the block's amax; the encoder picks e' = E(A).
//  1. e' <= e. If A >= F: A·k <= M·2^e·k, so fl(A·k) <= fl(M·k)·2^e = 2^e (fl is monotone),
//     hence e' <= e. If A < F: e' = E(0) <= e by assumption.
//  2. The codes do not overflow: C · 2^(e-e') <= M. If A >= F, fl(C·2^(e-e')·k) =
//     fl(A·k)·2^-e' <= 1; a grid value times a power of two above M would be at least the
//     next value with the same mantissa width (480 resp. 8), and fl(480·k) > 1, fl(8·k) > 1.
//     If A < F, e' = E(0) and C · 2^(e-e') < F · 2^-E(0) = 419.4... (FP8) resp. 6 (FP4).
//  3. Scaling a grid value up by 2^(e-e') (e - e' >= 0) without exceeding M lands on the
//     grid: e4m3 normals keep their 3-bit mantissa, e4m3 subnormals m·2^-9 (m < 8) become
//     m·2^(e-e'-9), which has at most 3 significant bits; the e2m1 grid is {1, 1.5}·2^p, and
//     raising p keeps it on the grid up to 6. So y_i · 2^-e' = c_i · 2^(e-e') is an exact fp32
//     product, the clamp does nothing, and round-to-nearest-even of an exactly representable
//     value is that value (x = -0 keeps its sign: code 0x80 / 0x8).
//  4. Decoding multiplies the code value by 2^e': the exact product c_i · 2^e = y_i, which is
//     a finite fp32 by assumption, so no rounding happens.
//
// e' < e does happen for simulated rows: when the block's largest |x|/2^e lies in (224, 232],
// it rounds down to the code 224 = M/2 (FP8), and in (3, 3.5) it rounds to 3 = M/2 (FP4);
// then fl(A·k) = 2^(e-1), the encoder picks e' = e - 1 and stores every code doubled, which
// steps 2 and 3 show is exact. (Only this one step down occurs for simulated blocks, since
// their largest code is at least M/2 unless the amax floor chose e; the claim covers more.)
// So the stored bytes may differ from the ones the simulation's own quantizer produced (scale
// one step lower, codes doubled); the decoded values never do.
//
// Blocks that violate the assumption are not simulation outputs: e < E(0) (values finer than
// the floor allows), and blocks holding ±inf: the simulations themselves return inf for an
// amax >= 248·2^120 (FP8: the code rounds up to 256 at scale 2^120) or >= 3.5·2^126 (FP4:
// 4 at scale 2^126). Rows that were not simulated are quantized (lossy).
#include <cmath>
#include <cstring>

#include "dsv4k/kv_row.h"
#include "dsv4k/numeric.h"

namespace dsv4k::ref {
namespace {

// The exponent of the block's power-of-two scale: the rule of ref::quantize_e4m3 on the
// NaN-ignoring amax, clamped to 126 so that a block holding ±inf still gets a valid E8M0
// byte (an unclamped inf amax would give 2^128; no finite amax reaches the clamp: FP8
// scales stay <= 2^120, FP4 scales <= 2^126).
int block_exponent(const float* x, int64_t n, float amax_floor, float inv_max) {
  float a = 0.0f;
  for (int64_t i = 0; i < n; ++i) a = std::fmax(a, std::fabs(x[i]));
  const int e = pow2_scale_exponent(a, amax_floor, inv_max);
  return e < 126 ? e : 126;
}

uint8_t e8m0_byte(int e) { return static_cast<uint8_t>(e + 127); }

void put_bf16(float v, uint8_t* p) {
  const uint16_t b = f32_to_bf16(v);
  p[0] = static_cast<uint8_t>(b & 0xFFu);
  p[1] = static_cast<uint8_t>(b >> 8);
}

float get_bf16(const uint8_t* p) { return bf16_to_f32(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

// Row r of rows = decode_one(base + offsets[r], row r), or dim zeros for a negative offset.
template <class DecodeOne>
void decode_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows, int64_t ld,
                    DecodeOne decode_one) {
  for (int64_t r = 0; r < n; ++r) {
    float* y = rows + r * ld;  // [dim]
    if (offsets[r] < 0) {
      for (int64_t i = 0; i < dim; ++i) y[i] = 0.0f;
    } else {
      decode_one(base + offsets[r], y);
    }
  }
}

}  // namespace

void encode_kv_fp8_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* out) {
  const int64_t nope = dim - rope_dim;
  const int64_t row_bytes = kv_fp8_row_bytes(dim, rope_dim);
  for (int64_t r = 0; r < n; ++r) {
    const float* x = rows + r * ld;  // [dim]
    uint8_t* o = out + r * row_bytes;
    uint8_t* scales = o + kv_fp8_scale_offset(dim, rope_dim);
    for (int64_t b = 0; b < nope / kKvFp8Block; ++b) {
      const float* xb = x + b * kKvFp8Block;
      const int e = block_exponent(xb, kKvFp8Block, kE4M3AmaxFloor, kE4M3InvMax);
      const float inv_s = exp2i(-e);  // exact division by 2^e
      for (int64_t i = 0; i < kKvFp8Block; ++i) {
        const float v = std::fmin(std::fmax(xb[i] * inv_s, -kE4M3Max), kE4M3Max);
        o[b * kKvFp8Block + i] = f32_to_e4m3(v);
      }
      scales[b] = e8m0_byte(e);
    }
    for (int64_t j = 0; j < rope_dim; ++j) put_bf16(x[nope + j], o + nope + 2 * j);
    const int64_t used = kv_fp8_scale_offset(dim, rope_dim) + nope / kKvFp8Block;
    if (row_bytes > used) std::memset(o + used, 0, static_cast<size_t>(row_bytes - used));
  }
}

void decode_kv_fp8_rows(const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows, int64_t ld) {
  const int64_t nope = dim - rope_dim;
  const int64_t row_bytes = kv_fp8_row_bytes(dim, rope_dim);
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* p = in + r * row_bytes;
    const uint8_t* scales = p + kv_fp8_scale_offset(dim, rope_dim);
    float* y = rows + r * ld;  // [dim]
    for (int64_t i = 0; i < nope; ++i) y[i] = e4m3_to_f32(p[i]) * e8m0_to_f32(scales[i / kKvFp8Block]);
    for (int64_t j = 0; j < rope_dim; ++j) y[nope + j] = get_bf16(p + nope + 2 * j);
  }
}

void encode_kv_fp4_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out) {
  const int64_t row_bytes = kv_fp4_row_bytes(dim);
  for (int64_t r = 0; r < n; ++r) {
    const float* x = rows + r * ld;  // [dim]
    uint8_t* o = out + r * row_bytes;
    uint8_t* scales = o + kv_fp4_scale_offset(dim);
    for (int64_t b = 0; b < dim / kKvFp4Block; ++b) {
      const float* xb = x + b * kKvFp4Block;
      const int e = block_exponent(xb, kKvFp4Block, kE2M1AmaxFloor, kE2M1InvMax);
      const float inv_s = exp2i(-e);
      for (int64_t i = 0; i < kKvFp4Block; i += 2) {
        const float v0 = std::fmin(std::fmax(xb[i] * inv_s, -kE2M1Max), kE2M1Max);
        const float v1 = std::fmin(std::fmax(xb[i + 1] * inv_s, -kE2M1Max), kE2M1Max);
        o[(b * kKvFp4Block + i) / 2] = static_cast<uint8_t>(f32_to_e2m1(v0) | (f32_to_e2m1(v1) << 4));
      }
      scales[b] = e8m0_byte(e);
    }
    const int64_t used = kv_fp4_scale_offset(dim) + dim / kKvFp4Block;
    if (row_bytes > used) std::memset(o + used, 0, static_cast<size_t>(row_bytes - used));
  }
}

void decode_kv_fp4_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld) {
  const int64_t row_bytes = kv_fp4_row_bytes(dim);
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* p = in + r * row_bytes;
    const uint8_t* scales = p + kv_fp4_scale_offset(dim);
    float* y = rows + r * ld;  // [dim]
    for (int64_t i = 0; i < dim; ++i) {
      const uint8_t code = static_cast<uint8_t>((p[i / 2] >> (4 * (i % 2))) & 0xFu);
      y[i] = e2m1_to_f32(code) * e8m0_to_f32(scales[i / kKvFp4Block]);
    }
  }
}

void encode_kv_bf16_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i) put_bf16(rows[r * ld + i], out + (r * dim + i) * 2);
}

void decode_kv_bf16_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < dim; ++i) rows[r * ld + i] = get_bf16(in + (r * dim + i) * 2);
}

void decode_kv_fp8_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, int64_t rope_dim,
                           float* rows, int64_t ld) {
  decode_rows_at(base, offsets, n, dim, rows, ld,
                 [&](const uint8_t* p, float* y) { decode_kv_fp8_rows(p, 1, dim, rope_dim, y, ld); });
}

void decode_kv_fp4_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows,
                           int64_t ld) {
  decode_rows_at(base, offsets, n, dim, rows, ld,
                 [&](const uint8_t* p, float* y) { decode_kv_fp4_rows(p, 1, dim, y, ld); });
}

void decode_kv_bf16_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows,
                            int64_t ld) {
  decode_rows_at(base, offsets, n, dim, rows, ld,
                 [&](const uint8_t* p, float* y) { decode_kv_bf16_rows(p, 1, dim, y, ld); });
}

void decode_kv_f32_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows,
                           int64_t ld) {
  decode_rows_at(base, offsets, n, dim, rows, ld,
                 [&](const uint8_t* p, float* y) { std::memcpy(y, p, static_cast<size_t>(dim) * sizeof(float)); });
}

}  // namespace dsv4k::ref

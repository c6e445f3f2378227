// Compact KV-cache rows: the byte formats the paged KV cache stores rows in, and the
// scalar reference codecs (spec §2.4.2, §2.4.5, §4.1).
//
// With the reference numerics every cached row is already a quantized value: the nope dims
// of attention rows went through simulate_e4m3 (block 64) and the rope dims are bf16; the
// indexer key rows went through hadamard128 + simulate_e2m1 (block 32). Such rows are stored
// here in exactly the bytes a production FP8 / FP4 cache uses, and decode(encode(row)) is
// bit-identical to the row (the argument is in kernels/ref/kv_row_ref.cpp). Rows that are not
// simulated (the fp32 comparison numerics) are merely quantized by these encoders, so the
// cache stores those in the bf16 or f32 row formats instead.
//
// Byte layouts (row r of n starts at out + r * row_bytes; multi-byte fields little-endian):
//
//  FP8 attention row, dim = nope + rope_dim, nope a multiple of 64 (512 = 448 + 64 -> 584 B):
//    [0, nope)                        e4m3 codes of the nope dims, code i = dim i
//    [nope, nope + 2 rope_dim)        rope dims as bf16 (round to nearest even), 2 bytes each
//    [.., + nope/64)                  E8M0 scale of nope block b (dims [64b, 64b+64)), 2^(e-127)
//    [.., kv_fp8_row_bytes)           zero pad to a multiple of 8 bytes
//  FP4 indexer row, dim a multiple of 32 (128 -> 68 B):
//    [0, dim/2)                       e2m1 codes, byte j = code(2j) | code(2j+1) << 4
//    [dim/2, dim/2 + dim/32)          E8M0 scale of block b (dims [32b, 32b+32))
//    [.., kv_fp4_row_bytes)           zero pad to a multiple of 4 bytes
//  bf16 row: dim × bf16 (round to nearest even; lossless exactly for bf16 values).
//
// Encoding a quantized block is ref::quantize_e4m3's rule (and its e2m1 twin): the scale is
// the power-of-two rule of spec §2.1 on the block's amax (NaN ignored, floors 1e-4 / 6·2^-126),
// codes = encode(clamp(x / s, ±max)), round to nearest even. One deviation keeps the byte
// valid: a non-finite amax (±inf in the block) clamps the scale exponent to 126 instead of
// producing the NaN scale byte 255. Decoding is code value · 2^(e-127) in fp32.
//
// The FP4 round trip of the smallest blocks produces fp32 subnormals (0.5 · 2^-126), as the
// simulation does: both assume the default floating-point environment (no FTZ / DAZ).
#pragma once

#include <cstdint>

namespace dsv4k {

constexpr int64_t kKvFp8Block = 64;   // nope dims per E8M0 scale
constexpr int64_t kKvFp4Block = 32;   // dims per E8M0 scale
constexpr int64_t kKvFp8RowAlign = 8;
constexpr int64_t kKvFp4RowAlign = 4;

// Shapes the formats can hold: nope = dim - rope_dim >= 0 a multiple of 64 (FP8); dim >= 0 a
// multiple of 32 (FP4). The codecs require these (callers validate; the backend checks).
constexpr bool kv_fp8_shape_ok(int64_t dim, int64_t rope_dim) {
  return rope_dim >= 0 && dim >= rope_dim && (dim - rope_dim) % kKvFp8Block == 0;
}
constexpr bool kv_fp4_shape_ok(int64_t dim) { return dim >= 0 && dim % kKvFp4Block == 0; }

// Offsets of the FP8 row's fields (see the layout above).
constexpr int64_t kv_fp8_rope_offset(int64_t dim, int64_t rope_dim) { return dim - rope_dim; }
constexpr int64_t kv_fp8_scale_offset(int64_t dim, int64_t rope_dim) { return dim + rope_dim; }

constexpr int64_t kv_fp8_row_bytes(int64_t dim, int64_t rope_dim) {
  const int64_t used = kv_fp8_scale_offset(dim, rope_dim) + (dim - rope_dim) / kKvFp8Block;
  return (used + kKvFp8RowAlign - 1) / kKvFp8RowAlign * kKvFp8RowAlign;
}

constexpr int64_t kv_fp4_scale_offset(int64_t dim) { return dim / 2; }

constexpr int64_t kv_fp4_row_bytes(int64_t dim) {
  const int64_t used = kv_fp4_scale_offset(dim) + dim / kKvFp4Block;
  return (used + kKvFp4RowAlign - 1) / kKvFp4RowAlign * kKvFp4RowAlign;
}

constexpr int64_t kv_bf16_row_bytes(int64_t dim) { return 2 * dim; }

// The formats of spec §4.1: 448 e4m3 + 64 bf16 + 7 E8M0 + 1 pad, and 64 B + 4 E8M0.
static_assert(kv_fp8_row_bytes(512, 64) == 584);
static_assert(kv_fp4_row_bytes(128) == 68);

namespace ref {

// rows [n, ld] (the first dim floats of each row are read) -> out [n, kv_fp8_row_bytes].
void encode_kv_fp8_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, uint8_t* out);
// in [n, kv_fp8_row_bytes] -> rows [n, ld] (the first dim floats of each row are written).
void decode_kv_fp8_rows(const uint8_t* in, int64_t n, int64_t dim, int64_t rope_dim, float* rows, int64_t ld);

// rows [n, ld] -> out [n, kv_fp4_row_bytes]; and back.
void encode_kv_fp4_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out);
void decode_kv_fp4_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld);

// rows [n, ld] -> out [n, 2 dim] (bf16, little-endian); and back.
void encode_kv_bf16_rows(const float* rows, int64_t n, int64_t ld, int64_t dim, uint8_t* out);
void decode_kv_bf16_rows(const uint8_t* in, int64_t n, int64_t dim, float* rows, int64_t ld);

// Decoding rows scattered in a pool (a paged cache; Backend::decode_kv_rows_at): row r of
// rows [n, ld] is the decode of the row at base + offsets[r] (byte offsets), or dim zeros
// (+0.0f) where offsets[r] < 0: an entry that selects no row (the indexer's -1, followed on
// the device without being read back). The fp32 format is a raw copy of dim floats.
void decode_kv_fp8_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, int64_t rope_dim,
                           float* rows, int64_t ld);
void decode_kv_fp4_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows,
                           int64_t ld);
void decode_kv_bf16_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows,
                            int64_t ld);
void decode_kv_f32_rows_at(const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, float* rows,
                           int64_t ld);

}  // namespace ref
}  // namespace dsv4k

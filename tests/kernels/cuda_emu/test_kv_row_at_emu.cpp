// The KV row codecs on rows scattered in a pool (the *_at launchers of kernels/cuda/kv_row.cuh,
// Backend::encode_kv_rows_at / decode_kv_rows_at), run on the host emulation. Row r lives at
// base + offsets[r]; the offsets are distinct slots of a pool, in shuffled order, with gaps
// between slots. Against the scalar reference on contiguous rows, bit for bit:
//   - encoding puts exactly the reference's bytes of row r at offsets[r] and leaves every other
//     byte of the pool as it was;
//   - decoding arbitrary pool bytes gives, for row r, the reference's decode of the bytes at
//     offsets[r], and leaves the gaps of the row-major output untouched;
//   - null offsets mean contiguous rows (the plain launchers are that case);
//   - a negative offset decodes to a row of zeros, as ref::decode_kv_*_rows_at;
// for every format (fp32 included: a raw copy of words), with odd dims and widths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "../test_kv_row_inputs.h"
#include "cuda/kv_row.cuh"
#include "dsv4k/kv_row.h"

namespace dsv4k {
namespace {

using kv_row_test::first_bit_difference;

constexpr uint8_t kByteSentinel = 0xA5;
constexpr float kFloatSentinel = -777.0f;

// One format at one shape: the launchers under test and the contiguous reference.
struct Codec {
  const char* name;
  int64_t dim;
  int64_t row_bytes;
  std::function<cudaError_t(const float*, int64_t, int64_t, uint8_t*, const int64_t*)> encode_at;
  std::function<cudaError_t(const uint8_t*, const int64_t*, int64_t, float*, int64_t)> decode_at;
  std::function<void(const float*, int64_t, int64_t, uint8_t*)> ref_encode;
  std::function<void(const uint8_t*, int64_t, float*, int64_t)> ref_decode;
  std::function<void(const uint8_t*, const int64_t*, int64_t, float*, int64_t)> ref_decode_at;
};

Codec fp8(int64_t dim, int64_t rope) {
  return {"fp8", dim, kv_fp8_row_bytes(dim, rope),
          [=](const float* x, int64_t n, int64_t ld, uint8_t* b, const int64_t* o) {
            return cuda::launch_encode_kv_fp8_rows_at(x, n, ld, dim, rope, b, o, nullptr);
          },
          [=](const uint8_t* b, const int64_t* o, int64_t n, float* y, int64_t ld) {
            return cuda::launch_decode_kv_fp8_rows_at(b, o, n, dim, rope, y, ld, nullptr);
          },
          [=](const float* x, int64_t n, int64_t ld, uint8_t* out) {
            ref::encode_kv_fp8_rows(x, n, ld, dim, rope, out);
          },
          [=](const uint8_t* in, int64_t n, float* y, int64_t ld) {
            ref::decode_kv_fp8_rows(in, n, dim, rope, y, ld);
          },
          [=](const uint8_t* b, const int64_t* o, int64_t n, float* y, int64_t ld) {
            ref::decode_kv_fp8_rows_at(b, o, n, dim, rope, y, ld);
          }};
}

Codec fp4(int64_t dim) {
  return {"fp4", dim, kv_fp4_row_bytes(dim),
          [=](const float* x, int64_t n, int64_t ld, uint8_t* b, const int64_t* o) {
            return cuda::launch_encode_kv_fp4_rows_at(x, n, ld, dim, b, o, nullptr);
          },
          [=](const uint8_t* b, const int64_t* o, int64_t n, float* y, int64_t ld) {
            return cuda::launch_decode_kv_fp4_rows_at(b, o, n, dim, y, ld, nullptr);
          },
          [=](const float* x, int64_t n, int64_t ld, uint8_t* out) { ref::encode_kv_fp4_rows(x, n, ld, dim, out); },
          [=](const uint8_t* in, int64_t n, float* y, int64_t ld) { ref::decode_kv_fp4_rows(in, n, dim, y, ld); },
          [=](const uint8_t* b, const int64_t* o, int64_t n, float* y, int64_t ld) {
            ref::decode_kv_fp4_rows_at(b, o, n, dim, y, ld);
          }};
}

Codec bf16(int64_t dim) {
  return {"bf16", dim, kv_bf16_row_bytes(dim),
          [=](const float* x, int64_t n, int64_t ld, uint8_t* b, const int64_t* o) {
            return cuda::launch_encode_kv_bf16_rows_at(x, n, ld, dim, b, o, nullptr);
          },
          [=](const uint8_t* b, const int64_t* o, int64_t n, float* y, int64_t ld) {
            return cuda::launch_decode_kv_bf16_rows_at(b, o, n, dim, y, ld, nullptr);
          },
          [=](const float* x, int64_t n, int64_t ld, uint8_t* out) { ref::encode_kv_bf16_rows(x, n, ld, dim, out); },
          [=](const uint8_t* in, int64_t n, float* y, int64_t ld) { ref::decode_kv_bf16_rows(in, n, dim, y, ld); },
          [=](const uint8_t* b, const int64_t* o, int64_t n, float* y, int64_t ld) {
            ref::decode_kv_bf16_rows_at(b, o, n, dim, y, ld);
          }};
}

// The fp32 "format" is the row's bytes: its reference is a copy.
Codec f32(int64_t dim) {
  const auto row = static_cast<size_t>(4 * dim);
  return {"f32", dim, 4 * dim,
          [=](const float* x, int64_t n, int64_t ld, uint8_t* b, const int64_t* o) {
            return cuda::launch_encode_kv_f32_rows_at(x, n, ld, dim, b, o, nullptr);
          },
          [=](const uint8_t* b, const int64_t* o, int64_t n, float* y, int64_t ld) {
            return cuda::launch_decode_kv_f32_rows_at(b, o, n, dim, y, ld, nullptr);
          },
          [=](const float* x, int64_t n, int64_t ld, uint8_t* out) {
            for (int64_t r = 0; r < n; ++r) std::memcpy(out + r * 4 * dim, x + r * ld, row);
          },
          [=](const uint8_t* in, int64_t n, float* y, int64_t ld) {
            for (int64_t r = 0; r < n; ++r) std::memcpy(y + r * ld, in + r * 4 * dim, row);
          },
          [=](const uint8_t* b, const int64_t* o, int64_t n, float* y, int64_t ld) {
            ref::decode_kv_f32_rows_at(b, o, n, dim, y, ld);
          }};
}

// The model's FP8 and FP4 rows, an odd rope width, an odd count of FP4 blocks, an odd bf16
// width (258-byte rows: the slots are padded to 4), an odd fp32 width.
std::vector<Codec> codecs() { return {fp8(512, 64), fp8(64 + 3, 3), fp4(128), fp4(160), bf16(129), f32(67)}; }

// n distinct slots of a pool of n + 5, in shuffled order, slot_bytes apart.
struct Pool {
  std::vector<int64_t> offsets;
  int64_t bytes;
};
Pool scattered(int64_t n, int64_t row_bytes, std::mt19937& rng) {
  const int64_t slot_bytes = (row_bytes + 3) / 4 * 4 + 12;  // a gap after every row
  std::vector<int64_t> slots(static_cast<size_t>(n + 5));
  std::iota(slots.begin(), slots.end(), 0);
  std::shuffle(slots.begin(), slots.end(), rng);
  Pool p{{}, (n + 5) * slot_bytes};
  for (int64_t r = 0; r < n; ++r) p.offsets.push_back(slots[static_cast<size_t>(r)] * slot_bytes);
  return p;
}

std::vector<float> rows_with_specials(int64_t n, int64_t ld, int64_t dim, uint64_t seed) {
  std::vector<float> x = kv_row_test::random_rows(n, ld, dim, 32, seed);
  x[static_cast<size_t>(ld + dim / 2)] = std::numeric_limits<float>::quiet_NaN();
  x[static_cast<size_t>(2 * ld)] = -std::numeric_limits<float>::infinity();
  return x;
}

constexpr int64_t kRows = 7;

TEST(CudaEmuKvRowAt, EncodeWritesTheReferenceRowsAtTheirOffsetsAndNothingElse) {
  std::mt19937 rng(31);
  uint64_t seed = 500;
  for (const Codec& c : codecs()) {
    SCOPED_TRACE(testing::Message() << c.name << " dim " << c.dim);
    const int64_t ld = c.dim + 3;
    const std::vector<float> x = rows_with_specials(kRows, ld, c.dim, ++seed);
    std::vector<uint8_t> rows(static_cast<size_t>(kRows * c.row_bytes));
    c.ref_encode(x.data(), kRows, ld, rows.data());
    const Pool p = scattered(kRows, c.row_bytes, rng);
    std::vector<uint8_t> want(static_cast<size_t>(p.bytes), kByteSentinel), got = want;
    for (int64_t r = 0; r < kRows; ++r)
      std::memcpy(want.data() + p.offsets[static_cast<size_t>(r)], rows.data() + r * c.row_bytes,
                  static_cast<size_t>(c.row_bytes));
    ASSERT_EQ(c.encode_at(x.data(), kRows, ld, got.data(), p.offsets.data()), cudaSuccess);
    ASSERT_EQ(got, want);
  }
}

TEST(CudaEmuKvRowAt, DecodeReadsEachRowFromItsOffset) {
  std::mt19937 rng(32);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const Codec& c : codecs()) {
    SCOPED_TRACE(testing::Message() << c.name << " dim " << c.dim);
    const int64_t ld = c.dim + 2;
    const Pool p = scattered(kRows, c.row_bytes, rng);
    std::vector<uint8_t> pool(static_cast<size_t>(p.bytes));  // arbitrary bytes: NaN codes and scales included
    for (auto& b : pool) b = static_cast<uint8_t>(byte(rng));
    std::vector<float> want(static_cast<size_t>(kRows * ld), kFloatSentinel), got = want;
    for (int64_t r = 0; r < kRows; ++r)
      c.ref_decode(pool.data() + p.offsets[static_cast<size_t>(r)], 1, want.data() + r * ld, ld);
    ASSERT_EQ(c.decode_at(pool.data(), p.offsets.data(), kRows, got.data(), ld), cudaSuccess);
    ASSERT_EQ(first_bit_difference(got.data(), want.data(), 1, kRows * ld, kRows * ld), -1);
  }
}

// The direct gather's unselected entries: a negative offset (-1, or any other) decodes to dim
// zeros (+0.0f) whatever the pool holds; the other rows still come from their offsets.
TEST(CudaEmuKvRowAt, NegativeOffsetsDecodeToZeroRows) {
  std::mt19937 rng(33);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const Codec& c : codecs()) {
    SCOPED_TRACE(testing::Message() << c.name << " dim " << c.dim);
    const int64_t ld = c.dim + 2;
    Pool p = scattered(kRows, c.row_bytes, rng);
    p.offsets[1] = -1;
    p.offsets[4] = -c.row_bytes;
    p.offsets[kRows - 1] = -1;
    std::vector<uint8_t> pool(static_cast<size_t>(p.bytes));
    for (auto& b : pool) b = static_cast<uint8_t>(byte(rng));
    std::vector<float> want(static_cast<size_t>(kRows * ld), kFloatSentinel), got = want;
    c.ref_decode_at(pool.data(), p.offsets.data(), kRows, want.data(), ld);
    ASSERT_EQ(c.decode_at(pool.data(), p.offsets.data(), kRows, got.data(), ld), cudaSuccess);
    ASSERT_EQ(first_bit_difference(got.data(), want.data(), 1, kRows * ld, kRows * ld), -1);
    // The reference's rule itself: zero rows there, the contiguous decode elsewhere.
    std::vector<float> row(static_cast<size_t>(c.dim));
    for (int64_t r = 0; r < kRows; ++r) {
      const int64_t off = p.offsets[static_cast<size_t>(r)];
      if (off >= 0) c.ref_decode(pool.data() + off, 1, row.data(), c.dim);
      if (off < 0) std::fill(row.begin(), row.end(), 0.0f);
      ASSERT_EQ(first_bit_difference(want.data() + r * ld, row.data(), 1, c.dim, c.dim), -1) << "row " << r;
    }
  }
}

TEST(CudaEmuKvRowAt, NullOffsetsMeanContiguousRows) {
  uint64_t seed = 600;
  for (const Codec& c : codecs()) {
    SCOPED_TRACE(testing::Message() << c.name << " dim " << c.dim);
    const int64_t n = 3, ld = c.dim + 1;
    const std::vector<float> x = rows_with_specials(n, ld, c.dim, ++seed);
    std::vector<uint8_t> want(static_cast<size_t>(n * c.row_bytes) + 8, kByteSentinel), got = want;
    c.ref_encode(x.data(), n, ld, want.data());
    ASSERT_EQ(c.encode_at(x.data(), n, ld, got.data(), nullptr), cudaSuccess);
    ASSERT_EQ(got, want);
    std::vector<float> y_want(static_cast<size_t>(n * ld), kFloatSentinel), y_got = y_want;
    c.ref_decode(want.data(), n, y_want.data(), ld);
    ASSERT_EQ(c.decode_at(want.data(), nullptr, n, y_got.data(), ld), cudaSuccess);
    ASSERT_EQ(first_bit_difference(y_got.data(), y_want.data(), 1, n * ld, n * ld), -1);
  }
}

TEST(CudaEmuKvRowAt, Fp32RowsNeedAWordAlignedBaseAndZeroRowsLaunchNothing) {
  std::vector<float> x(8, 1.0f);
  std::vector<uint8_t> pool(64, kByteSentinel);
  const int64_t offsets[] = {0, 32};
  EXPECT_EQ(cuda::launch_encode_kv_f32_rows_at(x.data(), 2, 4, 4, pool.data() + 2, offsets, nullptr),
            dsv4cu::kInvalidValue);
  EXPECT_EQ(cuda::launch_decode_kv_f32_rows_at(pool.data() + 1, offsets, 2, 4, x.data(), 4, nullptr),
            dsv4cu::kInvalidValue);
  for (const Codec& c : codecs()) EXPECT_EQ(c.encode_at(x.data(), 0, 4, pool.data(), offsets), cudaSuccess) << c.name;
  EXPECT_EQ(pool, std::vector<uint8_t>(64, kByteSentinel));
  EXPECT_EQ(x, std::vector<float>(8, 1.0f));
}

}  // namespace
}  // namespace dsv4k

// The CUDA KV row codecs (kernels/cuda/kv_row.cuh), run on the host emulation, against the
// scalar reference codecs: every encoded byte (pads included) and every decoded float bit
// must be identical, on random rows over many magnitudes, rounding ties, simulated rows, and
// rows holding NaN, ±inf, -0, saturating and sub-floor values; decoding is also checked on
// arbitrary bytes (NaN codes, the NaN scale 255, scale 0).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "../test_kv_row_inputs.h"
#include "cuda/kv_row.cuh"
#include "dsv4k/kv_row.h"
#include "dsv4k/numeric.h"

namespace dsv4k {
namespace {

using kv_row_test::first_bit_difference;
using kv_row_test::random_rows;

constexpr uint8_t kByteSentinel = 0xA5;
constexpr float kFloatSentinel = -777.0f;

// Sprinkles the values the codecs must treat exactly as the reference does: NaN (dropped from
// the amax, then clamped to -max), ±inf (scale exponent clamped to 126), -0, values far above
// the grid maximum, subnormals and values under the amax floor. One block per row also gets
// only NaN, one only zeros.
void add_specials(std::vector<float>& x, int64_t n, int64_t ld, int64_t n_cols, int64_t block, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            -0.0f,
                            3.0e38f,
                            -1.0e30f,
                            1.0e-40f,
                            -1.0e-45f,
                            5.0e-5f,
                            kE4M3AmaxFloor};
  std::uniform_int_distribution<size_t> pick(0, std::size(specials) - 1);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < n_cols; ++i)
      if (u(rng) < 0.02) x[static_cast<size_t>(r * ld + i)] = specials[pick(rng)];
  const int64_t n_blocks = n_cols / block;
  if (n_blocks < 2) return;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t nan_block = (r + 1) % n_blocks, zero_block = (r + 2) % n_blocks;
    for (int64_t i = 0; i < block; ++i) {
      x[static_cast<size_t>(r * ld + nan_block * block + i)] = std::numeric_limits<float>::quiet_NaN();
      x[static_cast<size_t>(r * ld + zero_block * block + i)] = (i % 2 != 0) ? -0.0f : 0.0f;
    }
  }
}

std::vector<uint8_t> random_bytes(size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(count);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

// Row counts: 1 and 17 rows for the model's shape, 3 for the others (the emulation spends
// ~10 ms per row: one 128-thread block each).
std::vector<int64_t> row_counts(bool model_shape) {
  return model_shape ? std::vector<int64_t>{1, 17} : std::vector<int64_t>{3};
}

enum class Input { kRandom, kSpecials, kSimulated };

std::vector<float> fp8_rows(int64_t n, int64_t ld, int64_t dim, int64_t rope_dim, Input input, uint64_t seed) {
  std::vector<float> x = random_rows(n, ld, dim, kKvFp8Block, seed);
  kv_row_test::add_tie_blocks(x, n, ld, dim - rope_dim, kKvFp8Block);
  if (input == Input::kSpecials) add_specials(x, n, ld, dim, kKvFp8Block, seed + 1);
  if (input == Input::kSimulated) kv_row_test::simulate_fp8_rows(x, n, ld, dim, rope_dim);
  return x;
}

std::vector<float> fp4_rows(int64_t n, int64_t ld, int64_t dim, Input input, uint64_t seed) {
  std::vector<float> x = random_rows(n, ld, dim, kKvFp4Block, seed);
  kv_row_test::add_tie_blocks(x, n, ld, dim, kKvFp4Block);
  if (input == Input::kSpecials) add_specials(x, n, ld, dim, kKvFp4Block, seed + 1);
  if (input == Input::kSimulated) kv_row_test::simulate_fp4_rows(x, n, ld, dim);
  return x;
}

struct Fp8Shape {
  int64_t dim, rope_dim;
};
// The model's 448 + 64 row; nope only; rope only; an odd rope width (the pad is not a
// multiple of anything); more scale blocks (9) than a CUDA block has warps.
constexpr Fp8Shape kFp8Shapes[] = {{512, 64}, {128, 0}, {16, 16}, {64 + 3, 3}, {9 * 64 + 64, 64}};

TEST(CudaEmuKvRow, Fp8EncodeAndDecodeMatchTheReferenceBitForBit) {
  uint64_t seed = 100;
  for (const Fp8Shape s : kFp8Shapes)
    for (const int64_t n : row_counts(s.dim == 512))
      for (const Input input : {Input::kRandom, Input::kSpecials, Input::kSimulated}) {
        ++seed;
        SCOPED_TRACE(testing::Message() << "dim " << s.dim << " rope " << s.rope_dim << " n " << n << " input "
                                        << static_cast<int>(input));
        const int64_t ld = s.dim + 5;
        const std::vector<float> x = fp8_rows(n, ld, s.dim, s.rope_dim, input, seed);
        const size_t bytes = static_cast<size_t>(n * kv_fp8_row_bytes(s.dim, s.rope_dim));
        std::vector<uint8_t> want(bytes, kByteSentinel), got(bytes, kByteSentinel);
        ref::encode_kv_fp8_rows(x.data(), n, ld, s.dim, s.rope_dim, want.data());
        ASSERT_EQ(cuda::launch_encode_kv_fp8_rows(x.data(), n, ld, s.dim, s.rope_dim, got.data(), nullptr),
                  cudaSuccess);
        ASSERT_EQ(got, want);

        std::vector<float> y_want(static_cast<size_t>(n * ld), kFloatSentinel), y_got = y_want;
        ref::decode_kv_fp8_rows(want.data(), n, s.dim, s.rope_dim, y_want.data(), ld);
        ASSERT_EQ(cuda::launch_decode_kv_fp8_rows(want.data(), n, s.dim, s.rope_dim, y_got.data(), ld, nullptr),
                  cudaSuccess);
        // ld columns: the gap after each row must stay untouched as well.
        ASSERT_EQ(first_bit_difference(y_got.data(), y_want.data(), 1, n * ld, n * ld), -1);
        if (input == Input::kSimulated) {  // the cache's premise: simulated rows survive the trip
          ASSERT_EQ(first_bit_difference(y_got.data(), x.data(), n, ld, s.dim), -1);
        }
      }
}

TEST(CudaEmuKvRow, Fp8DecodeOfArbitraryBytesMatchesTheReference) {
  for (const Fp8Shape s : kFp8Shapes) {
    const int64_t n = 5, ld = s.dim;
    const std::vector<uint8_t> in = random_bytes(static_cast<size_t>(n * kv_fp8_row_bytes(s.dim, s.rope_dim)), 7);
    std::vector<float> want(static_cast<size_t>(n * ld), kFloatSentinel), got = want;
    ref::decode_kv_fp8_rows(in.data(), n, s.dim, s.rope_dim, want.data(), ld);
    ASSERT_EQ(cuda::launch_decode_kv_fp8_rows(in.data(), n, s.dim, s.rope_dim, got.data(), ld, nullptr), cudaSuccess);
    EXPECT_EQ(first_bit_difference(got.data(), want.data(), n, ld, s.dim), -1) << s.dim << " " << s.rope_dim;
  }
}

// The model's 128-dim indexer row, one scale block, an odd count of blocks, more blocks than
// warps.
constexpr int64_t kFp4Dims[] = {128, 32, 160, 9 * 32};

TEST(CudaEmuKvRow, Fp4EncodeAndDecodeMatchTheReferenceBitForBit) {
  uint64_t seed = 200;
  for (const int64_t dim : kFp4Dims)
    for (const int64_t n : row_counts(dim == 128))
      for (const Input input : {Input::kRandom, Input::kSpecials, Input::kSimulated}) {
        ++seed;
        SCOPED_TRACE(testing::Message() << "dim " << dim << " n " << n << " input " << static_cast<int>(input));
        const int64_t ld = dim + 3;
        const std::vector<float> x = fp4_rows(n, ld, dim, input, seed);
        const size_t bytes = static_cast<size_t>(n * kv_fp4_row_bytes(dim));
        std::vector<uint8_t> want(bytes, kByteSentinel), got(bytes, kByteSentinel);
        ref::encode_kv_fp4_rows(x.data(), n, ld, dim, want.data());
        ASSERT_EQ(cuda::launch_encode_kv_fp4_rows(x.data(), n, ld, dim, got.data(), nullptr), cudaSuccess);
        ASSERT_EQ(got, want);

        std::vector<float> y_want(static_cast<size_t>(n * ld), kFloatSentinel), y_got = y_want;
        ref::decode_kv_fp4_rows(want.data(), n, dim, y_want.data(), ld);
        ASSERT_EQ(cuda::launch_decode_kv_fp4_rows(want.data(), n, dim, y_got.data(), ld, nullptr), cudaSuccess);
        ASSERT_EQ(first_bit_difference(y_got.data(), y_want.data(), 1, n * ld, n * ld), -1);
        if (input == Input::kSimulated) {
          ASSERT_EQ(first_bit_difference(y_got.data(), x.data(), n, ld, dim), -1);
        }
      }
}

TEST(CudaEmuKvRow, Fp4DecodeOfArbitraryBytesMatchesTheReference) {
  for (const int64_t dim : kFp4Dims) {
    const int64_t n = 5, ld = dim;
    const std::vector<uint8_t> in = random_bytes(static_cast<size_t>(n * kv_fp4_row_bytes(dim)), 8);
    std::vector<float> want(static_cast<size_t>(n * ld), kFloatSentinel), got = want;
    ref::decode_kv_fp4_rows(in.data(), n, dim, want.data(), ld);
    ASSERT_EQ(cuda::launch_decode_kv_fp4_rows(in.data(), n, dim, got.data(), ld, nullptr), cudaSuccess);
    EXPECT_EQ(first_bit_difference(got.data(), want.data(), n, ld, dim), -1) << dim;
  }
}

TEST(CudaEmuKvRow, Bf16EncodeAndDecodeMatchTheReferenceBitForBit) {
  uint64_t seed = 300;
  // dim 1 and 129: fewer and more dims than a block has threads.
  for (const int64_t dim : {int64_t{1}, int64_t{129}, int64_t{512}})
    for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{17}}) {
      ++seed;
      SCOPED_TRACE(testing::Message() << "dim " << dim << " n " << n);
      const int64_t ld = dim + 2;
      std::vector<float> x = random_rows(n, ld, dim, 0, seed);
      add_specials(x, n, ld, dim, dim, seed + 1);
      const size_t bytes = static_cast<size_t>(n * kv_bf16_row_bytes(dim));
      std::vector<uint8_t> want(bytes, kByteSentinel), got(bytes, kByteSentinel);
      ref::encode_kv_bf16_rows(x.data(), n, ld, dim, want.data());
      ASSERT_EQ(cuda::launch_encode_kv_bf16_rows(x.data(), n, ld, dim, got.data(), nullptr), cudaSuccess);
      ASSERT_EQ(got, want);

      const std::vector<uint8_t> in = random_bytes(bytes, seed);  // NaN and inf patterns included
      std::vector<float> y_want(static_cast<size_t>(n * ld), kFloatSentinel), y_got = y_want;
      ref::decode_kv_bf16_rows(in.data(), n, dim, y_want.data(), ld);
      ASSERT_EQ(cuda::launch_decode_kv_bf16_rows(in.data(), n, dim, y_got.data(), ld, nullptr), cudaSuccess);
      ASSERT_EQ(first_bit_difference(y_got.data(), y_want.data(), 1, n * ld, n * ld), -1);
    }
}

TEST(CudaEmuKvRow, ZeroRowsLaunchNothing) {
  uint8_t byte = kByteSentinel;
  float f = kFloatSentinel;
  EXPECT_EQ(cuda::launch_encode_kv_fp8_rows(&f, 0, 512, 512, 64, &byte, nullptr), cudaSuccess);
  EXPECT_EQ(cuda::launch_decode_kv_fp4_rows(&byte, 0, 128, &f, 128, nullptr), cudaSuccess);
  EXPECT_EQ(byte, kByteSentinel);
  EXPECT_EQ(f, kFloatSentinel);
}

}  // namespace
}  // namespace dsv4k

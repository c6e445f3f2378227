// The CUDA quantizers (kernels/cuda/quant.cuh), run through the host emulation, against
// dsv4k::ref::quantize_e4m3 / simulate_e4m3 / simulate_e2m1 / hadamard128. A block maximum is
// order-independent and the codecs are shared, and the Hadamard lanes perform the reference's
// very additions, so every comparison is bit-exact (codes, scales and values).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cuda/quant.cuh"
#include "dsv4k/quant.h"

namespace {

using dsv4k::Round;

// Rows of blocks whose magnitudes span many decades, with an all-zero block (the amax floor),
// values small enough to land in the e4m3 subnormals, and a NaN.
std::vector<float> quant_input(int64_t n_rows, int64_t ldx, int64_t block, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> decade(-8.0f, 8.0f);
  std::vector<float> x(static_cast<size_t>(n_rows * ldx));
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t b = 0; b * block < ldx; ++b) {
      const float mag = std::pow(10.0f, decade(rng));
      for (int64_t i = b * block; i < std::min(ldx, (b + 1) * block); ++i) {
        float v = normal(rng) * mag;
        if (i % 17 == 3) v *= 1e-4f;  // far below the block max: subnormal codes
        x[static_cast<size_t>(r * ldx + i)] = dsv4k::round_bf16(v);
      }
    }
  }
  for (int64_t i = 0; i < std::min(block, ldx); ++i) x[static_cast<size_t>(i)] = 0.0f;
  if (n_rows > 1) x[static_cast<size_t>(ldx + 1)] = std::numeric_limits<float>::quiet_NaN();
  return x;
}

void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0) << what << " index " << i << ": " << got[i]
                                                                  << " vs " << want[i];
  }
}

TEST(CudaEmuQuant, QuantizeE4m3MatchesReference) {
  std::mt19937 rng(11);
  // {block, rows, blocks per row}: the 128-blocks of a 4096-wide activation, then odd shapes.
  const int64_t cases[][3] = {{128, 1, 32}, {128, 17, 1}, {128, 3, 9}, {64, 3, 4}, {32, 17, 3}};
  for (const auto& c : cases) {
    const int64_t block = c[0], n_rows = c[1], n_blocks = c[2];
    const int64_t n_cols = n_blocks * block, ldx = n_cols + 8;
    const std::vector<float> x = quant_input(n_rows, ldx, block, rng);
    std::vector<uint8_t> q(static_cast<size_t>(n_rows * n_cols), 0xAA), q_want = q;
    std::vector<float> s(static_cast<size_t>(n_rows * n_blocks), -1.0f), s_want = s;
    ASSERT_EQ(dsv4k::cuda::launch_quantize_e4m3(x.data(), n_rows, n_cols, ldx, block, q.data(), s.data(), nullptr),
              cudaSuccess);
    dsv4k::ref::quantize_e4m3(x.data(), n_rows, n_cols, ldx, block, q_want.data(), s_want.data());
    ASSERT_EQ(q, q_want) << "block " << block << " rows " << n_rows << " blocks " << n_blocks;
    expect_same_bits(s, s_want, "scale");
  }
}

TEST(CudaEmuQuant, SimulateE4m3MatchesReference) {
  std::mt19937 rng(12);
  // {rows, block}: KV rows (448 nope dims in 7 blocks of 64, rows 512 apart, rope dims
  // untouched), then other block sizes, 16 leaving half of each warp idle.
  const int64_t cases[][2] = {{1, 64}, {17, 64}, {3, 128}, {3, 16}};
  for (const auto& c : cases) {
    const int64_t n_rows = c[0], block = c[1];
    const int64_t n_cols = block == 64 ? 448 : 2 * block, ldx = 512;
    std::vector<float> got = quant_input(n_rows, ldx, block, rng), want = got;
    ASSERT_EQ(dsv4k::cuda::launch_simulate_e4m3(got.data(), n_rows, n_cols, ldx, block, nullptr), cudaSuccess);
    dsv4k::ref::simulate_e4m3(want.data(), n_rows, n_cols, ldx, block);
    expect_same_bits(got, want, "simulate_e4m3");
  }
}

TEST(CudaEmuQuant, SimulateE2m1MatchesReference) {
  std::mt19937 rng(13);
  const int64_t cases[][2] = {{1, 32}, {17, 32}, {3, 64}, {3, 8}};  // {rows, block}
  for (const auto& c : cases) {
    const int64_t n_rows = c[0], block = c[1];
    const int64_t n_cols = 128, ldx = 136;
    std::vector<float> got = quant_input(n_rows, ldx, block, rng), want = got;
    ASSERT_EQ(dsv4k::cuda::launch_simulate_e2m1(got.data(), n_rows, n_cols, ldx, block, nullptr), cudaSuccess);
    dsv4k::ref::simulate_e2m1(want.data(), n_rows, n_cols, ldx, block);
    expect_same_bits(got, want, "simulate_e2m1");
  }
}

TEST(CudaEmuQuant, Hadamard128MatchesReference) {
  std::mt19937 rng(14);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (Round round : {Round::kNone, Round::kBf16}) {
    const int64_t cases[][2] = {{1, 128}, {5, 200}, {17, 128}};  // {vectors, ldx}
    for (const auto& c : cases) {
      const int64_t n_vec = c[0], ldx = c[1];
      std::vector<float> got(static_cast<size_t>(n_vec * ldx));
      for (auto& v : got) v = dsv4k::round_bf16(normal(rng) * 4.0f);
      std::vector<float> want = got;
      ASSERT_EQ(dsv4k::cuda::launch_hadamard128(got.data(), n_vec, ldx, round, nullptr), cudaSuccess);
      dsv4k::ref::hadamard128(want.data(), n_vec, ldx, round);
      expect_same_bits(got, want, "hadamard128");
    }
  }
}

// The transform of a unit vector e_i is the row (-1)^popcount(i&j)/sqrt(128): checks the
// Sylvester ordering independently of the reference.
TEST(CudaEmuQuant, Hadamard128OfUnitVectorsIsTheSylvesterRow) {
  const float norm = 1.0f / std::sqrt(128.0f);
  for (int i : {0, 1, 5, 64, 127}) {
    std::vector<float> x(128, 0.0f);
    x[static_cast<size_t>(i)] = 1.0f;
    dsv4k::cuda::launch_hadamard128(x.data(), 1, 128, Round::kNone, nullptr);
    for (int j = 0; j < 128; ++j) {
      const float sign = (__builtin_popcount(static_cast<unsigned>(i & j)) % 2) != 0 ? -1.0f : 1.0f;
      EXPECT_EQ(x[static_cast<size_t>(j)], sign * norm) << i << " " << j;
    }
  }
}

}  // namespace

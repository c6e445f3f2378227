// The CUDA RoPE (kernels/cuda/rope.cuh), run through the host emulation, against
// dsv4k::ref::rope_apply. Each output is the same two products and one sum as the reference,
// computed on the same table entries, so the comparison is bit-exact over the whole buffer
// (the dims outside the rope slices must be unchanged as well).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "cuda/rope.cuh"
#include "dsv4k/rope.h"

namespace {

using dsv4k::Round;

struct Case {
  int64_t n_rows, n_heads, ld_head, offset, n_freq;
};

void run_case(const Case& c, bool inverse, Round round, std::mt19937& rng) {
  const int64_t rope_dim = 2 * c.n_freq;
  std::vector<float> freqs(static_cast<size_t>(c.n_freq));
  const dsv4k::YarnParams yarn{16.0, 65536.0, 32.0, 1.0};
  dsv4k::ref::rope_frequencies(rope_dim, 160000.0, &yarn, freqs.data());
  std::uniform_int_distribution<int64_t> pos_dist(0, 1 << 20);
  std::vector<int64_t> positions(static_cast<size_t>(c.n_rows));
  for (auto& p : positions) p = pos_dist(rng);
  std::vector<float> cos_t(static_cast<size_t>(c.n_rows * c.n_freq)), sin_t(cos_t.size());
  dsv4k::ref::rope_table(positions.data(), c.n_rows, freqs.data(), c.n_freq, cos_t.data(), sin_t.data());

  const int64_t ld_row = c.n_heads * c.ld_head + 5;
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> got(static_cast<size_t>(c.n_rows * ld_row));
  for (auto& v : got) v = dsv4k::round_bf16(normal(rng));
  std::vector<float> want = got;
  ASSERT_EQ(dsv4k::cuda::launch_rope_apply(got.data(), c.n_rows, ld_row, c.n_heads, c.ld_head, c.offset, cos_t.data(),
                                           sin_t.data(), c.n_freq, inverse, round, nullptr),
            cudaSuccess);
  dsv4k::ref::rope_apply(want.data(), c.n_rows, ld_row, c.n_heads, c.ld_head, c.offset, cos_t.data(), sin_t.data(),
                         c.n_freq, inverse, round);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "index " << i << " rows " << c.n_rows << " heads " << c.n_heads << " n_freq "
                               << c.n_freq << " inverse " << inverse;
  }
}

TEST(CudaEmuRope, MatchesReferenceBitForBit) {
  std::mt19937 rng(42);
  const Case cases[] = {
      {1, 64, 512, 448, 32},  // decode: q heads, rope on the trailing 64 dims
      {3, 1, 512, 448, 32},   // kv rows
      {17, 3, 512, 448, 32},
      {17, 2, 13, 3, 5},      // odd sizes: 5 pairs at offset 3 of 13-wide heads
      {3, 7, 128, 64, 32},    // indexer-like heads of 128
  };
  for (Round round : {Round::kNone, Round::kBf16})
    for (bool inverse : {false, true})
      for (const Case& c : cases) run_case(c, inverse, round, rng);
}

// Forward then inverse without rounding returns the input up to fp32 rounding: a guard against
// a kernel that ignores `inverse` (both directions equal) while matching some other contract.
TEST(CudaEmuRope, InverseUndoesForward) {
  const int64_t n_freq = 32, ld = 64;
  std::vector<float> freqs(n_freq), cos_t(n_freq), sin_t(n_freq);
  dsv4k::ref::rope_frequencies(2 * n_freq, 10000.0, nullptr, freqs.data());
  const int64_t pos = 1000;
  dsv4k::ref::rope_table(&pos, 1, freqs.data(), n_freq, cos_t.data(), sin_t.data());
  std::vector<float> x(ld);
  for (int64_t i = 0; i < ld; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i % 7) - 3.0f;
  std::vector<float> y = x;
  dsv4k::cuda::launch_rope_apply(y.data(), 1, ld, 1, ld, 0, cos_t.data(), sin_t.data(), n_freq, false, Round::kNone,
                                 nullptr);
  bool moved = false;
  for (size_t i = 0; i < x.size(); ++i) moved = moved || y[i] != x[i];
  EXPECT_TRUE(moved);
  dsv4k::cuda::launch_rope_apply(y.data(), 1, ld, 1, ld, 0, cos_t.data(), sin_t.data(), n_freq, true, Round::kNone,
                                 nullptr);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-5f) << i;
}

}  // namespace

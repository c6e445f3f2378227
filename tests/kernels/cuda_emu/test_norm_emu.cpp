// The CUDA RMS norms (kernels/cuda/norm.cuh), run through the host emulation, against
// dsv4k::ref::rmsnorm / head_rmsnorm on random inputs, odd widths and strided rows.
//
// Tolerance: both sides sum the squares in double, in different orders. The squares are exact
// in double, so the two sums differ by ~1e-13 relative and the fp32 mean (hence every output of
// the row) can only differ when it lies within that distance of an fp32 rounding boundary: then
// by one ulp of the output format. A row (or head) may therefore differ by at most 1 ulp, and at
// most one row per case may differ at all; in practice none does. A float accumulator or any
// change to the rounding sequence moves most rows and fails.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "cuda/norm.cuh"
#include "dsv4k/norm.h"

namespace {

using dsv4k::Round;

// Distance between two values in units in the last place of the output format.
int64_t ulp_distance(float a, float b, Round round) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  auto key = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    const int64_t mag = static_cast<int64_t>(u & 0x7FFFFFFFu);
    return (u & 0x80000000u) != 0u ? -mag : mag;
  };
  const int64_t d = std::abs(key(a) - key(b));
  return round == Round::kBf16 ? d / 65536 + (d % 65536 != 0 ? 1 : 0) : d;
}

// Compares `n_groups` groups of `len` values `ld` apart (rows, or heads); returns how many differ.
int count_differing_groups(const std::vector<float>& got, const std::vector<float>& want, int64_t n_groups,
                           int64_t len, int64_t ld, Round round, const char* what) {
  int differing = 0;
  for (int64_t g = 0; g < n_groups; ++g) {
    bool differs = false;
    for (int64_t i = 0; i < len; ++i) {
      const float a = got[static_cast<size_t>(g * ld + i)], b = want[static_cast<size_t>(g * ld + i)];
      const int64_t d = ulp_distance(a, b, round);
      EXPECT_LE(d, 1) << what << " group " << g << " index " << i << ": " << a << " vs " << b;
      if (d != 0) differs = true;
    }
    differing += differs ? 1 : 0;
  }
  return differing;
}

// Values with a per-row magnitude spread over six decades, as activations have.
void fill_rows(std::vector<float>& x, int64_t n_rows, int64_t ld, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> decade(-3.0f, 3.0f);
  for (int64_t r = 0; r < n_rows; ++r) {
    const float mag = std::pow(10.0f, decade(rng));
    for (int64_t i = 0; i < ld; ++i) x[static_cast<size_t>(r * ld + i)] = dsv4k::round_bf16(normal(rng) * mag);
  }
}

TEST(CudaEmuNorm, RmsnormMatchesReference) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (Round round : {Round::kNone, Round::kBf16}) {
    // The emulation runs ~10-40 ms a block (one block a row): few rows at the real widths.
    const std::pair<int64_t, int64_t> cases[] = {{1, 4096}, {2, 1024}, {3, 513}, {17, 31}, {3, 1}, {17, 100}};
    for (const auto& [n_rows, dim] : cases) {
      const int64_t ldx = dim + 3, ldy = dim + 5;
      std::vector<float> x(static_cast<size_t>(n_rows * ldx));
      fill_rows(x, n_rows, ldx, rng);
      std::vector<uint16_t> w(static_cast<size_t>(dim));
      for (auto& v : w) v = dsv4k::f32_to_bf16(1.0f + 0.25f * normal(rng));
      const float sentinel = -12345.0f;  // the gaps between rows must stay untouched
      std::vector<float> got(static_cast<size_t>(n_rows * ldy), sentinel), want = got;
      ASSERT_EQ(dsv4k::cuda::launch_rmsnorm(x.data(), n_rows, dim, ldx, w.data(), 1e-6f, got.data(), ldy, round,
                                            nullptr),
                cudaSuccess);
      dsv4k::ref::rmsnorm(x.data(), n_rows, dim, ldx, w.data(), 1e-6f, want.data(), ldy, round);
      const int differing = count_differing_groups(got, want, n_rows, ldy, ldy, round, "rmsnorm");
      EXPECT_LE(differing, 1) << "rows " << n_rows << " dim " << dim;
    }
  }
}

TEST(CudaEmuNorm, HeadRmsnormMatchesReferenceRoundingSequence) {
  std::mt19937 rng(99);
  for (Round round : {Round::kNone, Round::kBf16}) {
    // {rows, heads, head_dim}: decode q (64 heads of 512), then odd shapes.
    const int64_t cases[][3] = {{1, 64, 512}, {3, 5, 512}, {17, 1, 33}, {3, 5, 100}, {17, 2, 512}};
    for (const auto& c : cases) {
      const int64_t n_rows = c[0], n_heads = c[1], head_dim = c[2];
      const int64_t ldx = n_heads * head_dim + 7;
      std::vector<float> got(static_cast<size_t>(n_rows * ldx));
      fill_rows(got, n_rows, ldx, rng);
      std::vector<float> want = got;
      ASSERT_EQ(dsv4k::cuda::launch_head_rmsnorm(got.data(), n_rows, n_heads, head_dim, ldx, 1e-6f, round,
                                                 nullptr),
                cudaSuccess);
      dsv4k::ref::head_rmsnorm(want.data(), n_rows, n_heads, head_dim, ldx, 1e-6f, round);
      // Heads as groups of head_dim; the 7 padding values of each row must be unchanged too.
      int differing = 0;
      for (int64_t r = 0; r < n_rows; ++r) {
        std::vector<float> g(got.begin() + r * ldx, got.begin() + (r + 1) * ldx);
        std::vector<float> w(want.begin() + r * ldx, want.begin() + (r + 1) * ldx);
        differing += count_differing_groups(g, w, n_heads, head_dim, head_dim, round, "head_rmsnorm");
        for (int64_t i = n_heads * head_dim; i < ldx; ++i) {
          EXPECT_EQ(g[static_cast<size_t>(i)], w[static_cast<size_t>(i)]);
        }
      }
      EXPECT_LE(differing, 1) << "rows " << n_rows << " heads " << n_heads << " head_dim " << head_dim;
    }
  }
}

// With bf16 rounding the four intermediate roundings matter: an input whose plain-fp32 result
// differs from the bf16-sequence result must come out as the reference's sequence says.
TEST(CudaEmuNorm, HeadRmsnormBf16DiffersFromFp32AndFollowsReference) {
  std::mt19937 rng(7);
  const int64_t n_rows = 2, n_heads = 3, head_dim = 512, ldx = n_heads * head_dim;
  std::vector<float> x(static_cast<size_t>(n_rows * ldx));
  fill_rows(x, n_rows, ldx, rng);
  std::vector<float> bf = x, fp = x, want = x;
  dsv4k::cuda::launch_head_rmsnorm(bf.data(), n_rows, n_heads, head_dim, ldx, 1e-6f, Round::kBf16, nullptr);
  dsv4k::cuda::launch_head_rmsnorm(fp.data(), n_rows, n_heads, head_dim, ldx, 1e-6f, Round::kNone, nullptr);
  dsv4k::ref::head_rmsnorm(want.data(), n_rows, n_heads, head_dim, ldx, 1e-6f, Round::kBf16);
  int differs_from_fp32 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(bf[i], want[i]) << i;
    differs_from_fp32 += dsv4k::round_bf16(fp[i]) != bf[i] ? 1 : 0;
  }
  EXPECT_GT(differs_from_fp32, 0);
}

TEST(CudaEmuNorm, EmptyLaunchesAreNoOps) {
  float x = 1.0f, y = 2.0f;
  uint16_t w = 0x3F80;
  EXPECT_EQ(dsv4k::cuda::launch_rmsnorm(&x, 0, 4, 4, &w, 1e-6f, &y, 4, Round::kBf16, nullptr), cudaSuccess);
  EXPECT_EQ(dsv4k::cuda::launch_head_rmsnorm(&x, 0, 1, 1, 1, 1e-6f, Round::kBf16, nullptr), cudaSuccess);
  EXPECT_EQ(y, 2.0f);
}

}  // namespace

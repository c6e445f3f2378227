// The CUDA elementwise ops (kernels/cuda/elementwise.cuh), run through the host emulation,
// against dsv4k::ref::scale / add / moe_combine / swiglu and a plain embedding loop. Every
// kernel computes each output with the reference's operations in the reference's order (the
// emulation's expf is the host's, as in the reference), so all comparisons are bit-exact,
// NaN compared as NaN. On a GPU, swiglu's expf is not correctly rounded: a GPU test of it
// needs a few-ulp tolerance, not these tests.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "cuda/elementwise.cuh"
#include "dsv4k/elementwise.h"
#include "dsv4k/moe.h"

namespace {

using dsv4k::Round;

std::vector<float> random_values(size_t n, float sigma, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dsv4k::round_bf16(normal(rng));
  return v;
}

void expect_same(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << what << " index " << i;
    } else {
      ASSERT_EQ(got[i], want[i]) << what << " index " << i;
    }
  }
}

const int64_t kSizes[] = {1, 255, 257, 3000};

TEST(CudaEmuElementwise, ScaleMatchesReference) {
  std::mt19937 rng(1);
  for (Round round : {Round::kNone, Round::kBf16}) {
    for (int64_t n : kSizes) {
      std::vector<float> got = random_values(static_cast<size_t>(n) + 3, 3.0f, rng), want = got;
      // n of the n + 3 values: the tail must stay as it was.
      ASSERT_EQ(dsv4k::cuda::launch_scale(got.data(), n, 0.1f, round, nullptr), cudaSuccess);
      dsv4k::ref::scale(want.data(), n, 0.1f, round);
      expect_same(got, want, "scale");
    }
  }
}

TEST(CudaEmuElementwise, AddMatchesReferenceAlsoInPlace) {
  std::mt19937 rng(2);
  for (Round round : {Round::kNone, Round::kBf16}) {
    for (int64_t n : kSizes) {
      const size_t sz = static_cast<size_t>(n) + 3;
      std::vector<float> a = random_values(sz, 1.0f, rng), b = random_values(sz, 1e-3f, rng);
      std::vector<float> got(sz, -1.0f), want(sz, -1.0f);
      ASSERT_EQ(dsv4k::cuda::launch_add(a.data(), b.data(), got.data(), n, round, nullptr), cudaSuccess);
      dsv4k::ref::add(a.data(), b.data(), want.data(), n, round);
      expect_same(got, want, "add");
      // out aliasing a (the residual update).
      std::vector<float> a2 = a, a3 = a;
      dsv4k::cuda::launch_add(a2.data(), b.data(), a2.data(), n, round, nullptr);
      dsv4k::ref::add(a3.data(), b.data(), a3.data(), n, round);
      expect_same(a2, a3, "add in place");
    }
  }
}

TEST(CudaEmuElementwise, MoeCombineMatchesReference) {
  std::mt19937 rng(3);
  for (Round round : {Round::kNone, Round::kBf16}) {
    const int64_t cases[][3] = {{1, 6, 1000}, {3, 1, 100}, {17, 6, 100}, {2, 6, 1}};  // {n, k, d}
    for (const auto& c : cases) {
      const int64_t n = c[0], k = c[1], d = c[2];
      std::vector<float> experts = random_values(static_cast<size_t>(n * k * d), 0.5f, rng);
      std::vector<float> shared = random_values(static_cast<size_t>(n * d), 0.5f, rng);
      std::vector<float> got(static_cast<size_t>(n * d), -1.0f), want = got;
      ASSERT_EQ(dsv4k::cuda::launch_moe_combine(experts.data(), shared.data(), n, k, d, got.data(), round,
                                                nullptr),
                cudaSuccess);
      dsv4k::ref::moe_combine(experts.data(), shared.data(), n, k, d, want.data(), round);
      expect_same(got, want, "moe_combine");
    }
  }
}

TEST(CudaEmuElementwise, SwigluMatchesReferenceWithClampsAndNaN) {
  std::mt19937 rng(4);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Round round : {Round::kNone, Round::kBf16}) {
    // {n, inter, weighted}
    const int64_t cases[][3] = {{1, 2048, 1}, {3, 100, 0}, {17, 100, 1}, {2, 1, 1}, {17, 37, 0}};
    for (const auto& c : cases) {
      const int64_t n = c[0], inter = c[1];
      const bool weighted = c[2] != 0;
      const int64_t ld = inter + 4, ldh = inter + 2;
      // sigma 8 with limit 10: many values are clamped on each side.
      std::vector<float> g = random_values(static_cast<size_t>(n * ld), 8.0f, rng);
      std::vector<float> u = random_values(static_cast<size_t>(n * ld), 8.0f, rng);
      g[0] = nan;
      if (inter > 1) u[1] = nan;
      std::vector<float> w = random_values(static_cast<size_t>(n), 0.3f, rng);
      const float* wp = weighted ? w.data() : nullptr;
      std::vector<float> got(static_cast<size_t>(n * ldh), -1.0f), want = got;
      ASSERT_EQ(dsv4k::cuda::launch_swiglu(g.data(), u.data(), n, inter, ld, wp, 10.0f, got.data(), ldh, round,
                                           nullptr),
                cudaSuccess);
      dsv4k::ref::swiglu(g.data(), u.data(), n, inter, ld, wp, 10.0f, want.data(), ldh, round);
      expect_same(got, want, "swiglu");
    }
  }
}

TEST(CudaEmuElementwise, EmbedGathersRows) {
  std::mt19937 rng(5);
  const int64_t vocab = 1000;
  const int64_t cases[][2] = {{4096, 2}, {100, 17}, {1, 3}};  // {dim, n}
  for (const auto& c : cases) {
    const int64_t dim = c[0];
    std::vector<uint16_t> table(static_cast<size_t>(vocab * dim));
    for (auto& v : table) v = dsv4k::f32_to_bf16(std::normal_distribution<float>(0.0f, 1.0f)(rng));
    const int64_t n = c[1];
    std::vector<int32_t> tokens(static_cast<size_t>(n));
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(vocab - 1));
    for (auto& t : tokens) t = tok(rng);
    tokens[0] = static_cast<int32_t>(vocab - 1);
    if (n > 1) tokens[1] = 0;
    std::vector<float> got(static_cast<size_t>(n * dim), -1.0f);
    ASSERT_EQ(dsv4k::cuda::launch_embed(table.data(), dim, tokens.data(), n, got.data(), nullptr), cudaSuccess);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < dim; ++i) {
        const float want = dsv4k::bf16_to_f32(table[static_cast<size_t>(tokens[static_cast<size_t>(t)] * dim + i)]);
        ASSERT_EQ(got[static_cast<size_t>(t * dim + i)], want) << "token " << t << " dim " << i;
      }
    }
  }
}

TEST(CudaEmuElementwise, EmptyLaunchesAreNoOps) {
  float x = 3.0f;
  EXPECT_EQ(dsv4k::cuda::launch_scale(&x, 0, 2.0f, Round::kNone, nullptr), cudaSuccess);
  EXPECT_EQ(dsv4k::cuda::launch_add(&x, &x, &x, 0, Round::kNone, nullptr), cudaSuccess);
  EXPECT_EQ(dsv4k::cuda::launch_moe_combine(&x, &x, 0, 6, 4, &x, Round::kNone, nullptr), cudaSuccess);
  EXPECT_EQ(dsv4k::cuda::launch_swiglu(&x, &x, 0, 4, 4, nullptr, 10.0f, &x, 4, Round::kNone, nullptr), cudaSuccess);
  EXPECT_EQ(x, 3.0f);
}

}  // namespace

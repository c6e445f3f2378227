// The CUDA hyper-connection kernels (kernels/cuda/hc.cuh), run on the host emulation, against
// dsv4k::ref::hc_mix / hc_pre_finish / hc_post / hc_head_finish, with Round::kNone and kBf16,
// the model's hc 4 × dim 4096 and odd shapes (hc 2 and 3, dims that are not multiples of the
// block size).
//
// Exactness: hc_pre_finish, hc_post and hc_head_finish follow the reference's order of fp32
// operations and must match bit for bit. Their one reordered sum, the fp64 Σv² of the stream
// norm, is made order-free by the inputs: the streams are bf16 values with magnitudes in
// [2^-4, 2^4) (or 0), so every value is a multiple of 2^-11, every square a multiple of 2^-22
// below 2^8, and any sum of up to 2^14 squares a multiple of 2^-22 below 2^22: exact in fp64
// (44 bits) in any order. (The
// model's streams are bf16 too; on wider ranges the tree sum could move r by an ulp.)
// hc_mix keeps fp32 weights, so its fp64 sums really differ in order: see MixMatches...
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "cuda/hc.cuh"
#include "dsv4k/hc.h"
#include "dsv4k/numeric.h"

namespace dsv4k {
namespace {

// bf16 values, magnitude in [2^-4, 2^4) or exactly 0 (see the header comment).
std::vector<float> stream_values(size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> v(count);
  for (auto& x : v) {
    const float a = round_bf16(normal(rng));
    const float mag = std::fabs(a) < 0.01f ? 0.0f : std::fmin(std::fmax(std::fabs(a), 0.0625f), 15.875f);
    x = std::copysign(mag, a);
  }
  return v;
}

std::vector<float> normal_values(size_t count, float sigma, float mean, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(mean, sigma);
  std::vector<float> v(count);
  for (auto& x : v) x = normal(rng);
  return v;
}

std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> b(v.size());
  std::memcpy(b.data(), v.data(), v.size() * sizeof(float));
  return b;
}

HcParams params(int64_t hc, int64_t dim) {
  HcParams p;
  p.hc = hc;
  p.dim = dim;
  return p;
}

struct Case {
  int64_t hc, dim, n;
};
// The model's shape (one token: the emulation spends ~10-50 ms per 256-thread block), then
// odd dims, stream counts and token counts.
// hc 6 (36 comb entries) takes the kernel's one-thread Sinkhorn instead of the warp's.
constexpr Case kCases[] = {{4, 4096, 1}, {4, 67, 3}, {2, 257, 2}, {3, 5, 5}, {6, 7, 2}};

// Everything one token batch of a hyper-connection site needs, from the reference.
struct Site {
  HcParams p;
  int64_t n, n_mix, width;
  std::vector<float> X, fn, mix, scale, base;

  Site(const Case& c, int64_t mix_rows, uint64_t seed)
      : p(params(c.hc, c.dim)), n(c.n), n_mix(mix_rows), width(c.hc * c.dim) {
    X = stream_values(static_cast<size_t>(n * width), seed);
    // fn rows of norm ~1 (the mix is then O(rms(X))) so that the sigmoids and the softmax
    // see logits of order 1 after the r scaling, not saturated ones.
    fn = normal_values(static_cast<size_t>(n_mix * width), 1.0f / std::sqrt(static_cast<float>(width)), 0.0f,
                       seed + 1);
    mix.resize(static_cast<size_t>(n * n_mix));
    ref::hc_mix(X.data(), n, p, fn.data(), n_mix, mix.data());
    scale = normal_values(3, 0.5f, 1.0f, seed + 2);
    base = normal_values(static_cast<size_t>(n_mix), 1.0f, 0.0f, seed + 3);
  }
};

// The fp64 sums of the kernel (tree) and the reference (sequential) each lie within
// width·2^-53·S of the exact sum, S = Σ|fn·x|; so the fp32 results differ by at most one
// fp32 rounding of the result (|want|·2^-23) plus 2·width·2^-53·S (<= 2^-37·S for width
// <= 2^14). Almost all come out identical; a sum that was not the same dot product (a skipped
// or doubled term, a wrong row) is off by far more.
TEST(CudaEmuHc, MixMatchesTheReferenceWithinTheFp64ReorderingBound) {
  uint64_t seed = 10;
  for (const Case& c : kCases) {
    const int64_t n_mix = (2 + c.hc) * c.hc;
    SCOPED_TRACE(testing::Message() << "hc " << c.hc << " dim " << c.dim << " n " << c.n);
    Site s(c, n_mix, seed += 10);
    // General fp32 streams here: the mix needs no exactness trick.
    s.X = normal_values(s.X.size(), 1.0f, 0.0f, seed + 5);
    std::vector<float> want(static_cast<size_t>(c.n * n_mix)), got(want.size(), -1.0f);
    ref::hc_mix(s.X.data(), c.n, s.p, s.fn.data(), n_mix, want.data());
    ASSERT_EQ(cuda::launch_hc_mix(s.X.data(), c.n, s.p, s.fn.data(), n_mix, got.data(), nullptr), cudaSuccess);
    int64_t identical = 0;
    for (int64_t t = 0; t < c.n; ++t)
      for (int64_t m = 0; m < n_mix; ++m) {
        double sum_abs = 0.0;
        for (int64_t i = 0; i < s.width; ++i)
          sum_abs += std::fabs(static_cast<double>(s.fn[static_cast<size_t>(m * s.width + i)]) *
                               s.X[static_cast<size_t>(t * s.width + i)]);
        const size_t k = static_cast<size_t>(t * n_mix + m);
        const double tol = std::fabs(static_cast<double>(want[k])) * 0x1p-23 + sum_abs * 0x1p-37;
        EXPECT_LE(std::fabs(static_cast<double>(got[k]) - want[k]), tol) << "token " << t << " row " << m;
        identical += got[k] == want[k] ? 1 : 0;
      }
    EXPECT_GE(identical * 10, c.n * n_mix * 9);
  }
}

TEST(CudaEmuHc, PreFinishMatchesTheReferenceBitForBit) {
  uint64_t seed = 100;
  for (const Case& c : kCases)
    for (const auto& [round, iters] : {std::pair{Round::kNone, int64_t{20}}, std::pair{Round::kBf16, int64_t{20}},
                                       std::pair{Round::kNone, int64_t{1}}}) {
      if (iters == 1 && c.n > 2) continue;  // the single-pass schedule: small batches suffice
      SCOPED_TRACE(testing::Message() << "hc " << c.hc << " dim " << c.dim << " n " << c.n << " bf16 "
                                      << (round == Round::kBf16) << " iters " << iters);
      Site s(c, (2 + c.hc) * c.hc, seed += 10);
      s.p.sinkhorn_iters = iters;
      const size_t ny = static_cast<size_t>(c.n * c.dim), npost = static_cast<size_t>(c.n * c.hc),
                   ncomb = static_cast<size_t>(c.n * c.hc * c.hc);
      std::vector<float> y_want(ny), post_want(npost), comb_want(ncomb);
      std::vector<float> y_got(ny, -1.0f), post_got(npost, -1.0f), comb_got(ncomb, -1.0f);
      ref::hc_pre_finish(s.X.data(), c.n, s.p, s.mix.data(), s.scale.data(), s.base.data(), y_want.data(),
                         post_want.data(), comb_want.data(), round);
      ASSERT_EQ(cuda::launch_hc_pre_finish(s.X.data(), c.n, s.p, s.mix.data(), s.scale.data(), s.base.data(),
                                           y_got.data(), post_got.data(), comb_got.data(), round, nullptr),
                cudaSuccess);
      EXPECT_EQ(bits_of(post_got), bits_of(post_want));
      EXPECT_EQ(bits_of(comb_got), bits_of(comb_want));
      EXPECT_EQ(bits_of(y_got), bits_of(y_want));
    }
}

TEST(CudaEmuHc, PostMatchesTheReferenceBitForBit) {
  uint64_t seed = 200;
  for (const Case& c : kCases)
    for (const Round round : {Round::kNone, Round::kBf16}) {
      SCOPED_TRACE(testing::Message() << "hc " << c.hc << " dim " << c.dim << " n " << c.n << " bf16 "
                                      << (round == Round::kBf16));
      const HcParams p = params(c.hc, c.dim);
      const size_t width = static_cast<size_t>(c.hc * c.dim);
      const std::vector<float> X = normal_values(static_cast<size_t>(c.n) * width, 1.0f, 0.0f, seed += 10);
      const std::vector<float> o = normal_values(static_cast<size_t>(c.n * c.dim), 1.0f, 0.0f, seed + 1);
      const std::vector<float> post = normal_values(static_cast<size_t>(c.n * c.hc), 0.5f, 1.0f, seed + 2);
      // A non-symmetric comb: a kernel that read C[b][a] instead of C[a][b] would differ.
      const std::vector<float> comb = normal_values(static_cast<size_t>(c.n * c.hc * c.hc), 0.3f, 0.25f, seed + 3);
      std::vector<float> want(static_cast<size_t>(c.n) * width), got(want.size(), -1.0f);
      ref::hc_post(o.data(), X.data(), post.data(), comb.data(), c.n, p, want.data(), round);
      ASSERT_EQ(cuda::launch_hc_post(o.data(), X.data(), post.data(), comb.data(), c.n, p, got.data(), round, nullptr),
                cudaSuccess);
      EXPECT_EQ(bits_of(got), bits_of(want));
    }
}

TEST(CudaEmuHc, HeadFinishMatchesTheReferenceBitForBit) {
  uint64_t seed = 300;
  for (const Case& c : kCases)
    for (const Round round : {Round::kNone, Round::kBf16}) {
      SCOPED_TRACE(testing::Message() << "hc " << c.hc << " dim " << c.dim << " n " << c.n << " bf16 "
                                      << (round == Round::kBf16));
      Site s(c, c.hc, seed += 10);
      std::vector<float> want(static_cast<size_t>(c.n * c.dim)), got(want.size(), -1.0f);
      ref::hc_head_finish(s.X.data(), c.n, s.p, s.mix.data(), s.scale.data(), s.base.data(), want.data(), round);
      ASSERT_EQ(cuda::launch_hc_head_finish(s.X.data(), c.n, s.p, s.mix.data(), s.scale.data(), s.base.data(),
                                            got.data(), round, nullptr),
                cudaSuccess);
      EXPECT_EQ(bits_of(got), bits_of(want));
    }
}

}  // namespace
}  // namespace dsv4k

// The SIMT lightning indexer (kernels/cuda/indexer.cuh) against dsv4k::ref::indexer_scores and
// dsv4k::ref::topk_rows, run through the host emulation of CUDA.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "cuda/indexer.cuh"
#include "dsv4k/indexer.h"
#include "dsv4k/numeric.h"
#include "emu_test_util.h"

namespace {

using dsv4k::Round;
using dsv4k::emu_test::bf16_normal;
using dsv4k::emu_test::bf16_ulp;
using dsv4k::emu_test::kU;

// ---- indexer_scores ------------------------------------------------------------------------

void run_scores(int64_t n_q, int64_t n_heads, int64_t d, int64_t n_keys, std::vector<int64_t> n_visible,
                uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "n_q=" << n_q << " heads=" << n_heads << " d=" << d << " n_keys=" << n_keys
                                    << " seed=" << seed);
  ASSERT_EQ(static_cast<int64_t>(n_visible.size()), n_q);
  std::mt19937 rng(static_cast<unsigned>(seed));
  const int64_t ldq = n_heads * d + 7;
  const auto q = bf16_normal(static_cast<size_t>(n_q * ldq), rng, 1.0f);
  const auto keys = bf16_normal(static_cast<size_t>(n_keys * d), rng, 1.0f);
  const auto w = bf16_normal(static_cast<size_t>(n_q * n_heads), rng, 0.1f);  // signed, as bf16(weights_proj·x)

  for (Round round : {Round::kNone, Round::kBf16}) {
    SCOPED_TRACE(round == Round::kBf16 ? "kBf16" : "kNone");
    std::vector<float> want(static_cast<size_t>(n_q * n_keys)), got(want.size(), 777.0f);
    dsv4k::ref::indexer_scores(q.data(), n_q, ldq, n_heads, d, w.data(), keys.data(), n_keys, n_visible.data(),
                               want.data(), round);
    ASSERT_EQ(dsv4k::cuda::launch_indexer_scores(q.data(), n_q, ldq, n_heads, d, w.data(), keys.data(), n_keys,
                                                 n_visible.data(), got.data(), round, nullptr),
              cudaSuccess);
    int64_t mismatched = 0, total = 0;
    for (int64_t t = 0; t < n_q; ++t) {
      for (int64_t s = 0; s < n_keys; ++s) {
        const size_t at = static_cast<size_t>(t * n_keys + s);
        if (s >= n_visible[static_cast<size_t>(t)]) {
          ASSERT_EQ(got[at], -std::numeric_limits<float>::infinity()) << "t=" << t << " s=" << s;
          continue;
        }
        // Error model: the kernel's dot is a sequential fp32 sum (error ≤ d·u·Σ|q·k|) where the
        // reference rounds a double sum once (u·|dot|); ReLU does not enlarge errors. With bf16
        // rounding, the dot and the weighted term may each round to the neighbouring bf16
        // (≤ 2^-7 relative each) and the score itself may land one bf16 ulp away.
        double tol = 0.0;
        for (int64_t h = 0; h < n_heads; ++h) {
          const float* qh = q.data() + t * ldq + h * d;
          double dot = 0.0, mag = 0.0;
          for (int64_t i = 0; i < d; ++i) {
            dot += static_cast<double>(qh[i]) * keys[static_cast<size_t>(s * d + i)];
            mag += std::fabs(static_cast<double>(qh[i]) * keys[static_cast<size_t>(s * d + i)]);
          }
          const double wh = std::fabs(static_cast<double>(w[static_cast<size_t>(t * n_heads + h)]));
          const double dot_err = static_cast<double>(d + 2) * kU * mag;
          if (round == Round::kNone)
            tol += wh * dot_err * (1.0 + kU) + 2.0 * kU * wh * std::fabs(dot);
          else
            tol += wh * (dot_err + 2.0 * std::fabs(dot) / 128.0) * 1.01;
        }
        const float r = want[at], k = got[at];
        tol += round == Round::kNone ? 2.0 * kU * std::fabs(r) : bf16_ulp(r);
        ++total;
        if (k != r) ++mismatched;
        ASSERT_LE(std::fabs(static_cast<double>(k) - r), tol) << "t=" << t << " s=" << s;
      }
    }
    // A bf16 rounding boundary lies between the fp32 and the double dot only rarely: nearly
    // every bf16 score must be bit-identical.
    if (round == Round::kBf16 && total > 0) {
      EXPECT_LE(mismatched, total / 50 + 1) << mismatched << " of " << total;
    }
  }
}

TEST(CudaEmuIndexer, ScoresSmallShapesAndVisibility) {
  // Visible counts: none, inside the first tile, across a tile edge, all, more than n_keys.
  run_scores(5, 5, 40, 70, {0, 13, 65, 70, 100}, 1);
  run_scores(3, 33, 64, 65, {64, 1, 65}, 2);  // 33 heads: lanes own 1 or 2 heads
}

TEST(CudaEmuIndexer, ScoresModelHeadShape) {
  run_scores(2, 64, 128, 130, {130, 77}, 3);  // 64 heads of 128, as in the model
}

// ---- topk_rows ------------------------------------------------------------------------------

void run_topk(const std::vector<float>& scores, int64_t n_q, int64_t n_keys, const std::vector<int64_t>& n_visible,
              int64_t k) {
  SCOPED_TRACE(::testing::Message() << "n_q=" << n_q << " n_keys=" << n_keys << " k=" << k);
  std::vector<int32_t> want(static_cast<size_t>(n_q * k), -7), got(want.size(), -7);
  dsv4k::ref::topk_rows(scores.data(), n_q, n_keys, n_visible.data(), k, want.data());
  ASSERT_EQ(dsv4k::cuda::launch_topk_rows(scores.data(), n_q, n_keys, n_visible.data(), k, got.data(), nullptr),
            cudaSuccess);
  for (int64_t t = 0; t < n_q; ++t)
    for (int64_t j = 0; j < k; ++j)
      ASSERT_EQ(got[static_cast<size_t>(t * k + j)], want[static_cast<size_t>(t * k + j)])
          << "row " << t << " (n_visible " << n_visible[static_cast<size_t>(t)] << ") position " << j;
}

// Scores drawn from a handful of values: long runs of ties, both zeros, −inf inside the
// visible range.
std::vector<float> tied_scores(size_t n, std::mt19937& rng) {
  const float pool[] = {-1.0f, -0.0f, 0.0f, 0.5f, 1.0f, 2.0f, -std::numeric_limits<float>::infinity(), 3.0e-39f};
  std::uniform_int_distribution<int> pick(0, 7);
  std::vector<float> v(n);
  for (auto& x : v) x = pool[pick(rng)];
  return v;
}

TEST(CudaEmuIndexer, TopkBreaksTiesByLowerIndex) {
  std::mt19937 rng(11);
  const int64_t n_keys = 300;
  const std::vector<int64_t> vis = {300, 0, 1, 17, 256, 299, 1000};
  const auto scores = tied_scores(static_cast<size_t>(7 * n_keys), rng);
  for (int64_t k : {1, 3, 64, 100, 400}) run_topk(scores, 7, n_keys, vis, k);
}

TEST(CudaEmuIndexer, TopkAllEqualScores) {
  const int64_t n_keys = 700;
  std::vector<float> scores(static_cast<size_t>(2 * n_keys), 0.25f);
  for (size_t i = static_cast<size_t>(n_keys); i < scores.size(); i += 2) scores[i] = -0.0f;  // ±0 are equal
  for (size_t i = static_cast<size_t>(n_keys) + 1; i < scores.size(); i += 2) scores[i] = 0.0f;
  run_topk(scores, 2, n_keys, {700, 650}, 512);
}

TEST(CudaEmuIndexer, TopkDistinctScoresModelK) {
  std::mt19937 rng(12);
  const int64_t n_keys = 2500;
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> scores(static_cast<size_t>(3 * n_keys));
  for (auto& x : scores) x = dist(rng);
  run_topk(scores, 3, n_keys, {2500, 1300, 513}, 512);
}

TEST(CudaEmuIndexer, TopkOfIndexerScores) {
  // End to end on bf16 scores: ReLU makes many exact zeros, bf16 makes many other ties.
  std::mt19937 rng(13);
  const int64_t n_q = 4, H = 8, d = 32, n_keys = 600;
  const auto q = bf16_normal(static_cast<size_t>(n_q * H * d), rng, 1.0f);
  const auto keys = bf16_normal(static_cast<size_t>(n_keys * d), rng, 1.0f);
  auto w = bf16_normal(static_cast<size_t>(n_q * H), rng, 0.1f);
  for (auto& x : w) x = std::fabs(x);
  const std::vector<int64_t> vis = {600, 599, 150, 2};
  std::vector<float> scores(static_cast<size_t>(n_q * n_keys));
  ASSERT_EQ(dsv4k::cuda::launch_indexer_scores(q.data(), n_q, H * d, H, d, w.data(), keys.data(), n_keys, vis.data(),
                                               scores.data(), Round::kBf16, nullptr),
            cudaSuccess);
  run_topk(scores, n_q, n_keys, vis, 512);
}

TEST(CudaEmuIndexer, TopkEmptyLaunchesWriteNothing) {
  std::vector<float> scores(10, 1.0f);
  std::vector<int64_t> vis = {10};
  std::vector<int32_t> idx(4, -7);
  EXPECT_EQ(dsv4k::cuda::launch_topk_rows(scores.data(), 1, 10, vis.data(), 0, idx.data(), nullptr), cudaSuccess);
  EXPECT_EQ(dsv4k::cuda::launch_topk_rows(scores.data(), 0, 10, vis.data(), 4, idx.data(), nullptr), cudaSuccess);
  for (int32_t x : idx) EXPECT_EQ(x, -7);
}

}  // namespace

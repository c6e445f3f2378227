// The CUDA sampler (kernels/cuda/sampling.cuh), run through the host emulation, against the
// engine's CPU sampler (src/runtime/sampler*): for the same logits, settings and draw the
// device must return the same token, bit for bit, on every path (greedy, whole vocabulary,
// top-k, top-p, min-p and their combinations), over ties, signed zeros, NaN and infinite
// logits, odd vocabulary sizes and strided rows; supports above the device's capacity must
// come back as kSampleNeedsHost.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "cuda/sampling.cuh"
#include "runtime/sampler.h"

namespace {

using dsv4::SamplingParams;
using dsv4k::SampleRowParams;

constexpr float kInf = std::numeric_limits<float>::infinity();

struct Row {
  SamplingParams params;
  int64_t step = 0;  // tokens generated before this one (picks the draw)
};

// What the device returned for one row.
struct DeviceToken {
  int32_t token = 0;
  int32_t status = 0;
};

class SamplingEmuTest : public ::testing::Test {
 protected:
  // Samples `rows` (row r reads logits[r * ld ...]) on the emulated device and on the CPU
  // sampler, and expects the same tokens. Returns the device results.
  std::vector<DeviceToken> compare(const std::vector<float>& logits, int64_t vocab, int64_t ld,
                                   const std::vector<Row>& rows, const std::string& what) {
    dsv4::Sampler sampler(dsv4::SamplerConfig{vocab, {}});
    auto prompt = std::make_shared<const dsv4::PromptTokenSet>(std::vector<int32_t>{}, vocab);
    std::vector<SampleRowParams> params;
    std::vector<int32_t> want;
    for (size_t r = 0; r < rows.size(); ++r) {
      dsv4::SequenceSamplingState state(prompt, dsv4::SamplerRng(1234 + r, 0));
      for (int64_t i = 0; i < rows[r].step; ++i) state.append(0);
      const auto row = sampler.device_row(rows[r].params, state);
      EXPECT_TRUE(row.has_value()) << what;
      if (!row) return {};
      params.push_back(*row);
      const std::span<const float> x(logits.data() + static_cast<int64_t>(r) * ld, static_cast<size_t>(vocab));
      want.push_back(sampler.sample(x, rows[r].params, state).token);
    }
    const auto n = static_cast<int64_t>(rows.size());
    std::vector<int32_t> tokens(rows.size(), -7), status(rows.size(), -7);
    EXPECT_EQ(dsv4k::cuda::launch_sample_rows(logits.data(), n, vocab, ld, params.data(), tokens.data(),
                                              status.data(), nullptr),
              cudaSuccess);
    std::vector<DeviceToken> out;
    for (size_t r = 0; r < rows.size(); ++r) {
      out.push_back({tokens[r], status[r]});
      if (status[r] == dsv4k::kSampleNeedsHost) {
        EXPECT_EQ(tokens[r], -1) << what << " row " << r;
        continue;
      }
      EXPECT_EQ(status[r], dsv4k::kSampleDone) << what << " row " << r;
      EXPECT_EQ(tokens[r], want[r]) << what << " row " << r << " (T " << rows[r].params.temperature << ", top_k "
                                    << rows[r].params.top_k << ", top_p " << rows[r].params.top_p << ", min_p "
                                    << rows[r].params.min_p << ", step " << rows[r].step << ")";
    }
    return out;
  }
};

SamplingParams settings(double t, int32_t k, double p, double min_p) {
  SamplingParams s;
  s.temperature = t;
  s.top_k = k;
  s.top_p = p;
  s.min_p = min_p;
  return s;
}

// Every filter alone and combined, at the given temperatures, greedy included. (The emulation
// starts a block's 512 threads per row, so tests keep rows to tens.)
std::vector<SamplingParams> settings_grid(std::initializer_list<double> temperatures) {
  std::vector<SamplingParams> g;
  g.push_back(settings(0.0, 0, 1.0, 0.0));
  for (double t : temperatures) {
    g.push_back(settings(t, 0, 1.0, 0.0));
    g.push_back(settings(t, 1, 1.0, 0.0));
    g.push_back(settings(t, 40, 1.0, 0.0));
    g.push_back(settings(t, 0, 0.9, 0.0));
    g.push_back(settings(t, 0, 0.5, 0.0));
    g.push_back(settings(t, 0, 1.0, 0.1));
    g.push_back(settings(t, 50, 0.8, 0.0));
    g.push_back(settings(t, 50, 1.0, 0.05));
    g.push_back(settings(t, 0, 0.95, 0.02));
    g.push_back(settings(t, 300, 0.9, 0.01));
  }
  return g;
}

// Language-model-like rows: a normal body and a few tokens far above it.
std::vector<float> peaked_logits(int64_t n_rows, int64_t vocab, int64_t ld, std::mt19937& rng) {
  std::normal_distribution<float> body(0.0f, 2.0f);
  std::uniform_int_distribution<int64_t> pick(0, vocab - 1);
  std::vector<float> x(static_cast<size_t>(n_rows * ld), 99.0f);  // padding past vocab is never read
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t i = 0; i < vocab; ++i) x[static_cast<size_t>(r * ld + i)] = body(rng);
    for (int j = 0; j < 6; ++j) x[static_cast<size_t>(r * ld + pick(rng))] = 9.0f + static_cast<float>(j);
  }
  return x;
}

TEST_F(SamplingEmuTest, EveryPathMatchesTheCpuSampler) {
  std::mt19937 rng(11);
  for (int64_t vocab : {1000, 3001}) {
    const std::vector<SamplingParams> grid = settings_grid({1.0, 0.6});
    const auto n_rows = static_cast<int64_t>(grid.size());
    const int64_t ld = vocab + 5;
    const std::vector<float> x = peaked_logits(n_rows, vocab, ld, rng);
    std::vector<Row> rows;
    for (int64_t r = 0; r < n_rows; ++r) rows.push_back({grid[static_cast<size_t>(r)], 3 * r});
    compare(x, vocab, ld, rows, "vocab " + std::to_string(vocab));
  }
}

// Draws placed on the boundaries between tokens of the CPU's cumulative weights: there, a
// weight or a partial sum that differs from the CPU's in its last bit changes the token, so
// these rows check that the device reproduces the CPU's arithmetic, not just its support.
TEST_F(SamplingEmuTest, DrawsOnCumulativeBoundariesMatch) {
  std::mt19937 rng(16);
  const int64_t vocab = 3001;
  const std::vector<float> one = peaked_logits(1, vocab, vocab, rng);
  const std::span<const float> x1(one);
  const std::vector<SamplingParams> grid = {settings(1.0, 0, 1.0, 0.0), settings(0.7, 0, 0.97, 0.0),
                                            settings(1.0, 300, 0.99, 0.0), settings(1.2, 0, 1.0, 0.003)};
  std::vector<float> x;
  std::vector<SampleRowParams> params;
  std::vector<int32_t> want;
  dsv4::Sampler sampler(dsv4::SamplerConfig{vocab, {}});
  auto prompt = std::make_shared<const dsv4::PromptTokenSet>(std::vector<int32_t>{}, vocab);
  const dsv4::SequenceSamplingState state(prompt, dsv4::SamplerRng(5, 0));
  for (const SamplingParams& sp : grid) {
    dsv4::TruncationWorkspace ws;
    const dsv4::Support support = dsv4::build_support(x1, dsv4::TruncationSettings::from(sp, vocab), &ws);
    ASSERT_NE(support.kind, dsv4::SupportKind::kArgmax);
    // Partial sums where the CPU's draw compares them: block ends for the whole vocabulary,
    // candidate ends otherwise; a few spread over the support.
    std::vector<double> cums;
    double cum = 0.0;
    if (support.kind == dsv4::SupportKind::kWholeVocab) {
      for (double b : support.block_sums) cums.push_back(cum += b);
    } else {
      for (const dsv4::Candidate& c : support.candidates) cums.push_back(cum += static_cast<double>(c.weight));
    }
    const size_t n_points = std::min<size_t>(6, cums.size() - 1);
    for (size_t j = 0; j < n_points; ++j) {
      const double u = cums[(j * (cums.size() - 1)) / n_points] / support.total;
      auto row = sampler.device_row(sp, state);
      ASSERT_TRUE(row.has_value());
      row->u = u;
      params.push_back(*row);
      want.push_back(dsv4::draw_token(support, u));
      x.insert(x.end(), one.begin(), one.end());
    }
  }
  const auto n = static_cast<int64_t>(params.size());
  std::vector<int32_t> tokens(params.size()), status(params.size());
  ASSERT_EQ(dsv4k::cuda::launch_sample_rows(x.data(), n, vocab, vocab, params.data(), tokens.data(), status.data(),
                                            nullptr),
            cudaSuccess);
  for (size_t r = 0; r < params.size(); ++r) {
    EXPECT_EQ(status[r], dsv4k::kSampleDone) << "row " << r;
    EXPECT_EQ(tokens[r], want[r]) << "row " << r << " u " << params[r].u;
  }
}

TEST_F(SamplingEmuTest, ManyDrawsOfOneRowMatch) {
  // One row, many uniforms: every draw walks the support to a different place.
  std::mt19937 rng(12);
  const int64_t vocab = 777;
  const std::vector<float> one = peaked_logits(1, vocab, vocab, rng);
  for (const SamplingParams& p :
       {settings(1.0, 0, 1.0, 0.0), settings(0.8, 0, 0.9, 0.0), settings(1.0, 20, 1.0, 0.0),
        settings(1.3, 0, 1.0, 0.05)}) {
    const int64_t n_rows = 8;
    std::vector<float> x;
    std::vector<Row> rows;
    for (int64_t r = 0; r < n_rows; ++r) {
      x.insert(x.end(), one.begin(), one.end());
      rows.push_back({p, r});
    }
    compare(x, vocab, vocab, rows, "repeated row");
  }
}

TEST_F(SamplingEmuTest, TiesSignedZerosNanAndInfinities) {
  const int64_t vocab = 517;
  const std::vector<SamplingParams> grid = settings_grid({0.9});
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> level(-3, 0);  // the top value is 0, tied with -0
  std::vector<std::vector<float>> cases;
  // Few distinct values: long runs of ties at the top-k and top-p boundaries; ±0 tie too.
  std::vector<float> ties(static_cast<size_t>(vocab));
  for (auto& v : ties) v = static_cast<float>(level(rng));
  for (int64_t i = 0; i < vocab; i += 7) ties[static_cast<size_t>(i)] = (i % 14 == 0) ? -0.0f : 0.0f;
  cases.push_back(ties);
  // NaN and -inf entries among finite ones (never selected ahead of a real logit).
  std::vector<float> holes = ties;
  for (int64_t i = 3; i < vocab; i += 5) holes[static_cast<size_t>(i)] = std::nanf("");
  for (int64_t i = 4; i < vocab; i += 11) holes[static_cast<size_t>(i)] = -kInf;
  holes[0] = std::nanf("");
  cases.push_back(holes);
  // +inf present: every path degenerates to the lowest +inf token.
  std::vector<float> pinf = ties;
  pinf[200] = kInf;
  pinf[100] = kInf;
  cases.push_back(pinf);
  // Nothing finite: -inf and NaN only.
  std::vector<float> none(static_cast<size_t>(vocab), -kInf);
  for (int64_t i = 0; i < vocab; i += 2) none[static_cast<size_t>(i)] = std::nanf("");
  cases.push_back(none);
  std::vector<float> all_nan(static_cast<size_t>(vocab), std::nanf(""));
  cases.push_back(all_nan);
  for (size_t c = 0; c < cases.size(); ++c) {
    std::vector<float> x;
    std::vector<Row> rows;
    for (size_t r = 0; r < grid.size(); ++r) {
      x.insert(x.end(), cases[c].begin(), cases[c].end());
      rows.push_back({grid[r], static_cast<int64_t>(r)});
    }
    compare(x, vocab, vocab, rows, "case " + std::to_string(c));
  }
}

TEST_F(SamplingEmuTest, FullVocabularyRows) {
  // The real vocabulary: 505 block sums, the last block short (129,280 = 505 x 256).
  std::mt19937 rng(14);
  const int64_t vocab = 129280 + 77;
  const std::vector<SamplingParams> p = {settings(1.0, 0, 1.0, 0.0), settings(0.7, 0, 0.9, 0.0),
                                         settings(1.0, 64, 0.95, 0.0)};
  const std::vector<float> x = peaked_logits(static_cast<int64_t>(p.size()), vocab, vocab, rng);
  std::vector<Row> rows;
  for (size_t r = 0; r < p.size(); ++r) rows.push_back({p[r], 5});
  compare(x, vocab, vocab, rows, "full vocabulary");
}

TEST_F(SamplingEmuTest, LargeSupportsGoToTheHost) {
  const int64_t vocab = 9000;
  std::mt19937 rng(15);
  std::normal_distribution<float> flat(0.0f, 0.01f);
  std::vector<float> row(static_cast<size_t>(vocab));
  for (auto& v : row) v = flat(rng);
  // top-k above the candidate buffer; a flat top-p nucleus; a loose min-p on a flat row;
  // and a top-k that fits, which must still be sampled on the device.
  const std::vector<SamplingParams> p = {settings(1.0, 5000, 1.0, 0.0), settings(1.0, 0, 0.99, 0.0),
                                         settings(1.0, 0, 1.0, 0.5), settings(1.0, 4096, 1.0, 0.0)};
  std::vector<float> x;
  std::vector<Row> rows;
  for (size_t r = 0; r < p.size(); ++r) {
    x.insert(x.end(), row.begin(), row.end());
    rows.push_back({p[r], 1});
  }
  const std::vector<DeviceToken> got = compare(x, vocab, vocab, rows, "large supports");
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].status, dsv4k::kSampleNeedsHost);
  EXPECT_EQ(got[1].status, dsv4k::kSampleNeedsHost);
  EXPECT_EQ(got[2].status, dsv4k::kSampleNeedsHost);
  EXPECT_EQ(got[3].status, dsv4k::kSampleDone);
}

TEST_F(SamplingEmuTest, TopPBeyondTheGatherBufferStaysOnTheDevice) {
  // 5,000 tokens pass the CPU's top-p gathering bound (more than the device holds), but the
  // nucleus is the three tokens at the top: the device finds it in its best 4,096 and must
  // give the CPU's token; with top_p high enough to need the body, the row goes to the host.
  const int64_t vocab = 20000;
  std::vector<float> row(static_cast<size_t>(vocab), -20.0f);
  for (int64_t i = 0; i < 5000; ++i) row[static_cast<size_t>(4 * i + 1)] = -6.0f + 0.0001f * static_cast<float>(i % 50);
  row[11] = 0.0f;
  row[12] = -0.1f;
  row[19999] = -0.2f;
  const std::vector<SamplingParams> p = {settings(1.0, 0, 0.15, 0.0), settings(1.0, 0, 0.1, 0.0),
                                         settings(1.0, 0, 0.9, 0.0)};
  std::vector<float> x;
  std::vector<Row> rows;
  for (size_t r = 0; r < p.size(); ++r) {
    for (int64_t step = 0; step < 3; ++step) {
      x.insert(x.end(), row.begin(), row.end());
      rows.push_back({p[r], step});
    }
  }
  const std::vector<DeviceToken> got = compare(x, vocab, vocab, rows, "top-p overflow");
  ASSERT_EQ(got.size(), 9u);
  for (size_t r = 0; r < 6; ++r) EXPECT_EQ(got[r].status, dsv4k::kSampleDone) << r;
  for (size_t r = 6; r < 9; ++r) EXPECT_EQ(got[r].status, dsv4k::kSampleNeedsHost) << r;
}

TEST_F(SamplingEmuTest, RowsWithHostOnlyProcessingAreNotOffered) {
  dsv4::Sampler sampler(dsv4::SamplerConfig{100, {}});
  auto prompt = std::make_shared<const dsv4::PromptTokenSet>(std::vector<int32_t>{1, 2}, 100);
  dsv4::SequenceSamplingState state(prompt, dsv4::SamplerRng(1, 0));
  SamplingParams p;
  EXPECT_TRUE(sampler.device_row(p, state).has_value());
  p.logprobs = 0;
  EXPECT_FALSE(sampler.device_row(p, state).has_value());
  p = SamplingParams{};
  p.logit_bias = {{3, 1.0f}};
  EXPECT_FALSE(sampler.device_row(p, state).has_value());
  p = SamplingParams{};
  p.repetition_penalty = 1.2;
  EXPECT_FALSE(sampler.device_row(p, state).has_value());
}

TEST_F(SamplingEmuTest, LauncherRejectsBadShapes) {
  std::vector<float> x(10, 0.0f);
  SampleRowParams p;
  int32_t token = 0, status = 0;
  EXPECT_NE(dsv4k::cuda::launch_sample_rows(x.data(), 1, 0, 10, &p, &token, &status, nullptr), cudaSuccess);
  EXPECT_NE(dsv4k::cuda::launch_sample_rows(x.data(), 1, 10, 9, &p, &token, &status, nullptr), cudaSuccess);
  EXPECT_NE(dsv4k::cuda::launch_sample_rows(x.data(), -1, 10, 10, &p, &token, &status, nullptr), cudaSuccess);
  EXPECT_EQ(dsv4k::cuda::launch_sample_rows(x.data(), 0, 10, 10, &p, &token, &status, nullptr), cudaSuccess);
}

}  // namespace

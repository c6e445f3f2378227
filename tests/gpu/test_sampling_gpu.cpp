// The CUDA sampler on a device against the engine's CPU sampler, at the real vocabulary
// size. The device evaluates every weight with the CPU's IEEE operations (no fma
// contraction, its own exponential), so tokens must agree exactly, including draws placed
// on the CPU's cumulative boundaries where one differing bit would change the token. (The
// host-emulated test checks the same on small vocabularies in every CI run; this one checks
// that nvcc's code keeps those roundings.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "cuda/sampling.h"
#include "gpu_test_util.h"
#include "runtime/sampler.h"

namespace dsv4 {
namespace {

using dsv4k::SampleRowParams;
using gpu_test::DeviceVector;

constexpr int64_t kVocab = 129280;

SamplingParams settings(double t, int32_t k, double p, double min_p) {
  SamplingParams s;
  s.temperature = t;
  s.top_k = k;
  s.top_p = p;
  s.min_p = min_p;
  return s;
}

TEST(SamplingGpu, TokensEqualTheCpuSampler) {
  DSV4_REQUIRE_GPU();
  std::mt19937 rng(21);
  std::normal_distribution<float> body(0.0f, 1.0f);  // LM-like: the nucleus lies in the peaks
  std::uniform_int_distribution<int64_t> pick(0, kVocab - 1);
  const std::vector<SamplingParams> grid = {
      settings(0.0, 0, 1.0, 0.0),   settings(1.0, 0, 1.0, 0.0),  settings(0.7, 0, 1.0, 0.0),
      settings(1.0, 50, 1.0, 0.0),  settings(1.0, 0, 0.9, 0.0),  settings(0.6, 0, 0.95, 0.0),
      settings(1.0, 0, 1.0, 0.05),  settings(1.0, 40, 0.8, 0.0), settings(0.8, 0, 0.9, 0.02),
      settings(1.0, 2000, 0.99, 0.0)};
  Sampler sampler(SamplerConfig{kVocab, {}});
  auto prompt = std::make_shared<const PromptTokenSet>(std::vector<int32_t>{}, kVocab);

  std::vector<float> x;
  std::vector<SampleRowParams> params;
  std::vector<int32_t> want;
  for (int rep = 0; rep < 8; ++rep) {
    std::vector<float> row(kVocab);
    for (auto& v : row) v = body(rng);
    for (int j = 0; j < 8; ++j) row[static_cast<size_t>(pick(rng))] = 8.0f + static_cast<float>(j) * 0.5f;
    for (const SamplingParams& sp : grid) {
      SequenceSamplingState state(prompt, SamplerRng(100 + rep, 0));
      for (int i = 0; i < rep; ++i) state.append(1);
      const auto dev = sampler.device_row(sp, state);
      ASSERT_TRUE(dev.has_value());
      // Half the rows draw on a cumulative boundary of the CPU's support instead.
      SampleRowParams p = *dev;
      TruncationWorkspace ws;
      const Support support = build_support(row, TruncationSettings::from(sp, kVocab), &ws);
      if (rep % 2 == 1 && support.kind == SupportKind::kCandidates && support.candidates.size() > 1) {
        double cum = 0.0;
        const size_t j = support.candidates.size() / 2;
        for (size_t i = 0; i <= j; ++i) cum += static_cast<double>(support.candidates[i].weight);
        p.u = cum / support.total;
      } else if (rep % 2 == 1 && support.kind == SupportKind::kWholeVocab) {
        double cum = 0.0;
        for (size_t b = 0; b < support.block_sums.size() / 2; ++b) cum += support.block_sums[b];
        p.u = cum / support.total;
      }
      params.push_back(p);
      want.push_back(draw_token(support, p.u));
      x.insert(x.end(), row.begin(), row.end());
    }
  }

  Result<std::unique_ptr<gpu_test::DeviceSession>> session = gpu_test::DeviceSession::open();
  DSV4_ASSERT_OK(session.status());
  const cuda::Stream& st = (*session)->stream();
  DevicePool& pool = (*session)->pool();
  const auto n = static_cast<int64_t>(params.size());
  DeviceVector<float> d_x(pool, st, x);
  DeviceVector<SampleRowParams> d_p(pool, st, params);
  DeviceVector<int32_t> d_tok(pool, st, params.size()), d_status(pool, st, params.size());
  DSV4_ASSERT_OK(d_x.status());
  DSV4_ASSERT_OK(cuda::check_launch(dsv4k::cuda::sample_rows(d_x.get(), n, kVocab, kVocab, d_p.get(), d_tok.get(),
                                                             d_status.get(), st.handle()),
                                    "sample_rows"));
  const std::vector<int32_t> tokens = d_tok.to_host();
  const std::vector<int32_t> status = d_status.to_host();
  for (size_t r = 0; r < params.size(); ++r) {
    ASSERT_EQ(status[r], dsv4k::kSampleDone) << "row " << r;
    EXPECT_EQ(tokens[r], want[r]) << "row " << r << " (settings " << r % grid.size() << ", u " << params[r].u << ")";
  }
}

}  // namespace
}  // namespace dsv4

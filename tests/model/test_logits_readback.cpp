// LogitsReadback on the CUDA backend (emulated in every build, a GPU under label gpu) and on
// the CPU backend: rows with sampling settings come back as the token the engine's CPU
// sampler draws from the same logits and draw, every other row as its logits, bit for bit;
// a row whose support is too wide for the device comes back as logits too. The CPU backend
// has no sampler of its own, so there every row is downloaded.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backend/backend_array.h"
#include "cuda_model_backend.h"
#include "model/logits_readback.h"
#include "runtime/sampler.h"

namespace dsv4::testing {
namespace {

// The real vocabulary, so that an untruncated temperature row is wider than the device's
// candidate buffer (dsv4k::cuda::kSampleMaxCandidates).
constexpr int64_t kVocab = 129280 + 77;

struct Row {
  SamplingParams params;
  bool on_device = true;
};

class LogitsReadbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Rows: greedy; top-p; a host row (no settings); top-k with min-p; untruncated (drawn
    // over the whole vocabulary); a top-p nucleus of most of a flat vocabulary (wider than
    // the device's candidate buffer: handed back).
    rows_.resize(6);
    rows_[1].params.temperature = 0.8;
    rows_[1].params.top_p = 0.9;
    rows_[2].on_device = false;
    rows_[3].params.temperature = 1.3;
    rows_[3].params.top_k = 40;
    rows_[3].params.min_p = 0.05;
    rows_[4].params.temperature = 1.0;
    rows_[5].params.temperature = 5.0;
    rows_[5].params.top_p = 0.999;
    rows_[0].params.temperature = 0.0;
    std::mt19937_64 rng(42);
    std::normal_distribution<float> n(0.0f, 3.0f);
    logits_.resize(rows_.size() * static_cast<size_t>(kVocab));
    for (float& x : logits_) x = n(rng);
  }

  // Every row through a LogitsReadback on `be` (the logits uploaded there first), with each
  // row's settings; *host_tokens: the host sampler's token for each row.
  ForwardResult read_back(Backend& be, std::vector<int32_t>* host_tokens) {
    Sampler sampler(SamplerConfig{kVocab, {1}});
    std::vector<std::optional<dsv4k::SampleRowParams>> params;
    auto prompt = std::make_shared<const PromptTokenSet>(std::vector<int32_t>{1, 2, 3}, kVocab);
    for (size_t i = 0; i < rows_.size(); ++i) {
      SequenceSamplingState state(prompt, SamplerRng(7 + i, 0));
      for (int j = 0; j < static_cast<int>(i); ++j) state.append(j);  // a different draw step per row
      const std::span<const float> row(logits_.data() + i * kVocab, static_cast<size_t>(kVocab));
      host_tokens->push_back(sampler.sample(row, rows_[i].params, state).token);
      params.push_back(rows_[i].on_device ? sampler.device_row(rows_[i].params, state) : std::nullopt);
      EXPECT_EQ(params.back().has_value(), rows_[i].on_device) << "row " << i;
    }
    mem_.assign(be, logits_);
    ForwardResult out;
    readback_.read(be, mem_.data(), static_cast<int64_t>(rows_.size()), kVocab, params, &out);
    return out;
  }

  std::vector<Row> rows_;
  std::vector<float> logits_;
  BackendArray<float> mem_;
  LogitsReadback readback_;
};

TEST_F(LogitsReadbackTest, DeviceSampledRowsAreTheHostSamplersTokensAndTheRestComeDownExactly) {
  std::string why;
  std::unique_ptr<Backend> be = make_model_test_backend(&why);
  if (!be) GTEST_SKIP() << why;
  std::vector<int32_t> host_tokens;
  const ForwardResult out = read_back(*be, &host_tokens);
  ASSERT_EQ(out.sampled.size(), rows_.size());
  EXPECT_EQ(out.sampled[0], host_tokens[0]) << "greedy";
  EXPECT_EQ(out.sampled[1], host_tokens[1]) << "top-p";
  EXPECT_EQ(out.sampled[2], -1) << "a row without settings stays on the host";
  EXPECT_EQ(out.sampled[3], host_tokens[3]) << "top-k + min-p";
  EXPECT_EQ(out.sampled[4], host_tokens[4]) << "untruncated";
  EXPECT_EQ(out.sampled[5], -1) << "a support wider than the device's buffer is handed back";
  for (size_t i : {size_t{2}, size_t{5}})
    for (int64_t v = 0; v < kVocab; ++v)
      ASSERT_EQ(out.logits[i * kVocab + static_cast<size_t>(v)], logits_[i * kVocab + static_cast<size_t>(v)])
          << "row " << i << " token " << v;

  // No settings at all: every row comes down, nothing is sampled.
  ForwardResult plain;
  readback_.read(*be, mem_.data(), static_cast<int64_t>(rows_.size()), kVocab, {}, &plain);
  EXPECT_TRUE(plain.sampled.empty());
  EXPECT_EQ(plain.logits, logits_);
}

TEST_F(LogitsReadbackTest, TheCpuBackendLeavesEveryRowToTheHost) {
  std::unique_ptr<Backend> be = make_cpu_backend({1, CpuKernels::kFast});
  std::vector<int32_t> host_tokens;
  const ForwardResult out = read_back(*be, &host_tokens);
  EXPECT_EQ(out.sampled, std::vector<int32_t>(rows_.size(), -1));
  EXPECT_EQ(out.logits, logits_);
}

}  // namespace
}  // namespace dsv4::testing

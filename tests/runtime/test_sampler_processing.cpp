// Logits processing (bias, repetition / frequency / presence penalties, the min_tokens mask)
// checked against hand-computed values, and logprobs against a double-precision
// log-softmax of the raw logits.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace dsv4 {
namespace {

using sampler_test::log_softmax;
using sampler_test::make_state;
using sampler_test::random_logits;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

TEST(SamplerProcessing, NothingToApplyReturnsTheRawRow) {
  Sampler sampler({8, {7}});
  std::vector<float> x = {0, 1, 2, 3, 4, 5, 6, 7};
  SamplingParams p;
  auto state = make_state({1, 2}, 8);
  std::span<const float> out = sampler.process_logits(x, p, state);
  EXPECT_EQ(out.data(), x.data());
}

TEST(SamplerProcessing, BiasThenRepetitionThenFrequencyAndPresence) {
  Sampler sampler({8, {7}});
  //                        0     1     2    3    4     5    6    7
  std::vector<float> x = {0.5f, 2.0f, -1.0f, 4.0f, 1.0f, -3.0f, 0.0f, 1.0f};
  SamplingParams p;
  p.logit_bias = {{0, 1.5f}, {3, -0.5f}, {5, 2.0f}};
  p.repetition_penalty = 2.0;
  p.frequency_penalty = 0.5;
  p.presence_penalty = 0.25;
  auto state = make_state({1, 2, 1}, 8);  // prompt set {1, 2}
  for (int32_t t : {2, 3, 3, 5}) state.append(t);
  std::span<const float> out = sampler.process_logits(x, p, state);
  std::vector<float> expected = {
      0.5f + 1.5f,                  // bias only
      2.0f / 2,                     // prompt token: repetition only (positive: divided)
      -1.0f * 2 - 0.5f - 0.25f,     // prompt and generated once: multiplied, then 1x freq + presence
      (4.0f - 0.5f) / 2 - 1.0f - 0.25f,  // bias, then divided, then generated twice
      1.0f,                         // untouched
      (-3.0f + 2.0f) * 2 - 0.5f - 0.25f,  // bias makes it -1, which is multiplied
      0.0f, 1.0f};
  ASSERT_EQ(out.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(out[i], expected[i]) << "token " << i;
}

TEST(SamplerProcessing, ZeroLogitIsUnchangedByRepetitionAndPromptIsNotAFrequency) {
  Sampler sampler({4, {}});
  std::vector<float> x = {0.0f, 3.0f, 3.0f, 3.0f};
  SamplingParams p;
  p.repetition_penalty = 1.5;
  p.frequency_penalty = 1.0;
  p.presence_penalty = 1.0;
  auto state = make_state({0, 1, 1, 1}, 4);
  state.append(2);
  std::span<const float> out = sampler.process_logits(x, p, state);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_FLOAT_EQ(out[1], 2.0f);          // prompt x3: repetition only, no frequency
  EXPECT_FLOAT_EQ(out[2], 2.0f - 2.0f);   // generated once: repetition, then 1 + 1
  EXPECT_EQ(out[3], 3.0f);
}

TEST(SamplerProcessing, MinTokensMasksEosAndStopIdsUntilReached) {
  Sampler sampler({8, {7}});
  std::vector<float> x = {0, 0, 0, 0, 0, 0, 5.0f, 9.0f};  // EOS (7) is the argmax
  SamplingParams p;
  p.temperature = 0.0;
  p.min_tokens = 2;
  p.stop_token_ids = {6};
  auto state = make_state({}, 8);
  std::span<const float> out = sampler.process_logits(x, p, state);
  EXPECT_EQ(out[7], kNegInf);
  EXPECT_EQ(out[6], kNegInf);
  EXPECT_EQ(sampler.sample(x, p, state).token, 0);  // ties among the rest go to the lowest id
  state.append(0);
  EXPECT_EQ(sampler.sample(x, p, state).token, 0);
  state.append(0);
  EXPECT_EQ(sampler.sample(x, p, state).token, 7);  // min_tokens reached

  // ignore_eos: EOS is no stop, so only the stop ids are held off.
  p.ignore_eos = true;
  auto fresh = make_state({}, 8);
  out = sampler.process_logits(x, p, fresh);
  EXPECT_EQ(out[7], 9.0f);
  EXPECT_EQ(out[6], kNegInf);
}

TEST(SamplerProcessing, MinTokensMaskAppliesToSampledPaths) {
  Sampler sampler({8, {7}});
  std::vector<float> x = {0, 0, 0, 0, 0, 0, 0, 20.0f};
  SamplingParams p;
  p.min_tokens = 1;
  p.seed = 3;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    auto state = make_state({}, 8, seed);
    EXPECT_NE(sampler.sample(x, p, state).token, 7);
  }
}

TEST(SamplerLogprobs, RawLogSoftmaxForTheSampledTokenAndTop) {
  constexpr int64_t kVocab = 129280;
  Sampler sampler({kVocab, {1}});
  std::vector<float> x = random_logits(kVocab, 11, 4.0);
  x[100] = x[200] = 30.0f;  // a tie at the top: the lower id ranks first
  std::vector<double> reference = log_softmax(x);
  SamplingParams p;
  p.temperature = 0.7;
  p.top_k = 40;
  p.repetition_penalty = 1.3;
  p.presence_penalty = 1.0;
  p.logit_bias = {{5, 8.0f}};
  p.logprobs = 5;
  auto state = make_state({100, 5}, kVocab, 9);
  state.append(200);
  GeneratedToken t = sampler.sample(x, p, state);
  EXPECT_NEAR(t.logprob, reference[static_cast<size_t>(t.token)], 1e-5);
  ASSERT_EQ(t.top.size(), 5u);
  EXPECT_EQ(t.top[0].token, 100);
  EXPECT_EQ(t.top[1].token, 200);
  std::vector<int32_t> order(x.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](int32_t a, int32_t b) {
    return x[static_cast<size_t>(a)] > x[static_cast<size_t>(b)] ||
           (x[static_cast<size_t>(a)] == x[static_cast<size_t>(b)] && a < b);
  });
  for (size_t j = 0; j < 5; ++j) {
    EXPECT_EQ(t.top[j].token, order[j]);
    EXPECT_NEAR(t.top[j].logprob, reference[static_cast<size_t>(order[j])], 1e-5);
  }
}

TEST(SamplerLogprobs, ZeroMeansSampledTokenOnlyAndMinusOneMeansNone) {
  Sampler sampler({16, {}});
  std::vector<float> x = random_logits(16, 2);
  std::vector<double> reference = log_softmax(x);
  SamplingParams p;
  p.temperature = 0.0;
  p.logprobs = 0;
  auto state = make_state({}, 16);
  GeneratedToken t = sampler.sample(x, p, state);
  EXPECT_TRUE(t.top.empty());
  EXPECT_NEAR(t.logprob, reference[static_cast<size_t>(t.token)], 1e-6);
  p.logprobs = -1;
  t = sampler.sample(x, p, state);
  EXPECT_EQ(t.logprob, 0.0f);
  EXPECT_TRUE(t.top.empty());
}

TEST(SamplerLogprobs, NonFiniteLogitsDoNotCrash) {
  Sampler sampler({6, {}});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {nan, 1.0f, kNegInf, 2.0f, nan, kNegInf};
  SamplingParams p;
  p.logprobs = 6;
  auto state = make_state({}, 6, 4);
  for (double temperature : {0.0, 1.0}) {
    p.temperature = temperature;
    GeneratedToken t = sampler.sample(x, p, state);
    EXPECT_TRUE(t.token == 1 || t.token == 3);
    ASSERT_EQ(t.top.size(), 6u);
    EXPECT_EQ(t.top[0].token, 3);
    EXPECT_EQ(t.top[1].token, 1);
    EXPECT_EQ(t.top[5].logprob, kNegInf);
  }
  std::vector<float> all_masked(6, kNegInf);
  EXPECT_EQ(sampler.sample(all_masked, p, state).token, 0);
}

}  // namespace
}  // namespace dsv4

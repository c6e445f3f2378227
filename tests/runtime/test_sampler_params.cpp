// validate_sampling_params: every rule, with its exact message.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "runtime/sampler_params.h"

namespace dsv4 {
namespace {

constexpr int64_t kVocab = 1000;

std::string error_of(const SamplingParams& p) {
  Status s = validate_sampling_params(p, kVocab);
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  return s.message();
}

TEST(ValidateSamplingParams, DefaultsAndEdgesAreAccepted) {
  SamplingParams p;
  EXPECT_TRUE(validate_sampling_params(p, kVocab).is_ok());
  p.temperature = 0.0;
  p.top_p = 1.0;
  p.min_p = 1.0;
  p.top_k = -5;
  p.logprobs = 20;
  p.n = 16;
  p.min_tokens = p.max_tokens;
  p.presence_penalty = -2.0;
  p.frequency_penalty = 2.0;
  p.logit_bias = {{0, -100.0f}, {999, 100.0f}};
  p.stop_token_ids = {0, 999};
  p.stop = {"a", std::string(kMaxStopStringBytes, 'x')};
  EXPECT_TRUE(validate_sampling_params(p, kVocab).is_ok());
}

TEST(ValidateSamplingParams, ScalarMessages) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  SamplingParams p;
  p.temperature = -0.5;
  EXPECT_EQ(error_of(p), "temperature must be a finite number >= 0, got -0.5");
  p.temperature = nan;
  EXPECT_EQ(error_of(p), "temperature must be a finite number >= 0, got nan");
  p = {};
  p.top_p = 0.0;
  EXPECT_EQ(error_of(p), "top_p must be in (0, 1], got 0");
  p.top_p = 1.5;
  EXPECT_EQ(error_of(p), "top_p must be in (0, 1], got 1.5");
  p = {};
  p.min_p = -0.1;
  EXPECT_EQ(error_of(p), "min_p must be in [0, 1], got -0.1");
  p = {};
  p.presence_penalty = 2.5;
  EXPECT_EQ(error_of(p), "presence_penalty must be in [-2, 2], got 2.5");
  p = {};
  p.frequency_penalty = nan;
  EXPECT_EQ(error_of(p), "frequency_penalty must be in [-2, 2], got nan");
  p = {};
  p.repetition_penalty = 0.0;
  EXPECT_EQ(error_of(p), "repetition_penalty must be a finite number > 0 (1 = off), got 0");
  p = {};
  p.logprobs = 21;
  EXPECT_EQ(error_of(p), "logprobs must be -1 (none) or in [0, 20], got 21");
  p.logprobs = -2;
  EXPECT_EQ(error_of(p), "logprobs must be -1 (none) or in [0, 20], got -2");
  p = {};
  p.n = 0;
  EXPECT_EQ(error_of(p), "n must be in [1, 16], got 0");
  p.n = 17;
  EXPECT_EQ(error_of(p), "n must be in [1, 16], got 17");
  p = {};
  p.max_tokens = 0;
  EXPECT_EQ(error_of(p), "max_tokens must be >= 1, got 0");
  p = {};
  p.min_tokens = 17;
  EXPECT_EQ(error_of(p), "min_tokens must be in [0, max_tokens = 16], got 17");
  p.min_tokens = -1;
  EXPECT_EQ(error_of(p), "min_tokens must be in [0, max_tokens = 16], got -1");
}

TEST(ValidateSamplingParams, LogitBiasMessages) {
  SamplingParams p;
  p.logit_bias = {{1000, 1.0f}};
  EXPECT_EQ(error_of(p), "logit_bias: token 1000 is outside the vocabulary [0, 1000)");
  p.logit_bias = {{-1, 1.0f}};
  EXPECT_EQ(error_of(p), "logit_bias: token -1 is outside the vocabulary [0, 1000)");
  p.logit_bias = {{3, std::numeric_limits<float>::infinity()}};
  EXPECT_EQ(error_of(p), "logit_bias: token 3 has a non-finite bias (inf)");
  p.logit_bias = {{3, 1.0f}, {4, 1.0f}, {3, 2.0f}};
  EXPECT_EQ(error_of(p), "logit_bias: token 3 is listed more than once");
}

TEST(ValidateSamplingParams, StopMessages) {
  SamplingParams p;
  p.stop_token_ids = {5, -1};
  EXPECT_EQ(error_of(p), "stop_token_ids: token -1 is outside the vocabulary [0, 1000)");
  p.stop_token_ids = {1000};
  EXPECT_EQ(error_of(p), "stop_token_ids: token 1000 is outside the vocabulary [0, 1000)");
  p = {};
  p.stop = {"ok", ""};
  EXPECT_EQ(error_of(p), "stop: string 1 is empty");
  p.stop = {std::string(kMaxStopStringBytes + 1, 'x')};
  EXPECT_EQ(error_of(p), "stop: string 0 is 4097 bytes long, the limit is 4096");
  p.stop.assign(kMaxStopStrings + 1, "x");
  EXPECT_EQ(error_of(p), "stop: at most 64 stop strings are allowed, got 65");
}

TEST(ValidateSamplingParams, VocabularyMustBePositive) {
  Status s = validate_sampling_params(SamplingParams{}, 0);
  EXPECT_EQ(s.message(), "vocabulary size must be positive, got 0");
}

}  // namespace
}  // namespace dsv4

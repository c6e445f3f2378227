// Reproducibility: a seeded sequence gets the same tokens whatever else is sampled around
// it, in whatever order, on whichever Sampler, and after its state is rebuilt (preemption);
// a different choice index or seed gives a different stream.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/sampler.h"
#include "sampler_test_util.h"

namespace dsv4 {
namespace {

using sampler_test::make_state;
using sampler_test::random_logits;

constexpr int64_t kVocab = 4096;

// The logits a toy "model" gives a sequence after `history`: a fixed function of the last
// token, so a different sampled token changes what comes next.
std::vector<float> model_logits(int32_t last_token) {
  return random_logits(kVocab, 1000 + static_cast<uint64_t>(last_token), 2.0);
}

SamplingParams params_for(int which) {
  SamplingParams p;
  p.seed = 7;
  switch (which % 3) {
    case 0: p.temperature = 1.0; break;
    case 1: p.temperature = 0.8; p.top_p = 0.9; break;
    case 2: p.temperature = 1.2; p.top_k = 50; p.presence_penalty = 0.5; p.repetition_penalty = 1.1; break;
  }
  return p;
}

struct Sequence {
  SamplingParams params;
  SequenceSamplingState state;
  std::vector<int32_t> tokens;
};

Sequence make_sequence(int which, uint64_t seed, uint32_t choice) {
  return {params_for(which), make_state({1, 2, 3}, kVocab, seed, choice), {}};
}

void step(Sampler& sampler, Sequence& s) {
  int32_t last = s.tokens.empty() ? 3 : s.tokens.back();
  int32_t t = sampler.sample(model_logits(last), s.params, s.state).token;
  s.tokens.push_back(t);
  s.state.append(t);
}

TEST(SamplerReproducibility, SameSeedSameTokensInAnyInterleaving) {
  constexpr int kSteps = 40;
  // Alone, each on its own sampler.
  std::vector<std::vector<int32_t>> alone;
  for (int which = 0; which < 3; ++which) {
    Sampler sampler({kVocab, {}});
    Sequence s = make_sequence(which, 100 + static_cast<uint64_t>(which), 0);
    for (int i = 0; i < kSteps; ++i) step(sampler, s);
    alone.push_back(s.tokens);
  }
  // Batched on one sampler, in a different order every step, with extra sequences joining
  // and leaving the batch.
  Sampler shared({kVocab, {}});
  std::vector<Sequence> batch;
  for (int which = 0; which < 3; ++which) batch.push_back(make_sequence(which, 100 + static_cast<uint64_t>(which), 0));
  Sequence intruder = make_sequence(1, 999, 0);
  for (int i = 0; i < kSteps; ++i) {
    int order[3] = {i % 3, (i + 1) % 3, (i + 2) % 3};
    if (i % 2 == 1) std::swap(order[0], order[2]);
    if (i % 5 == 0) step(shared, intruder);
    for (int k : order) step(shared, batch[static_cast<size_t>(k)]);
  }
  for (int which = 0; which < 3; ++which) EXPECT_EQ(batch[static_cast<size_t>(which)].tokens, alone[static_cast<size_t>(which)]);
}

TEST(SamplerReproducibility, RebuiltStateContinuesIdentically) {
  Sampler sampler({kVocab, {}});
  Sequence uninterrupted = make_sequence(2, 55, 1);
  for (int i = 0; i < 30; ++i) step(sampler, uninterrupted);
  // Preempted after 12 tokens: the engine rebuilds the state from the prompt and replays
  // the generated tokens, then continues.
  Sequence resumed = make_sequence(2, 55, 1);
  for (int i = 0; i < 12; ++i) {
    resumed.tokens.push_back(uninterrupted.tokens[static_cast<size_t>(i)]);
    resumed.state.append(uninterrupted.tokens[static_cast<size_t>(i)]);
  }
  for (int i = 12; i < 30; ++i) step(sampler, resumed);
  EXPECT_EQ(resumed.tokens, uninterrupted.tokens);
}

TEST(SamplerReproducibility, ChoiceAndSeedSelectDifferentStreams) {
  Sampler sampler({kVocab, {}});
  auto run = [&](uint64_t seed, uint32_t choice) {
    Sequence s = make_sequence(0, seed, choice);
    for (int i = 0; i < 20; ++i) step(sampler, s);
    return s.tokens;
  };
  std::vector<int32_t> base = run(5, 0);
  EXPECT_EQ(run(5, 0), base);
  EXPECT_NE(run(5, 1), base);
  EXPECT_NE(run(6, 0), base);
}

TEST(SamplerReproducibility, GreedyUsesNoRandomness) {
  Sampler sampler({kVocab, {}});
  std::vector<float> x = random_logits(kVocab, 3);
  SamplingParams p;
  p.temperature = 0.0;
  int32_t a = sampler.sample(x, p, make_state({}, kVocab, 1, 0)).token;
  int32_t b = sampler.sample(x, p, make_state({}, kVocab, 2, 5)).token;
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace dsv4

// Microseconds per sampled token at V = 129,280 for the sampler's paths (greedy, full
// softmax, top-k, top-p, min-p, penalties, logprobs) and the stop matcher's per-token cost.
// The logits imitate a language model's: a normal body plus a few dominant tokens, so the
// nucleus is tens of tokens as in real decoding, not thousands.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "runtime/sampler.h"
#include "runtime/stop_matcher.h"

namespace dsv4 {
namespace {

constexpr int64_t kVocab = 129280;

std::vector<float> lm_like_logits(uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> body(0.0f, 2.0f);
  std::vector<float> x(kVocab);
  for (float& v : x) v = body(gen);
  std::uniform_int_distribution<int64_t> pick(0, kVocab - 1);
  for (int i = 0; i < 20; ++i) x[static_cast<size_t>(pick(gen))] = 14.0f + static_cast<float>(i) * 0.3f;
  return x;
}

// The state is fixed (a prompt and `n_generated` earlier tokens) rather than appended to,
// so penalties cannot drift the distribution during the run.
void run(benchmark::State& bench, const SamplingParams& params, int n_prompt = 0, int n_generated = 0) {
  Sampler sampler({kVocab, {1}});
  std::vector<float> x = lm_like_logits(42);
  std::mt19937_64 gen(3);
  std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
  for (int32_t& t : prompt) t = static_cast<int32_t>(gen() % kVocab);
  SequenceSamplingState state(std::make_shared<const PromptTokenSet>(prompt, kVocab), SamplerRng(7, 0));
  for (int i = 0; i < n_generated; ++i) state.append(static_cast<int32_t>(gen() % kVocab));
  for (auto _ : bench) {
    GeneratedToken t = sampler.sample(x, params, state);
    benchmark::DoNotOptimize(t);
  }
}

void BM_Greedy(benchmark::State& s) {
  SamplingParams p;
  p.temperature = 0.0;
  run(s, p);
}
void BM_Temperature1Full(benchmark::State& s) { run(s, SamplingParams{}); }
void BM_TopP09Temp08(benchmark::State& s) {
  SamplingParams p;
  p.temperature = 0.8;
  p.top_p = 0.9;
  run(s, p);
}
void BM_TopK50(benchmark::State& s) {
  SamplingParams p;
  p.temperature = 0.8;
  p.top_k = 50;
  run(s, p);
}
void BM_MinP005(benchmark::State& s) {
  SamplingParams p;
  p.min_p = 0.05;
  run(s, p);
}
void BM_TopP09Logprobs5(benchmark::State& s) {
  SamplingParams p;
  p.temperature = 0.8;
  p.top_p = 0.9;
  p.logprobs = 5;
  run(s, p);
}
void BM_TopP09Penalties(benchmark::State& s) {
  SamplingParams p;
  p.temperature = 0.8;
  p.top_p = 0.9;
  p.repetition_penalty = 1.1;
  p.presence_penalty = 0.5;
  p.frequency_penalty = 0.3;
  run(s, p, 4000, 500);
}

void BM_StopMatcher(benchmark::State& bench) {
  auto stops = StopStrings::compile({"\n\nUser:", "</answer>", "<|end|>"}).value();
  const std::string tokens[] = {"The", " answer", " is", " <", "b", ">", "42", "</", "b", ">.\n", "Next", " line"};
  StopMatcher m(stops);
  size_t i = 0;
  for (auto _ : bench) {
    StopFeedResult r = m.feed(tokens[i++ % 12]);
    benchmark::DoNotOptimize(r);
  }
}

BENCHMARK(BM_Greedy);
BENCHMARK(BM_Temperature1Full);
BENCHMARK(BM_TopP09Temp08);
BENCHMARK(BM_TopK50);
BENCHMARK(BM_MinP005);
BENCHMARK(BM_TopP09Logprobs5);
BENCHMARK(BM_TopP09Penalties);
BENCHMARK(BM_StopMatcher);

}  // namespace
}  // namespace dsv4

BENCHMARK_MAIN();

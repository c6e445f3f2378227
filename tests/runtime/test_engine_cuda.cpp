// The engine on the CUDA backend: weights uploaded to the device, the paged KV cache and
// every activation in device memory, steps batching prefills and decodes of several
// requests, n > 1 forking a sequence's state on the device. Checked against the CPU model
// (not the engine: the two engines could diverge legitimately after a near-tie): every token
// the device engine picks greedily must be a top choice of the CPU model at that position,
// teacher-forced on the same tokens, with the same log-probability to within the kernels'
// rounding differences. Sampled requests without logprobs draw their tokens on the device;
// those must be the CPU sampler's draws from the CPU model's logits.
//
// Over the host emulation (label model-emu) this checks the engine's wiring to a device
// backend in every CI run; on a GPU (label gpu) also the device arithmetic.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "../model/cuda_model_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "engine_fixture.h"
#include "model/model.h"
#include "runtime/sampler.h"
#include "runtime/standalone_kv_cache.h"

namespace dsv4::testing {
namespace {

// Exact numerics (fp32, nothing quantized): there the backends differ only in the order of
// fp32 additions, so long runs stay comparable (tests/model/test_cuda_model.cpp explains why
// the quantizing reference numerics are compared on short runs only; they are no different
// for the engine). How far a device-picked token may sit below the CPU's best logit
// (relative to the row's largest magnitude), and how far its log-probability may be from
// the CPU's: the measured gaps are ~1e-6 (see the printout); a wiring error (a wrong KV
// row, slot or page) moves logits by O(1) of their spread.
constexpr double kLogitSlack = 1e-3;
constexpr double kLogprobSlack = 1e-3;

class CudaEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!make_model_test_backend(&why)) GTEST_SKIP() << why;
    config_ = micro_model_config();
    engine_ = make_engine(NumericsMode::kExact, false);
  }

  // An engine over a backend of its own (null after a failed assertion).
  std::unique_ptr<EngineImpl> make_engine(NumericsMode numerics, bool decode_graphs) {
    std::string why;
    std::unique_ptr<Backend> backend = make_model_test_backend(&why);
    EXPECT_NE(backend, nullptr) << why;
    if (!backend) return nullptr;
    DeviceRuntime& rt = cuda_backend_runtime(*backend);
    std::unique_ptr<LoadedModel> model = in_memory_model(config_, kSeed);
    Result<std::unique_ptr<ExecutionDevice>> dev = make_gpu_execution_device(std::move(backend), rt, *model);
    EXPECT_TRUE(dev.is_ok()) << dev.status().to_string();
    if (!dev.is_ok()) return nullptr;
    EngineConfig c;
    c.n_threads = 2;
    c.numerics = numerics;
    c.max_num_seqs = 4;
    c.page_tokens = kPageTokens;
    c.decode_graphs = decode_graphs;
    c.kv_cache_bytes = kv_bytes_for_pages(config_, kPageTokens, c.max_num_seqs, 16,
                                          numerics == NumericsMode::kExact ? Numerics::exact() : Numerics::reference());
    Result<std::unique_ptr<EngineImpl>> e = EngineImpl::create(c, std::move(model), std::move(dev).value());
    EXPECT_TRUE(e.is_ok()) << e.status().to_string();
    return e.is_ok() ? std::move(e).value() : nullptr;
  }

  // The CPU model's logits, teacher-forced on prompt + generated: row i predicts generated[i].
  std::vector<float> cpu_logits(const std::vector<int32_t>& prompt, const std::vector<GeneratedToken>& generated) {
    std::unique_ptr<LoadedModel> cpu_model = in_memory_model(config_, kSeed);
    std::unique_ptr<Backend> cpu = make_cpu_backend({2, CpuKernels::kFast});
    Model model(config_, *cpu_model->weights, *cpu, Numerics::exact());
    std::vector<int32_t> seq = prompt;
    for (const GeneratedToken& g : generated) seq.push_back(g.token);
    seq.pop_back();  // the last token's logits are not needed
    StandaloneKvCache cache(config_, Numerics::exact(), *cpu, 1, static_cast<int64_t>(seq.size()));
    const int32_t slot = cache.add_sequence();
    ForwardBatch b;
    b.tokens = seq;
    b.chunks = {{slot, 0, static_cast<int64_t>(seq.size())}};
    b.logits = LogitsMode::kAll;
    ForwardResult r;
    EXPECT_TRUE(model.forward(b, cache, &r).is_ok());
    const auto first = static_cast<size_t>(prompt.size() - 1) * static_cast<size_t>(config_.vocab_size);
    return first <= r.logits.size() ? std::vector<float>(r.logits.begin() + static_cast<std::ptrdiff_t>(first), r.logits.end())
                                    : std::vector<float>{};
  }

  // Teacher-forces prompt + generated on the CPU model and checks each generated token.
  void expect_cpu_agrees(const std::vector<int32_t>& prompt, const std::vector<GeneratedToken>& generated,
                         const char* what) {
    const std::vector<float> logits = cpu_logits(prompt, generated);
    const int64_t vocab = config_.vocab_size;
    ASSERT_EQ(logits.size(), generated.size() * static_cast<size_t>(vocab)) << what;
    int64_t exact_argmax = 0;
    double worst_gap = 0.0, worst_lp = 0.0;
    for (size_t i = 0; i < generated.size(); ++i) {
      const float* row = logits.data() + static_cast<int64_t>(i) * vocab;
      const float best = *std::max_element(row, row + vocab);
      double scale = 0.0, z = 0.0;
      for (int64_t v = 0; v < vocab; ++v) scale = std::max(scale, std::abs(static_cast<double>(row[v])));
      for (int64_t v = 0; v < vocab; ++v) z += std::exp(static_cast<double>(row[v]) - best);
      const int32_t tok = generated[i].token;
      const double gap = (best - row[tok]) / scale;
      const double cpu_lp = row[tok] - best - std::log(z);
      const double lp_diff = std::abs(cpu_lp - generated[i].logprob);
      exact_argmax += row[tok] == best;
      worst_gap = std::max(worst_gap, gap);
      worst_lp = std::max(worst_lp, lp_diff);
      EXPECT_LE(gap, kLogitSlack) << what << ": generated token " << i << " (" << tok << ") is not a top CPU choice";
      EXPECT_LE(lp_diff, kLogprobSlack) << what << ": token " << i << " logprob " << generated[i].logprob
                                        << " vs the CPU's " << cpu_lp;
    }
    std::printf("%s: %zu tokens, %lld the CPU argmax, worst logit gap %.3e (relative), worst logprob diff %.3e\n", what,
                generated.size(), static_cast<long long>(exact_argmax), worst_gap, worst_lp);
  }

  static constexpr uint64_t kSeed = 3;
  static constexpr int64_t kPageTokens = 128;  // the smallest page: prefix hits with short prompts
  ModelConfig config_;
  std::unique_ptr<EngineImpl> engine_;
};

TEST_F(CudaEngine, DescribesItsDeviceAndSizesTheCacheOnIt) {
  EXPECT_FALSE(engine_->info().device.empty());
  EXPECT_NE(engine_->info().device, "cpu");
  EXPECT_GE(engine_->info().kv_pages, 16);
}

// Two requests in flight at once (one prefilling while the other decodes after the first
// step), one of them with n = 2 (the second choice forks the first's slot and last page on
// the device). The long prompt runs past the window and a ratio-128 block.
TEST_F(CudaEngine, GreedyTokensAreTheCpuModelsTopChoices) {
  const int32_t n_new = 8;
  const std::vector<int32_t> pa = random_prompt(300, config_.vocab_size, 1);
  const std::vector<int32_t> pb = random_prompt(70, config_.vocab_size, 2);
  GenerationRequest rb = greedy(pb, n_new, 2);
  rb.sampling.n = 2;
  auto sa = engine_->submit(greedy(pa, n_new, 2));
  auto sb = engine_->submit(rb);
  ASSERT_TRUE(sa.is_ok()) << sa.status().to_string();
  ASSERT_TRUE(sb.is_ok()) << sb.status().to_string();
  const Completion a = drain(**sa);
  const Completion b = drain(**sb, 2);
  ASSERT_EQ(a.finish[0], FinishReason::kLength);
  ASSERT_EQ(a.tokens[0].size(), static_cast<size_t>(n_new));
  for (int ch = 0; ch < 2; ++ch) {
    ASSERT_EQ(b.finish[static_cast<size_t>(ch)], FinishReason::kLength);
    ASSERT_EQ(b.tokens[static_cast<size_t>(ch)].size(), static_cast<size_t>(n_new));
  }
  // Greedy choices of one prompt are the same sequence: the fork copied the state exactly.
  EXPECT_EQ(token_ids(b.tokens[0]), token_ids(b.tokens[1]));
  expect_cpu_agrees(pa, a.tokens[0], "request a");
  expect_cpu_agrees(pb, b.tokens[0], "request b, choice 0");
  expect_cpu_agrees(pb, b.tokens[1], "request b, choice 1");
  EXPECT_EQ(engine_->metrics().requests_finished, 2);
}

// A sampled request (temperature, top-p, top-k, seeded) without logprobs: every token is drawn
// on the device and only its id comes back. Each must be the token the engine's CPU sampler
// draws, with the same seed and step, from the CPU model's logits (teacher-forced): the
// device sampler's contract, end to end through the engine.
TEST_F(CudaEngine, SampledTokensAreDrawnOnTheDeviceAsTheCpuSamplerDrawsThem) {
  const int32_t n_new = 8;
  const std::vector<int32_t> prompt = random_prompt(70, config_.vocab_size, 9);
  GenerationRequest req;
  req.prompt = prompt;
  req.sampling.temperature = 0.9;
  req.sampling.top_p = 0.95;
  req.sampling.top_k = 200;
  req.sampling.seed = 11;
  req.sampling.max_tokens = n_new;
  req.sampling.ignore_eos = true;
  auto st = engine_->submit(req);
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  const Completion c = drain(**st);
  ASSERT_EQ(c.tokens[0].size(), static_cast<size_t>(n_new));
  // Metrics are published at the end of the step that finished the request.
  for (int i = 0; i < 200 && engine_->metrics().device_sampled_tokens < n_new; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(engine_->metrics().device_sampled_tokens, n_new);

  const std::vector<float> logits = cpu_logits(prompt, c.tokens[0]);
  ASSERT_EQ(logits.size(), static_cast<size_t>(n_new * config_.vocab_size));
  Sampler sampler(SamplerConfig{config_.vocab_size, {static_cast<int32_t>(config_.eos_token_id)}});
  SequenceSamplingState state(std::make_shared<const PromptTokenSet>(prompt, config_.vocab_size),
                              SamplerRng(*req.sampling.seed, 0));
  for (int32_t i = 0; i < n_new; ++i) {
    const std::span<const float> row(logits.data() + static_cast<int64_t>(i) * config_.vocab_size,
                                     static_cast<size_t>(config_.vocab_size));
    EXPECT_EQ(c.tokens[0][static_cast<size_t>(i)].token, sampler.sample(row, req.sampling, state).token)
        << "token " << i;
    state.append(c.tokens[0][static_cast<size_t>(i)].token);
  }
}

// The second request with the same prompt resumes from the first one's cached pages and
// snapshot, all in device memory, and still picks the CPU model's tokens.
TEST_F(CudaEngine, PrefixHitsResumeFromDeviceState) {
  const std::vector<int32_t> p = random_prompt(kPageTokens + 12, config_.vocab_size, 5);
  const int32_t n_new = 2;
  auto first = engine_->submit(greedy(p, n_new, 2));
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  const Completion a = drain(**first);
  auto second = engine_->submit(greedy(p, n_new, 2));
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  const Completion b = drain(**second);
  EXPECT_EQ(a.usage.cached_prompt_tokens, 0);
  EXPECT_EQ(b.usage.cached_prompt_tokens, kPageTokens);
  ASSERT_EQ(b.tokens[0].size(), static_cast<size_t>(n_new));
  expect_cpu_agrees(p, a.tokens[0], "uncached");
  expect_cpu_agrees(p, b.tokens[0], "after a prefix hit");
}

// --decode-graphs: the same requests on an engine replaying decode segments from graphs and on
// one running plain ops, reference numerics (the routed experts on the grouped kernels, so
// every segment can be captured). Three requests of different lengths make decode batches of
// 3 (padded to 4), 2 and 1 sequences. Over the emulation every token and its log-probability
// must be the same bit for bit: a replay runs the plain ops' kernels on the same rows. On a
// GPU, cuBLASLt may add in another order for 4 rows than for 3: log-probabilities within
// kLogprobSlack.
TEST_F(CudaEngine, DecodeGraphsPickEveryTokenAsThePlainOpsDo) {
  bool emulated = false;
  auto run = [&](bool graphs, EngineMetrics* metrics) {
    std::unique_ptr<EngineImpl> engine = make_engine(NumericsMode::kReference, graphs);
    std::vector<std::vector<GeneratedToken>> out;
    if (!engine) return out;
    emulated = engine->info().device == "host emulation";
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 3; ++i) {
      auto st = engine->submit(greedy(random_prompt(20 + 15 * i, config_.vocab_size, 30 + static_cast<uint64_t>(i)),
                                      4 + 3 * i, 2));
      EXPECT_TRUE(st.is_ok()) << st.status().to_string();
      if (st.is_ok()) streams.push_back(*st);
    }
    for (auto& s : streams) out.push_back(drain(*s).tokens[0]);
    for (int i = 0; i < 200 && engine->metrics().requests_finished < 3; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    *metrics = engine->metrics();
    return out;
  };
  EngineMetrics plain_m, graph_m;
  const auto plain = run(false, &plain_m);
  const auto graphed = run(true, &graph_m);
  ASSERT_EQ(plain.size(), 3u);
  ASSERT_EQ(graphed.size(), 3u);
  for (size_t r = 0; r < plain.size(); ++r) {
    ASSERT_EQ(graphed[r].size(), plain[r].size()) << "request " << r;
    for (size_t i = 0; i < plain[r].size(); ++i) {
      ASSERT_EQ(graphed[r][i].token, plain[r][i].token) << "request " << r << " token " << i;
      if (emulated) {
        EXPECT_EQ(graphed[r][i].logprob, plain[r][i].logprob) << "request " << r << " token " << i;
      } else {
        EXPECT_NEAR(graphed[r][i].logprob, plain[r][i].logprob, kLogprobSlack) << "request " << r << " token " << i;
      }
    }
  }
  std::printf("decode graphs through the engine (%s): %lld replays, %lld captures\n",
              emulated ? "emulated: bit for bit" : "GPU: within the slack", static_cast<long long>(graph_m.graph_replays),
              static_cast<long long>(graph_m.graph_captures));
  EXPECT_EQ(plain_m.graph_replays, 0);
  EXPECT_GT(graph_m.graph_replays, 0);
  EXPECT_GT(graph_m.graph_captures, 0);
}

}  // namespace
}  // namespace dsv4::testing

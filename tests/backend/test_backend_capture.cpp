// Backend::capture on the CUDA backend: a captured chain of ops runs nothing until launched,
// and each launch computes, bit for bit, what the same ops run eagerly compute on the inputs
// of that moment. An op that needs the host inside the capture (upload, download, allocate,
// scratch growth, an op's own upload or read-back) fails the capture with its name, runs
// nothing then or later, and leaves the backend working eagerly; memory handed out meanwhile
// is still zeroed. The memory epoch moves when a block is given back, not when one is taken.
// The CPU backend cannot capture and says so.
//
// Compiled into the emulated backend's test binary (every CI run) and the GPU one.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend_under_test.h"

namespace dsv4::backend_test {
namespace {

using dsv4k::Round;

constexpr int64_t kM = 3, kD = 256, kInter = 128;  // rows, model dim (two FP8 k blocks), FFN width

class BackendCapture : public DeviceBackendTest {
 protected:
  BackendCapture() : DeviceBackendTest(99) {}

  WeightRef fp8_weight(int64_t n, int64_t k) {
    const std::vector<uint8_t> sc = scales(static_cast<size_t>(((n + 127) / 128) * ((k + 127) / 128)));
    return WeightRef::of(dsv4k::Fp8Weight{dev_->up(bytes(static_cast<size_t>(n * k), true)), dev_->up(sc), n, k});
  }
  WeightRef fp4_weight(int64_t n, int64_t k) {
    const std::vector<uint8_t> d = bytes(static_cast<size_t>(n * k / 2));  // every e2m1 code is a number
    const std::vector<uint8_t> sc = scales(static_cast<size_t>(n * k / 32));
    return WeightRef::of(dsv4k::Fp4Weight{dev_->up(d), dev_->up(sc), n, k});
  }
  std::vector<float> down(const float* p, int64_t n) { return dev_->down(p, static_cast<size_t>(n)); }
};

// One FFN-like segment: rmsnorm, two FP8 projections with quantized activations, SwiGLU.
struct Chain {
  const uint16_t* norm_w;  // [kD] bf16
  WeightRef w1, w3;        // [kInter, kD] fp8
  float* x;                // [kM, kD] the input
  float* xn;               // [kM, kD]
  float* g;                // [kM, kInter]
  float* u;                // [kM, kInter]
  float* h;                // [kM, kInter] the output

  void run(Backend& be, float* out) const {
    be.rmsnorm(x, kM, kD, kD, norm_w, 1e-6f, xn, kD, Round::kBf16);
    be.linear(xn, kM, kD, w1, ActQuant::kE4M3Block, g, kInter, Round::kBf16);
    be.linear(xn, kM, kD, w3, ActQuant::kE4M3Block, u, kInter, Round::kBf16);
    be.swiglu(g, u, kM, kInter, kInter, nullptr, 7.0f, out, kInter, Round::kBf16);
  }
};

TEST_F(BackendCapture, ALaunchComputesWhatTheOpsComputeEagerlyOnTheInputsOfThatMoment) {
  ASSERT_TRUE(be_->can_capture());
  std::vector<uint16_t> norm_w(kD);
  for (auto& w : norm_w) w = dsv4k::f32_to_bf16(1.0f + 0.1f * normal(1)[0]);
  const std::vector<float> zeros(kM * kInter, 0.0f);
  Chain c{dev_->up(norm_w), fp8_weight(kInter, kD), fp8_weight(kInter, kD), dev_->up(normal(kM * kD)),
          dev_->alloc<float>(kM * kD), dev_->alloc<float>(kM * kInter), dev_->alloc<float>(kM * kInter),
          dev_->up(zeros)};
  float* eager = dev_->up(zeros);
  // One eager run first: it grows the backend's scratch to the segment's sizes, as the
  // model's first step does before it captures.
  c.run(*be_, eager);
  const std::vector<float> first = down(eager, kM * kInter);

  const uint64_t epoch = be_->memory_epoch();
  Result<std::unique_ptr<BackendGraph>> graph = be_->capture([&] { c.run(*be_, c.h); });
  ASSERT_TRUE(graph.is_ok()) << graph.status().to_string();
  EXPECT_EQ(down(c.h, kM * kInter), zeros) << "the captured ops ran while being captured";
  EXPECT_EQ(be_->memory_epoch(), epoch) << "capturing gave memory back";

  for (int replay = 0; replay < 2; ++replay) {
    be_->upload(c.x, normal(kM * kD).data(), kM * kD * sizeof(float));
    (*graph)->launch();
    const std::vector<float> got = down(c.h, kM * kInter);
    c.run(*be_, eager);
    EXPECT_EQ(got, down(eager, kM * kInter)) << "launch " << replay;
    EXPECT_NE(got, first) << "launch " << replay << " did not read the new input";
  }
}

// Device copies and fills are captured like kernels: run at launch, on the memory of then.
TEST_F(BackendCapture, CopiesAndFillsRunWhenLaunched) {
  constexpr int64_t kN = 96;
  float* src = dev_->up(std::vector<float>(kN, 1.0f));
  float* dst = dev_->up(std::vector<float>(kN, -1.0f));
  float* z = dev_->up(std::vector<float>(kN, -1.0f));
  Result<std::unique_ptr<BackendGraph>> graph = be_->capture([&] {
    be_->copy_2d(dst, 32 * sizeof(float), src, 32 * sizeof(float), 32 * sizeof(float), 3);
    be_->zero(z, kN * sizeof(float));
  });
  ASSERT_TRUE(graph.is_ok()) << graph.status().to_string();
  EXPECT_EQ(down(dst, kN), std::vector<float>(kN, -1.0f)) << "the copy ran while being captured";
  EXPECT_EQ(down(z, kN), std::vector<float>(kN, -1.0f)) << "the fill ran while being captured";
  be_->upload(src, std::vector<float>(kN, 4.0f).data(), kN * sizeof(float));
  (*graph)->launch();
  EXPECT_EQ(down(dst, kN), std::vector<float>(kN, 4.0f));
  EXPECT_EQ(down(z, kN), std::vector<float>(kN, 0.0f));
}

// An op that needs the host inside the capture: the capture fails naming it, and nothing of
// it runs (the scale before the upload neither then nor at a later sync), while the same
// backend runs ops and captures normally afterwards.
TEST_F(BackendCapture, AnUploadFailsTheCaptureAndNothingOfItRuns) {
  constexpr int64_t kN = 1024;
  float* y = dev_->up(std::vector<float>(kN, 1.0f));
  float* dst = dev_->up(std::vector<float>(kN, 0.0f));
  const std::vector<float> host(kN, 3.0f);
  Result<std::unique_ptr<BackendGraph>> graph = be_->capture([&] {
    be_->scale(y, kN, 2.0f, Round::kNone);
    be_->upload(dst, host.data(), kN * sizeof(float));
    be_->scale(y, kN, 5.0f, Round::kNone);
  });
  ASSERT_FALSE(graph.is_ok());
  EXPECT_EQ(graph.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(graph.status().message().find("upload of 4096 bytes needs the host"), std::string::npos)
      << graph.status().message();
  EXPECT_EQ(down(dst, kN), std::vector<float>(kN, 0.0f));
  be_->scale(y, kN, 3.0f, Round::kNone);
  EXPECT_EQ(down(y, kN), std::vector<float>(kN, 3.0f)) << "a captured scale ran";
  be_->upload(dst, host.data(), kN * sizeof(float));
  EXPECT_EQ(down(dst, kN), host);

  Result<std::unique_ptr<BackendGraph>> clean = be_->capture([&] { be_->scale(y, kN, 2.0f, Round::kNone); });
  ASSERT_TRUE(clean.is_ok()) << clean.status().to_string();
  (*clean)->launch();
  EXPECT_EQ(down(y, kN), std::vector<float>(kN, 6.0f));
}

// The host after a download inside a capture reads zeros, not stale or garbage values.
TEST_F(BackendCapture, ADownloadFailsTheCaptureAndYieldsZeros) {
  constexpr int64_t kN = 64;
  float* y = dev_->up(std::vector<float>(kN, 1.5f));
  std::vector<float> host(kN, -7.0f);
  Result<std::unique_ptr<BackendGraph>> graph = be_->capture([&] {
    be_->scale(y, kN, 2.0f, Round::kNone);
    be_->download(host.data(), y, kN * sizeof(float));
  });
  ASSERT_FALSE(graph.is_ok());
  EXPECT_NE(graph.status().message().find("download of 256 bytes needs the host"), std::string::npos)
      << graph.status().message();
  EXPECT_EQ(host, std::vector<float>(kN, 0.0f));
  be_->download(host.data(), y, kN * sizeof(float));
  EXPECT_EQ(host, std::vector<float>(kN, 1.5f)) << "the captured scale ran, or the download did not";
}

// The block is handed out (callers treat a failed allocation as a bug) and, once the capture
// is over, zeroed like any new block, although the pool hands out one with old bytes in it.
TEST_F(BackendCapture, AnAllocationFailsTheCaptureButTheBlockIsZeroed) {
  constexpr size_t kBytes = 3000;
  void* first = nullptr;
  {
    Result<std::unique_ptr<BackendMemory>> m = be_->allocate(kBytes);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    first = (*m)->data();
    be_->upload(first, std::vector<uint8_t>(kBytes, 0xEE).data(), kBytes);
  }
  std::unique_ptr<BackendMemory> mem;
  Result<std::unique_ptr<BackendGraph>> graph = be_->capture([&] {
    Result<std::unique_ptr<BackendMemory>> m = be_->allocate(kBytes);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    mem = std::move(m).value();
  });
  ASSERT_FALSE(graph.is_ok());
  EXPECT_NE(graph.status().message().find("allocation of 3000 bytes needs the host"), std::string::npos)
      << graph.status().message();
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(mem->data(), first) << "the pool did not reuse the block: the zeroing is not tested";
  std::vector<uint8_t> back(kBytes, 1);
  be_->download(back.data(), mem->data(), kBytes);
  EXPECT_EQ(back, std::vector<uint8_t>(kBytes, 0));
}

// Ops whose own host steps (uploading a list, reading results back, growing scratch) would
// stop the process eagerly on failure poison the capture instead.
TEST_F(BackendCapture, HostStepsInsideOpsFailTheCapture) {
  constexpr int64_t kVocab = 50;
  const float* logits = dev_->up(normal(2 * kVocab));
  std::vector<dsv4k::SampleRowParams> params(2);
  for (auto& p : params) p.temperature = 0.0;  // argmax
  std::vector<int32_t> tokens(2, -1), status(2, -1);
  // Eagerly first, so that the sampler's scratch exists and the upload is the first host step.
  ASSERT_TRUE(be_->sample_rows(logits, 2, kVocab, kVocab, params.data(), tokens.data(), status.data()));
  ASSERT_NE(tokens, std::vector<int32_t>(2, 0)) << "argmax at 0 in both rows: the zeros below would prove nothing";
  Result<std::unique_ptr<BackendGraph>> graph =
      be_->capture([&] { be_->sample_rows(logits, 2, kVocab, kVocab, params.data(), tokens.data(), status.data()); });
  ASSERT_FALSE(graph.is_ok());
  const std::string upload =
      "upload of " + std::to_string(2 * sizeof(dsv4k::SampleRowParams)) + " bytes (sampling settings)";
  EXPECT_NE(graph.status().message().find(upload), std::string::npos) << graph.status().message();
  EXPECT_EQ(tokens, std::vector<int32_t>(2, 0));
  EXPECT_EQ(status, std::vector<int32_t>(2, 0));

  // Quantized activations for more rows than ever before: the scratch grows.
  const WeightRef w = fp8_weight(kInter, kD);
  const float* x = dev_->up(normal(64 * kD));
  float* y = dev_->alloc<float>(64 * kInter);
  graph = be_->capture([&] { be_->linear(x, 64, kD, w, ActQuant::kE4M3Block, y, kInter, Round::kNone); });
  ASSERT_FALSE(graph.is_ok());
  EXPECT_NE(graph.status().message().find("scratch allocation of"), std::string::npos) << graph.status().message();
  EXPECT_EQ(down(y, 64 * kInter), std::vector<float>(64 * kInter, 0.0f));
}

// The routed experts: the grouped path captures once its weight tables exist (its first
// eager call uploads them: a capture before that fails naming them), and replays like the
// eager op; the loop over experts reads the routing back, so its capture fails on that.
TEST_F(BackendCapture, RoutedExpertsCaptureOnTheGroupedPathOnly) {
  const MoeShape sh{kD, kInter, 2, 4, 7.0f};
  std::vector<ExpertWeights> experts(4);
  for (ExpertWeights& e : experts) {
    e.w1 = fp4_weight(kInter, kD);
    e.w3 = fp4_weight(kInter, kD);
    e.w2 = fp4_weight(kD, kInter);
  }
  const int32_t* ids = dev_->up(std::vector<int32_t>{0, 2, 1, 3, 2, 3});  // [kM, top_k]
  const float* weights = dev_->up(std::vector<float>{0.5f, 0.25f, 1.0f, 0.75f, 0.125f, 0.5f});
  const float* shared = dev_->up(normal(kM * kD));
  float* x = dev_->up(normal(kM * kD));
  float* out = dev_->up(std::vector<float>(kM * kD, 0.0f));
  float* eager = dev_->alloc<float>(kM * kD);
  const auto moe = [&](float* y, ActQuant aq) {
    be_->moe_experts(x, kM, ids, weights, experts.data(), sh, aq, shared, y, Round::kBf16);
  };

  Result<std::unique_ptr<BackendGraph>> graph = be_->capture([&] { moe(out, ActQuant::kE4M3Block); });
  ASSERT_FALSE(graph.is_ok());
  EXPECT_NE(graph.status().message().find("(the routed experts' weight tables) needs the host"), std::string::npos)
      << graph.status().message();
  moe(eager, ActQuant::kE4M3Block);  // uploads the tables, grows the scratch
  ASSERT_EQ(cuda_backend_moe_experts_report(*be_).grouped, 1) << "the layer did not take the grouped path";

  graph = be_->capture([&] { moe(out, ActQuant::kE4M3Block); });
  ASSERT_TRUE(graph.is_ok()) << graph.status().to_string();
  EXPECT_EQ(down(out, kM * kD), std::vector<float>(kM * kD, 0.0f));
  for (int replay = 0; replay < 2; ++replay) {
    be_->upload(x, normal(kM * kD).data(), kM * kD * sizeof(float));
    (*graph)->launch();
    const std::vector<float> got = down(out, kM * kD);
    moe(eager, ActQuant::kE4M3Block);
    EXPECT_EQ(got, down(eager, kM * kD)) << "launch " << replay;
  }

  graph = be_->capture([&] { moe(out, ActQuant::kNone); });
  ASSERT_FALSE(graph.is_ok());
  EXPECT_NE(graph.status().message().find("download of"), std::string::npos) << graph.status().message();
}

TEST_F(BackendCapture, TheMemoryEpochMovesWhenABlockIsGivenBack) {
  const uint64_t before = be_->memory_epoch();
  Result<std::unique_ptr<BackendMemory>> m = be_->allocate(4096);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(be_->memory_epoch(), before) << "allocating moved the epoch";
  m->reset();
  EXPECT_NE(be_->memory_epoch(), before) << "giving a block back left the epoch";
}

// The inner capture fails at once, without running its ops; the outer one is unharmed.
TEST_F(BackendCapture, ACaptureInsideACaptureIsRefused) {
  float* y = dev_->up(std::vector<float>(32, 1.0f));
  Status inner;
  bool inner_ran = false;
  Result<std::unique_ptr<BackendGraph>> graph = be_->capture([&] {
    be_->scale(y, 32, 2.0f, Round::kNone);
    inner = be_->capture([&] { inner_ran = true; }).status();
  });
  ASSERT_TRUE(graph.is_ok()) << graph.status().to_string();
  EXPECT_EQ(inner.code(), StatusCode::kFailedPrecondition) << inner.to_string();
  EXPECT_FALSE(inner_ran);
  (*graph)->launch();
  EXPECT_EQ(down(y, 32), std::vector<float>(32, 2.0f));
}

TEST(CpuBackendCapture, CannotCaptureAndRunsNothing) {
  CpuBackendOptions o;
  o.n_threads = 1;
  const std::unique_ptr<Backend> cpu = make_cpu_backend(o);
  EXPECT_FALSE(cpu->can_capture());
  bool ran = false;
  Result<std::unique_ptr<BackendGraph>> graph = cpu->capture([&] { ran = true; });
  ASSERT_FALSE(graph.is_ok());
  EXPECT_EQ(graph.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace dsv4::backend_test

// The routed experts' FP4 GEMM on a GPU: the tensor-core core (grouped_gemm_mma.cuh) against
// the SIMT core (grouped_gemm.cuh) on the same inputs, at DeepSeek-V4-Flash shapes: 256
// experts, top-6 routing of 8, 64 (every token also on expert 0: a 64-row expert) and 512
// tokens, d = 4096 and 7168, inter = 2048; both GEMM shapes of an expert, gate/up (n = inter,
// k = d, token rows gathered through x_rows) and down (n = d, k = inter, permuted rows).
//
// Bound (derived in grouped_gemm_mma.cuh): |y_mma − y_simt| ≤ (103 + 2·k/32)·2^-24·S, with S
// = Σ_k |xq·wq·sx·sw| of the output. S comes from the SIMT core itself on the absolute
// values of the codes (every term ≥ 0, so its own relative error is ~1e-5: a 0.1% margin).
// The ratio |diff| / (2^-24·S) observed is printed, with both cores' times: what only a GPU
// can tell (the tensor core's order and rounding of a group's additions, and speed).
//
// The expert weights are 16 distinct random sets shared out among the 256 experts (memory
// and upload time); the two cores look experts up the same way, and the emulated tests and
// the MoE GPU test check the lookup itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <ostream>
#include <random>
#include <vector>

#include "cuda/grouped_gemm.h"
#include "dsv4k/gemm.h"
#include "dsv4k/moe_dispatch.h"
#include "dsv4k/quant.h"
#include "gpu_test_util.h"

namespace dsv4 {
namespace {

using dsv4k::Fp4Weight;
using dsv4k::QuantizedRows;
using dsv4k::Round;
using dsv4k::cuda::ExpertGemmCore;
using gpu_test::DeviceVector;

constexpr int64_t kExperts = 256, kTopK = 6, kInter = 2048, kWeightSets = 16;
constexpr double kU = 1.0 / 16777216.0;

// Fast random bytes (the weights run to hundreds of MB).
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  void fill(std::vector<uint8_t>& v) {
    for (size_t i = 0; i < v.size(); i += 8) {
      const uint64_t r = next();
      std::memcpy(v.data() + i, &r, std::min<size_t>(8, v.size() - i));
    }
  }
};

// One GEMM's operands on the device, with |codes| copies for the bound's S.
struct DeviceGemm {
  std::vector<std::unique_ptr<DeviceVector<uint8_t>>> keep;
  const Fp4Weight* experts = nullptr;      // [kExperts]
  const Fp4Weight* abs_experts = nullptr;  // [kExperts], sign bits cleared
  QuantizedRows x{}, abs_x{};
  const int32_t* x_rows = nullptr;
  int64_t n = 0;
};

const uint8_t* upload(DeviceGemm& g, DevicePool& pool, const cuda::Stream& st, const std::vector<uint8_t>& bytes) {
  g.keep.push_back(std::make_unique<DeviceVector<uint8_t>>(pool, st, bytes));
  return g.keep.back()->get();
}

// Expert weights [n, k] for all experts from kWeightSets random sets, and their |w| twins.
void make_experts(DeviceGemm& g, DevicePool& pool, const cuda::Stream& st, int64_t n, int64_t k, SplitMix& rng) {
  const size_t data_bytes = static_cast<size_t>(n * k / 2), scale_bytes = static_cast<size_t>(n * k / 32);
  std::vector<uint8_t> data(data_bytes * kWeightSets), scale(scale_bytes * kWeightSets);
  rng.fill(data);
  for (auto& b : scale) b = static_cast<uint8_t>(120 + rng.next() % 6);
  std::vector<uint8_t> abs_data(data);
  for (auto& b : abs_data) b &= 0x77;  // e2m1 sign bits of both nibbles
  const uint8_t* d = upload(g, pool, st, data);
  const uint8_t* a = upload(g, pool, st, abs_data);
  const uint8_t* s = upload(g, pool, st, scale);
  std::vector<Fp4Weight> views, abs_views;
  for (int64_t e = 0; e < kExperts; ++e) {
    const size_t set = static_cast<size_t>((e * 5 + 3) % kWeightSets);
    views.push_back(Fp4Weight{d + set * data_bytes, s + set * scale_bytes, n, k});
    abs_views.push_back(Fp4Weight{a + set * data_bytes, s + set * scale_bytes, n, k});
  }
  auto as_bytes = [](const std::vector<Fp4Weight>& v) {
    std::vector<uint8_t> b(v.size() * sizeof(Fp4Weight));
    std::memcpy(b.data(), v.data(), b.size());
    return b;
  };
  g.experts = reinterpret_cast<const Fp4Weight*>(upload(g, pool, st, as_bytes(views)));
  g.abs_experts = reinterpret_cast<const Fp4Weight*>(upload(g, pool, st, as_bytes(abs_views)));
  g.n = n;
}

// Quantized activation rows [m, k] and their |x| twin (m_perm: the rows the GEMM sees).
void make_rows(DeviceGemm& g, DevicePool& pool, const cuda::Stream& st, int64_t m, int64_t k, int64_t m_perm,
               std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> xf(static_cast<size_t>(m * k));
  for (auto& v : xf) v = dsv4k::round_bf16(dist(rng));
  std::vector<uint8_t> q(xf.size());
  std::vector<float> s(static_cast<size_t>(m * k / 128));
  dsv4k::ref::quantize_e4m3(xf.data(), m, k, k, 128, q.data(), s.data());
  std::vector<uint8_t> abs_q(q);
  for (auto& b : abs_q) b &= 0x7F;
  std::vector<uint8_t> s_bytes(s.size() * sizeof(float));
  std::memcpy(s_bytes.data(), s.data(), s_bytes.size());
  const float* scales = reinterpret_cast<const float*>(upload(g, pool, st, s_bytes));
  g.x = QuantizedRows{upload(g, pool, st, q), scales, m_perm, k};
  g.abs_x = QuantizedRows{upload(g, pool, st, abs_q), scales, m_perm, k};
}

struct Case {
  int64_t n_tokens, d;
  bool skew;  // every token also routed to expert 0
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "tokens=" << c.n_tokens << " d=" << c.d << (c.skew ? " skewed" : "");
}

class GroupedGemmMmaGpu : public ::testing::TestWithParam<Case> {};

TEST_P(GroupedGemmMmaGpu, TensorCoresMatchTheSimtCoreWithinTheBound) {
  DSV4_REQUIRE_GPU();
  const Case c = GetParam();
  const int64_t P = c.n_tokens * kTopK;
  std::mt19937 rng(static_cast<uint32_t>(c.n_tokens * 31 + c.d));
  SplitMix bytes{static_cast<uint64_t>(c.d) * 977 + static_cast<uint64_t>(c.n_tokens)};
  std::vector<int32_t> ids;
  for (int64_t t = 0; t < c.n_tokens; ++t) {
    std::vector<int32_t> all(kExperts);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin() + (c.skew ? 1 : 0), all.end(), rng);
    std::sort(all.begin(), all.begin() + kTopK);
    ids.insert(ids.end(), all.begin(), all.begin() + kTopK);
  }
  std::vector<int32_t> offsets(kExperts + 1), token_of(static_cast<size_t>(P)), position(static_cast<size_t>(P));
  dsv4k::ref::moe_permute(ids.data(), nullptr, c.n_tokens, kTopK, kExperts, offsets.data(), token_of.data(),
                          position.data(), nullptr);

  Result<std::unique_ptr<gpu_test::DeviceSession>> session = gpu_test::DeviceSession::open();
  DSV4_ASSERT_OK(session.status());
  const cuda::Stream& st = (*session)->stream();
  DevicePool& pool = (*session)->pool();
  DeviceVector<int32_t> d_offsets(pool, st, offsets), d_token_of(pool, st, token_of);

  // Gate/up: n = inter, k = d over the tokens' rows; down: n = d, k = inter over P rows.
  for (const bool down : {false, true}) {
    DeviceGemm g;
    const int64_t n = down ? c.d : kInter, k = down ? kInter : c.d;
    make_experts(g, pool, st, n, k, bytes);
    make_rows(g, pool, st, down ? P : c.n_tokens, k, P, rng);
    g.x_rows = down ? nullptr : d_token_of.get();
    DeviceVector<float> y_mma(pool, st, static_cast<size_t>(P * n)), y_simt(pool, st, static_cast<size_t>(P * n));
    DeviceVector<float> y_auto(pool, st, static_cast<size_t>(P * n)), s_abs(pool, st, static_cast<size_t>(P * n));
    auto run = [&](const QuantizedRows& x, const Fp4Weight* experts, float* y, const ExpertGemmCore* core) {
      return core != nullptr ? dsv4k::cuda::gemm_fp4_grouped_q(x, g.x_rows, d_offsets.get(), experts, kExperts, n, y, n,
                                                               Round::kNone, *core, st.handle())
                             : dsv4k::cuda::gemm_fp4_grouped_q(x, g.x_rows, d_offsets.get(), experts, kExperts, n, y, n,
                                                               Round::kNone, st.handle());
    };
    const ExpertGemmCore mma = ExpertGemmCore::kMma, simt = ExpertGemmCore::kSimt;
    DSV4_ASSERT_OK(cuda::check_launch(run(g.x, g.experts, y_mma.get(), &mma), "mma"));
    DSV4_ASSERT_OK(cuda::check_launch(run(g.x, g.experts, y_simt.get(), &simt), "simt"));
    DSV4_ASSERT_OK(cuda::check_launch(run(g.x, g.experts, y_auto.get(), nullptr), "default"));
    DSV4_ASSERT_OK(cuda::check_launch(run(g.abs_x, g.abs_experts, s_abs.get(), &simt), "simt |x|·|w|"));
    DSV4_ASSERT_OK(st.synchronize());

    // Times of both cores (after the runs above warmed caches and clocks).
    float ms[2] = {0.0f, 0.0f};
    for (int which = 0; which < 2; ++which) {
      Result<cuda::Event> t0 = cuda::Event::create(true), t1 = cuda::Event::create(true);
      DSV4_ASSERT_OK(t0.status());
      DSV4_ASSERT_OK(t1.status());
      constexpr int kReps = 5;
      DSV4_ASSERT_OK(t0->record(st));
      for (int r = 0; r < kReps; ++r)
        DSV4_ASSERT_OK(cuda::check_launch(run(g.x, g.experts, y_auto.get(), which == 0 ? &mma : &simt), "timed"));
      DSV4_ASSERT_OK(t1->record(st));
      DSV4_ASSERT_OK(t1->synchronize());
      Result<float> e = cuda::Event::elapsed_ms(*t0, *t1);
      DSV4_ASSERT_OK(e.status());
      ms[which] = *e / kReps;
    }

    const std::vector<float> a = y_mma.to_host(), b = y_simt.to_host(), d = y_auto.to_host(), s = s_abs.to_host();
    const double factor = (103.0 + 2.0 * static_cast<double>(k / 32)) * kU * 1.001;
    double worst = 0.0;  // max |diff| / (u·S)
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(dsv4k::f32_bits(d[i]), dsv4k::f32_bits(a[i])) << "the default core is not the MMA core, element " << i;
      const double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
      ASSERT_LE(diff, factor * s[i]) << (down ? "down" : "gate/up") << " row " << i / static_cast<size_t>(n) << " col "
                                     << i % static_cast<size_t>(n) << ": " << a[i] << " vs " << b[i] << ", S " << s[i];
      if (s[i] > 0.0f) worst = std::max(worst, diff / (kU * s[i]));
    }
    std::printf("%s tokens=%lld d=%lld (n=%lld k=%lld): max |mma - simt| = %.1f u·S (bound %.0f); "
                "mma %.3f ms, simt %.3f ms\n",
                down ? "down   " : "gate/up", static_cast<long long>(c.n_tokens), static_cast<long long>(c.d),
                static_cast<long long>(n), static_cast<long long>(k), worst, factor / kU / 1.001, ms[0], ms[1]);
  }
}

INSTANTIATE_TEST_SUITE_P(FlashShapes, GroupedGemmMmaGpu,
                         ::testing::Values(Case{8, 4096, false}, Case{64, 4096, true}, Case{512, 4096, false},
                                           Case{8, 7168, false}, Case{64, 7168, true}, Case{512, 7168, false}));

}  // namespace
}  // namespace dsv4

// The SIMT sparse attention (kernels/cuda/attention.cuh) against dsv4k::ref::sparse_attention,
// run through the host emulation of CUDA.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "cuda/attention.cuh"
#include "dsv4k/attention.h"
#include "dsv4k/numeric.h"
#include "emu_test_util.h"

namespace {

using dsv4k::AttentionShape;
using dsv4k::Round;
using dsv4k::emu_test::bf16_normal;
using dsv4k::emu_test::bf16_ulp;
using dsv4k::emu_test::kU;

constexpr float kSentinel = 12345.0f;

struct Case {
  int64_t n_q, n_heads, head_dim, n_cand, n_kv;
  int group;        // 0: the public launcher picks it
  double skip_frac;  // fraction of -1 candidates
  float sink_sigma, sink_shift;
  uint64_t seed;
  float q_sigma = 2.0f, kv_sigma = 1.0f;
};

// Runs one case under both roundings and checks the kernel against the reference.
void run_case(const Case& c) {
  SCOPED_TRACE(::testing::Message() << "n_q=" << c.n_q << " heads=" << c.n_heads << " d=" << c.head_dim
                                    << " n_cand=" << c.n_cand << " group=" << c.group << " seed=" << c.seed);
  std::mt19937 rng(static_cast<unsigned>(c.seed));
  const int64_t d = c.head_dim, H = c.n_heads;
  const int64_t ldq = H * d + 3, ldkv = d + 5, ldo = H * d + 2;
  AttentionShape s;
  s.n_heads = H;
  s.head_dim = d;
  s.scale = 1.0f / std::sqrt(static_cast<float>(d));
  // Queries larger than keys so that the softmax is peaked on some rows and flat on others.
  const auto q = bf16_normal(static_cast<size_t>(c.n_q * ldq), rng, c.q_sigma);
  const auto kv = bf16_normal(static_cast<size_t>(c.n_kv * ldkv), rng, c.kv_sigma);
  auto sink = bf16_normal(static_cast<size_t>(H), rng, c.sink_sigma);
  for (auto& x : sink) x += c.sink_shift;
  std::vector<int32_t> cand(static_cast<size_t>(c.n_q * c.n_cand));
  std::uniform_int_distribution<int32_t> row(0, static_cast<int32_t>(c.n_kv - 1));
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (auto& x : cand) x = u01(rng) < c.skip_frac ? -1 : row(rng);

  for (Round round : {Round::kNone, Round::kBf16}) {
    SCOPED_TRACE(round == Round::kBf16 ? "kBf16" : "kNone");
    std::vector<float> want(static_cast<size_t>(c.n_q * ldo), kSentinel), got = want;
    dsv4k::ref::sparse_attention(q.data(), c.n_q, ldq, s, kv.data(), ldkv, cand.data(), c.n_cand, sink.data(),
                                 want.data(), ldo, round);
    const cudaError_t err =
        c.group == 0
            ? dsv4k::cuda::launch_sparse_attention(q.data(), c.n_q, ldq, s, kv.data(), ldkv, cand.data(), c.n_cand,
                                                   sink.data(), got.data(), ldo, round, nullptr)
            : dsv4k::cuda::launch_sparse_attention_group(q.data(), c.n_q, ldq, s, kv.data(), ldkv, cand.data(),
                                                         c.n_cand, sink.data(), got.data(), ldo, round, c.group,
                                                         nullptr);
    ASSERT_EQ(err, cudaSuccess);

    int64_t mismatched = 0, total = 0;
    for (int64_t t = 0; t < c.n_q; ++t) {
      const int32_t* ct = cand.data() + t * c.n_cand;
      for (int64_t h = 0; h < H; ++h) {
        // Error model, in double. The kernel's logits are fp32 dot products (error at most
        // d·u·Σ|q·k| before the scale) where the reference rounds an exact-ish double dot once;
        // a logit error δ changes p_j by a relative δ (an error in m cancels between numerator
        // and denominator, sink included), so the output moves by at most 2·δmax·B with
        // B = Σ_j p_j|v_j| / denom. The fp32 P·V and denominator sums add (n + 4)·u·B.
        const float* qh = q.data() + t * ldq + h * d;
        std::vector<double> logit(static_cast<size_t>(c.n_cand));
        double m = -std::numeric_limits<double>::infinity(), dmax = 0.0;
        for (int64_t j = 0; j < c.n_cand; ++j) {
          if (ct[j] < 0) continue;
          const float* kj = kv.data() + ct[j] * ldkv;
          double dot = 0.0, mag = 0.0;
          for (int64_t i = 0; i < d; ++i) {
            dot += static_cast<double>(qh[i]) * kj[i];
            mag += std::fabs(static_cast<double>(qh[i]) * kj[i]);
          }
          logit[static_cast<size_t>(j)] = s.scale * dot;
          m = std::max(m, logit[static_cast<size_t>(j)]);
          dmax = std::max(dmax, static_cast<double>(d) * kU * s.scale * mag + 4.0 * kU * std::fabs(s.scale * dot));
        }
        // p = exp(ℓ − m) also sees the fp32 rounding of ℓ − m.
        double spread = 0.0;
        for (int64_t j = 0; j < c.n_cand; ++j)
          if (ct[j] >= 0) spread = std::max(spread, m - logit[static_cast<size_t>(j)]);
        const double delta = 2.0 * (dmax + 2.0 * kU * spread + 2.0 * kU);
        double denom = std::exp(static_cast<double>(sink[static_cast<size_t>(h)]) - m);
        if (std::isnan(denom)) denom = std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < c.n_cand; ++j)
          if (ct[j] >= 0) denom += std::exp(logit[static_cast<size_t>(j)] - m);
        for (int64_t i = 0; i < d; ++i) {
          double b = 0.0;
          for (int64_t j = 0; j < c.n_cand; ++j)
            if (ct[j] >= 0) b += std::exp(logit[static_cast<size_t>(j)] - m) * std::fabs(kv[ct[j] * ldkv + i]);
          b /= denom;
          const size_t at = static_cast<size_t>(t * ldo + h * d + i);
          const float r = want[at], k = got[at];
          double tol = b * (2.0 * delta + static_cast<double>(c.n_cand + 4) * kU) + 2.0 * kU * std::fabs(r);
          // bf16: a p whose fp32 value moved may round to the neighbouring bf16 (at most
          // 2^-8·p_j each, 2^-8·B in all), and the output may round the other way (one ulp).
          if (round == Round::kBf16) tol += b / 256.0 + bf16_ulp(r);
          ++total;
          if (k != r) ++mismatched;
          ASSERT_LE(std::fabs(static_cast<double>(k) - r), tol) << "t=" << t << " h=" << h << " i=" << i;
        }
      }
      // The row padding is never written.
      for (int64_t e = H * d; e < ldo; ++e) ASSERT_EQ(got[static_cast<size_t>(t * ldo + e)], kSentinel);
    }
    // With bf16 outputs the fp32 differences above almost never cross a rounding boundary:
    // nearly every output must be bit-identical (this catches e.g. unrounded probabilities,
    // whose 2^-9-relative effect would pass the per-element bound).
    if (round == Round::kBf16 && total > 0) {
      EXPECT_LE(mismatched, total / 50 + 1) << mismatched << " of " << total;
    }
  }
}

TEST(CudaEmuAttention, EveryGroupSizeWithRemainderHeads) {
  // 6 heads: groups 4 and 8 leave a partial last group.
  uint64_t seed = 1;
  for (int group : {1, 2, 4, 8}) run_case({3, 6, 64, 37, 50, group, 0.15, 1.0f, 0.0f, seed++});
}

TEST(CudaEmuAttention, HeadDimsNotMultiplesOfTheWarp) {
  run_case({2, 3, 40, 29, 31, 2, 0.1, 1.0f, 0.0f, 11});
  run_case({1, 5, 128, 300, 400, 4, 0.2, 1.0f, 0.0f, 12});   // more candidates than threads
  run_case({2, 2, 272, 70, 90, 1, 0.0, 1.0f, 0.0f, 13});     // more channels than threads
}

TEST(CudaEmuAttention, ZeroAndOneCandidates) {
  run_case({2, 4, 64, 0, 8, 2, 0.0, 1.0f, 0.0f, 21});
  run_case({3, 4, 64, 1, 8, 4, 0.0, 1.0f, 0.0f, 22});
  run_case({3, 4, 64, 5, 8, 4, 1.0, 1.0f, 0.0f, 23});  // every entry skipped: output 0
}

TEST(CudaEmuAttention, SinkFarAboveAndBelowTheLogits) {
  // e^(sink − m) ≈ e^95 overflows fp32; large values keep the tiny outputs normal numbers.
  run_case({2, 3, 64, 20, 30, 2, 0.1, 1.0f, 95.0f, 31, 2e-3f, 1e3f});
  run_case({2, 3, 64, 20, 30, 2, 0.1, 1.0f, -120.0f, 32});
}

TEST(CudaEmuAttention, PublicLauncherPicksAGroup) {
  run_case({2, 8, 64, 45, 60, 0, 0.1, 1.0f, 0.0f, 41});
  // More shared memory than the default 48 KiB: the launcher must opt in.
  run_case({1, 2, 64, 6000, 3000, 0, 0.1, 1.0f, 0.0f, 42, 0.5f, 1.0f});
}

}  // namespace

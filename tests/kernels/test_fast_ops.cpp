// The fast non-GEMM ops against their references on random inputs with odd sizes:
// quantize_e4m3 (bit-exact), rmsnorm, sparse_attention and indexer_scores (tolerances
// derived next to each test).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "dsv4k/cpu/avx512.h"
#include "dsv4k/cpu/features.h"
#include "dsv4k/indexer.h"
#include "dsv4k/norm.h"
#include "dsv4k/quant.h"
#include "test_fast_random.h"

namespace dsv4k {
namespace {

using namespace fast_test;

#define SKIP_WITHOUT_AVX512() \
  if (!cpu::avx512_kernels_supported()) GTEST_SKIP() << "CPU lacks AVX-512 BF16/VBMI"

const Round kRounds[] = {Round::kNone, Round::kBf16};

// ---- quantize_e4m3: must be bit-identical (same scale rule, same fp32 ops, exact codec).
TEST(FastQuantize, BitIdenticalIncludingSpecialValues) {
  SKIP_WITHOUT_AVX512();
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t block : {128, 64, 48, 32, 7}) {
    const int64_t n_rows = 5, n_cols = block * 6, ldx = n_cols + 3;
    std::vector<float> x = random_floats(static_cast<size_t>(n_rows * ldx), 100 + block, 1.0f, false);
    std::mt19937 rng(7);
    for (size_t i = 0; i < x.size(); ++i) {
      switch (rng() % 16) {  // magnitudes across the e4m3 range and its edges
        case 0: x[i] *= 1e-6f; break;
        case 1: x[i] *= 1e4f; break;
        case 2: x[i] = 0.0f; break;
        case 3: x[i] = -0.0f; break;
        default: break;
      }
    }
    // Row 1: special values; row 2: all below the amax floor; row 3: ties of the codec.
    x[static_cast<size_t>(ldx + 0)] = std::numeric_limits<float>::quiet_NaN();
    x[static_cast<size_t>(ldx + 1)] = inf;
    x[static_cast<size_t>(ldx + 2)] = -inf;
    x[static_cast<size_t>(ldx + 3)] = 1e38f;
    x[static_cast<size_t>(ldx + 4)] = 1e-40f;  // subnormal
    for (int64_t c = 0; c < n_cols; ++c) x[static_cast<size_t>(2 * ldx + c)] = 1e-7f * static_cast<float>(c % 5);
    for (int64_t c = 0; c < n_cols; ++c) x[static_cast<size_t>(3 * ldx + c)] = 448.0f * (1.0f + 0.0625f * static_cast<float>(c % 17)) / 16.0f;
    const int64_t n_blocks = n_cols / block;
    std::vector<uint8_t> q_ref(static_cast<size_t>(n_rows * n_cols)), q_fast(q_ref.size());
    std::vector<float> s_ref(static_cast<size_t>(n_rows * n_blocks)), s_fast(s_ref.size());
    ref::quantize_e4m3(x.data(), n_rows, n_cols, ldx, block, q_ref.data(), s_ref.data());
    cpu::avx512::quantize_e4m3(x.data(), n_rows, n_cols, ldx, block, q_fast.data(), s_fast.data());
    EXPECT_EQ(q_ref, q_fast) << "block " << block;
    EXPECT_EQ(s_ref, s_fast) << "block " << block;
  }
}

// ---- rmsnorm: the sum of squares is in double in both (different order, relative error
// ~1e-16), so inv can differ by at most one fp32 ulp; y = (x·inv)·w then differs by at most
// 2 fp32 ulps (<= 2^-22 |y|) before rounding, plus one bf16 ulp (2^-7 |y|) with kBf16.
TEST(FastRmsnorm, MatchesReference) {
  SKIP_WITHOUT_AVX512();
  for (int64_t dim : {1, 15, 16, 100, 4096}) {
    for (Round round : kRounds) {
      const int64_t n_rows = 3, ldx = dim + 5, ldy = dim + 2;
      const std::vector<float> x = random_floats(static_cast<size_t>(n_rows * ldx), 200 + dim, 3.0f, false);
      const std::vector<uint16_t> w = random_bf16(static_cast<size_t>(dim), 300 + dim, 1.0f);
      std::vector<float> yr(static_cast<size_t>(n_rows * ldy), -7.0f), yf = yr;
      ref::rmsnorm(x.data(), n_rows, dim, ldx, w.data(), 1e-6f, yr.data(), ldy, round);
      cpu::avx512::rmsnorm(x.data(), n_rows, dim, ldx, w.data(), 1e-6f, yf.data(), ldy, round);
      for (size_t i = 0; i < yr.size(); ++i) {
        const double tol = std::fabs(yr[i]) * (0x1p-22 + (round == Round::kBf16 ? 0x1p-7 : 0.0));
        ASSERT_LE(std::fabs(static_cast<double>(yf[i]) - yr[i]), tol) << "dim " << dim << " i " << i;
      }
    }
  }
}

// ---- sparse_attention. Tolerance: a logit ℓ = scale·q·k is an fp32 dot over d (at most
// d/16 + 5 roundings of partial sums bounded by scale·Σ|q·k|), and exp adds ~2 ulps; a
// relative error ε on every p_j moves the output by at most 2ε·max|v| (numerator and
// denominator), and the fp32 P·V and Σp sums add (n + 8)·2^-24·max|v|. With kBf16 the
// rounded p_j may differ by one bf16 ulp (relative 2^-7) where the two implementations
// straddle a rounding boundary, and the output by one bf16 ulp.
TEST(FastSparseAttention, MatchesReference) {
  SKIP_WITHOUT_AVX512();
  struct Case {
    int64_t n_q, n_heads, head_dim, n_kv, n_cand;
  };
  for (const Case c : {Case{1, 64, 512, 300, 200}, Case{3, 5, 64, 40, 17}, Case{2, 4, 256, 10, 1}, Case{4, 7, 24, 33, 33},
                       Case{2, 3, 16, 5, 6}}) {
    for (Round round : kRounds) {
      const int64_t ldq = c.n_heads * c.head_dim + 3, ldkv = c.head_dim + 1, ldo = c.n_heads * c.head_dim + 2;
      const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
      const std::vector<float> q = random_floats(static_cast<size_t>(c.n_q * ldq), 400, 1.0f, true);
      const std::vector<float> kv = random_floats(static_cast<size_t>(c.n_kv * ldkv), 401, 1.0f, true);
      const std::vector<float> sink = random_floats(static_cast<size_t>(c.n_heads), 402, 2.0f, false);
      std::mt19937 rng(403);
      std::vector<int32_t> cand(static_cast<size_t>(c.n_q * c.n_cand));
      for (int32_t& v : cand) v = rng() % 5 == 0 ? -1 : static_cast<int32_t>(rng() % static_cast<uint32_t>(c.n_kv));
      if (c.n_q > 1)  // one query sees no candidate at all
        for (int64_t j = 0; j < c.n_cand; ++j) cand[static_cast<size_t>(c.n_cand + j)] = -1;
      const AttentionShape shape{c.n_heads, c.head_dim, scale};
      std::vector<float> yr(static_cast<size_t>(c.n_q * ldo), -7.0f), yf = yr;
      ref::sparse_attention(q.data(), c.n_q, ldq, shape, kv.data(), ldkv, cand.data(), c.n_cand, sink.data(), yr.data(),
                            ldo, round);
      cpu::avx512::sparse_attention(q.data(), c.n_q, ldq, shape, kv.data(), ldkv, cand.data(), c.n_cand, sink.data(),
                                    yf.data(), ldo, round);
      double max_v = 0, max_qk = 0;
      for (float v : kv) max_v = std::fmax(max_v, std::fabs(v));
      for (int64_t t = 0; t < c.n_q; ++t)
        for (int64_t h = 0; h < c.n_heads; ++h)
          for (int64_t j = 0; j < c.n_kv; ++j) {
            double a = 0;
            for (int64_t i = 0; i < c.head_dim; ++i)
              a += std::fabs(q[static_cast<size_t>(t * ldq + h * c.head_dim + i)] * kv[static_cast<size_t>(j * ldkv + i)]);
            max_qk = std::fmax(max_qk, a * scale);
          }
      const double eps = (static_cast<double>(c.head_dim) / 16 + 5) * 0x1p-24 * max_qk + 4 * 0x1p-24 +
                         (round == Round::kBf16 ? 0x1p-7 : 0.0);
      const double tol_base = 2 * eps * max_v + (static_cast<double>(c.n_cand) + 8) * 0x1p-24 * max_v;
      for (int64_t t = 0; t < c.n_q; ++t)
        for (int64_t i = 0; i < ldo; ++i) {
          const size_t at = static_cast<size_t>(t * ldo + i);
          if (i >= c.n_heads * c.head_dim) {
            EXPECT_EQ(yf[at], -7.0f) << "padding written";
            continue;
          }
          const double tol = tol_base + (round == Round::kBf16 ? 0x1p-7 * std::fabs(yr[at]) : 0.0);
          ASSERT_LE(std::fabs(static_cast<double>(yf[at]) - yr[at]), tol)
              << "query " << t << " element " << i << " heads " << c.n_heads << " dim " << c.head_dim;
        }
    }
  }
}

// ---- indexer_scores. Tolerance per score: each dot q_h·k is one fp32 FMA chain over d
// (d roundings of partial sums bounded by Σ|q_h·k| = a_h); the fp32 head sum adds
// H·2^-24·Σ_h|w_h|·|dot_h|. With kBf16 a dot, a weighted term or the total may straddle a
// bf16 rounding boundary: one bf16 ulp (2^-7 relative) each, so 2^-6·Σ_h |w_h|·a_h
// covers the dot and term roundings and 2^-7·|score| the final one.
TEST(FastIndexerScores, MatchesReference) {
  SKIP_WITHOUT_AVX512();
  struct Case {
    int64_t n_q, n_heads, head_dim, n_keys;
  };
  for (const Case c : {Case{1, 64, 128, 301}, Case{3, 4, 128, 16}, Case{5, 20, 40, 37}, Case{2, 3, 16, 1}}) {
    for (Round round : kRounds) {
      const int64_t ldq = c.n_heads * c.head_dim + 7;
      const std::vector<float> q = random_floats(static_cast<size_t>(c.n_q * ldq), 500, 1.0f, true);
      const std::vector<float> keys = random_floats(static_cast<size_t>(c.n_keys * c.head_dim), 501, 1.0f, true);
      const std::vector<float> w = random_floats(static_cast<size_t>(c.n_q * c.n_heads), 502, 0.3f, true);
      std::vector<int64_t> visible(static_cast<size_t>(c.n_q));
      for (int64_t t = 0; t < c.n_q; ++t) visible[static_cast<size_t>(t)] = c.n_keys - (t * 7) % (c.n_keys + 1) + (t == 1 ? 50 : 0);
      std::vector<float> sr(static_cast<size_t>(c.n_q * c.n_keys)), sf(sr.size(), 1.0f);
      ref::indexer_scores(q.data(), c.n_q, ldq, c.n_heads, c.head_dim, w.data(), keys.data(), c.n_keys, visible.data(),
                          sr.data(), round);
      cpu::avx512::indexer_scores(q.data(), c.n_q, ldq, c.n_heads, c.head_dim, w.data(), keys.data(), c.n_keys,
                                  visible.data(), sf.data(), round);
      for (int64_t t = 0; t < c.n_q; ++t)
        for (int64_t s = 0; s < c.n_keys; ++s) {
          const size_t at = static_cast<size_t>(t * c.n_keys + s);
          if (std::isinf(sr[at])) {
            ASSERT_EQ(sr[at], sf[at]) << "query " << t << " key " << s;
            continue;
          }
          double wa = 0, terms = 0;
          for (int64_t h = 0; h < c.n_heads; ++h) {
            double a = 0, dot = 0;
            for (int64_t i = 0; i < c.head_dim; ++i) {
              const double p = static_cast<double>(q[static_cast<size_t>(t * ldq + h * c.head_dim + i)]) *
                               keys[static_cast<size_t>(s * c.head_dim + i)];
              a += std::fabs(p);
              dot += p;
            }
            const double wh = std::fabs(w[static_cast<size_t>(t * c.n_heads + h)]);
            wa += wh * (static_cast<double>(c.head_dim) + 2) * 0x1p-24 * a;
            terms += wh * std::fabs(dot);
            if (round == Round::kBf16) wa += 0x1p-6 * wh * (a + std::fabs(dot));
          }
          const double tol = wa + (static_cast<double>(c.n_heads) + 2) * 0x1p-24 * terms +
                             (round == Round::kBf16 ? 0x1p-7 * std::fabs(sr[at]) : 0.0);
          ASSERT_LE(std::fabs(static_cast<double>(sf[at]) - sr[at]), tol) << "query " << t << " key " << s;
        }
    }
  }
}

}  // namespace
}  // namespace dsv4k

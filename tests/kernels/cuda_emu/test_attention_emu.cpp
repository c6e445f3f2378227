// The SIMT sparse attention (kernels/cuda/attention.cuh) against dsv4k::ref::sparse_attention,
// run through the host emulation of CUDA.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "cuda/attention.cuh"
#include "cuda/attention_split.cuh"
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
  int64_t skip_begin = 0, skip_end = 0;  // candidates [skip_begin, skip_end) of every query are -1
};

// A case's inputs, with padded row strides.
struct Inputs {
  AttentionShape s;
  int64_t ldq = 0, ldkv = 0, ldo = 0;
  std::vector<float> q, kv, sink;
  std::vector<int32_t> cand;
};

Inputs make_inputs(const Case& c) {
  std::mt19937 rng(static_cast<unsigned>(c.seed));
  Inputs in;
  const int64_t d = c.head_dim, H = c.n_heads;
  in.ldq = H * d + 3;
  in.ldkv = d + 5;
  in.ldo = H * d + 2;
  in.s.n_heads = H;
  in.s.head_dim = d;
  in.s.scale = 1.0f / std::sqrt(static_cast<float>(d));
  // Queries larger than keys so that the softmax is peaked on some rows and flat on others.
  in.q = bf16_normal(static_cast<size_t>(c.n_q * in.ldq), rng, c.q_sigma);
  in.kv = bf16_normal(static_cast<size_t>(c.n_kv * in.ldkv), rng, c.kv_sigma);
  in.sink = bf16_normal(static_cast<size_t>(H), rng, c.sink_sigma);
  for (auto& x : in.sink) x += c.sink_shift;
  in.cand.resize(static_cast<size_t>(c.n_q * c.n_cand));
  std::uniform_int_distribution<int32_t> row(0, static_cast<int32_t>(c.n_kv - 1));
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (auto& x : in.cand) x = u01(rng) < c.skip_frac ? -1 : row(rng);
  for (int64_t t = 0; t < c.n_q; ++t)
    for (int64_t j = c.skip_begin; j < c.skip_end; ++j) in.cand[static_cast<size_t>(t * c.n_cand + j)] = -1;
  return in;
}

// Runs the kernel under test on a case's inputs, writing out [n_q, ldo].
using Launch = std::function<cudaError_t(const Case&, const Inputs&, Round, float* out)>;

// The single-block kernel: the public launcher without scratch (group 0) or an explicit group.
cudaError_t launch_single(const Case& c, const Inputs& in, Round round, float* out) {
  if (c.group == 0)
    return dsv4k::cuda::launch_sparse_attention(in.q.data(), c.n_q, in.ldq, in.s, in.kv.data(), in.ldkv,
                                                in.cand.data(), c.n_cand, in.sink.data(), out, in.ldo, round, nullptr);
  return dsv4k::cuda::launch_sparse_attention_group(in.q.data(), c.n_q, in.ldq, in.s, in.kv.data(), in.ldkv,
                                                    in.cand.data(), c.n_cand, in.sink.data(), out, in.ldo, round,
                                                    c.group, nullptr);
}

// The split path with c.group heads per block, tile_q queries per launch, host "device" scratch.
Launch split_launch(int64_t tile_q) {
  return [tile_q](const Case& c, const Inputs& in, Round round, float* out) {
    const size_t bytes =
        dsv4k::cuda::sparse_attention_split_scratch_bytes(std::min(tile_q, c.n_q), in.s, c.n_cand);
    std::vector<float> scratch(bytes / sizeof(float) + 1, std::numeric_limits<float>::quiet_NaN());
    return dsv4k::cuda::launch_sparse_attention_split(in.q.data(), c.n_q, in.ldq, in.s, in.kv.data(), in.ldkv,
                                                      in.cand.data(), c.n_cand, in.sink.data(), out, in.ldo, round,
                                                      c.group, tile_q, scratch.data(), bytes, nullptr);
  };
}

// The public launcher with scratch (it picks the path).
cudaError_t launch_public(const Case& c, const Inputs& in, Round round, float* out) {
  const size_t bytes = dsv4k::cuda::launch_sparse_attention_scratch_bytes(c.n_q, in.s, c.n_cand);
  std::vector<float> scratch(bytes / sizeof(float) + 1, std::numeric_limits<float>::quiet_NaN());
  return dsv4k::cuda::launch_sparse_attention(in.q.data(), c.n_q, in.ldq, in.s, in.kv.data(), in.ldkv,
                                              in.cand.data(), c.n_cand, in.sink.data(), out, in.ldo, round,
                                              scratch.data(), bytes, nullptr);
}

// Checks one kernel output against the reference's, with an error model of the fp32 kernel.
void check_against_reference(const Case& c, const Inputs& in, Round round, const std::vector<float>& want,
                             const std::vector<float>& got) {
  const int64_t d = c.head_dim, H = c.n_heads, ldq = in.ldq, ldkv = in.ldkv, ldo = in.ldo;
  int64_t mismatched = 0, total = 0;
  for (int64_t t = 0; t < c.n_q; ++t) {
    const int32_t* ct = in.cand.data() + t * c.n_cand;
    for (int64_t h = 0; h < H; ++h) {
      // Error model, in double. The kernel's logits are fp32 dot products (error at most
      // d·u·Σ|q·k| before the scale) where the reference rounds an exact-ish double dot once;
      // a logit error δ changes p_j by a relative δ (an error in m cancels between numerator
      // and denominator, sink included), so the output moves by at most 2·δmax·B with
      // B = Σ_j p_j|v_j| / denom. The fp32 P·V and denominator sums add (n + 4)·u·B.
      const float* qh = in.q.data() + t * ldq + h * d;
      std::vector<double> logit(static_cast<size_t>(c.n_cand));
      double m = -std::numeric_limits<double>::infinity(), dmax = 0.0;
      for (int64_t j = 0; j < c.n_cand; ++j) {
        if (ct[j] < 0) continue;
        const float* kj = in.kv.data() + ct[j] * ldkv;
        double dot = 0.0, mag = 0.0;
        for (int64_t i = 0; i < d; ++i) {
          dot += static_cast<double>(qh[i]) * kj[i];
          mag += std::fabs(static_cast<double>(qh[i]) * kj[i]);
        }
        logit[static_cast<size_t>(j)] = in.s.scale * dot;
        m = std::max(m, logit[static_cast<size_t>(j)]);
        dmax = std::max(dmax, static_cast<double>(d) * kU * in.s.scale * mag + 4.0 * kU * std::fabs(in.s.scale * dot));
      }
      // p = exp(ℓ − m) also sees the fp32 rounding of ℓ − m.
      double spread = 0.0;
      for (int64_t j = 0; j < c.n_cand; ++j)
        if (ct[j] >= 0) spread = std::max(spread, m - logit[static_cast<size_t>(j)]);
      const double delta = 2.0 * (dmax + 2.0 * kU * spread + 2.0 * kU);
      double denom = std::exp(static_cast<double>(in.sink[static_cast<size_t>(h)]) - m);
      if (std::isnan(denom)) denom = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < c.n_cand; ++j)
        if (ct[j] >= 0) denom += std::exp(logit[static_cast<size_t>(j)] - m);
      for (int64_t i = 0; i < d; ++i) {
        double b = 0.0;
        for (int64_t j = 0; j < c.n_cand; ++j)
          if (ct[j] >= 0) b += std::exp(logit[static_cast<size_t>(j)] - m) * std::fabs(in.kv[ct[j] * ldkv + i]);
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

// Runs one case under both roundings and checks the kernel against the reference. Returns the
// outputs, kNone then kBf16.
std::vector<std::vector<float>> run_case(const Case& c, const Launch& launch = launch_single) {
  SCOPED_TRACE(::testing::Message() << "n_q=" << c.n_q << " heads=" << c.n_heads << " d=" << c.head_dim
                                    << " n_cand=" << c.n_cand << " group=" << c.group << " seed=" << c.seed);
  const Inputs in = make_inputs(c);
  std::vector<std::vector<float>> outs;
  for (Round round : {Round::kNone, Round::kBf16}) {
    SCOPED_TRACE(round == Round::kBf16 ? "kBf16" : "kNone");
    std::vector<float> want(static_cast<size_t>(c.n_q * in.ldo), kSentinel), got = want;
    dsv4k::ref::sparse_attention(in.q.data(), c.n_q, in.ldq, in.s, in.kv.data(), in.ldkv, in.cand.data(), c.n_cand,
                                 in.sink.data(), want.data(), in.ldo, round);
    EXPECT_EQ(launch(c, in, round, got.data()), cudaSuccess);
    check_against_reference(c, in, round, want, got);
    outs.push_back(std::move(got));
  }
  return outs;
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

// ---- the split-key path (attention_split.cuh) ------------------------------------------------
// Emulated blocks cost a round of fiber switches per barrier, so these cases keep grids of a few
// dozen blocks: a chunk is 256 candidates, the chunk count is the split count.

// Whether two outputs are the same bits (-0 and +0 differ, NaNs compare by payload).
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs a case through the split path (tiles of tile_q queries) against the reference, then
// through the single-block kernel: both paths follow one reduction order, so the bits agree.
void run_split_case(const Case& c, int64_t tile_q) {
  SCOPED_TRACE(::testing::Message() << "split, tile_q=" << tile_q);
  const auto split = run_case(c, split_launch(tile_q));
  const Inputs in = make_inputs(c);
  int r = 0;
  for (Round round : {Round::kNone, Round::kBf16}) {
    std::vector<float> single(static_cast<size_t>(c.n_q * in.ldo), kSentinel);
    ASSERT_EQ(launch_single(c, in, round, single.data()), cudaSuccess);
    EXPECT_TRUE(same_bits(split[static_cast<size_t>(r++)], single)) << (round == Round::kBf16 ? "kBf16" : "kNone");
  }
}

TEST(CudaEmuAttentionSplit, OneTwoAndThreeSplitsWithPartialLastChunk) {
  run_split_case({1, 2, 64, 200, 150, 2, 0.1, 1.0f, 0.0f, 51}, 4);        // 1 split
  run_split_case({2, 2, 40, 300, 250, 2, 0.15, 1.0f, 0.0f, 52}, 1);       // 2 splits, 2 tiles
  run_split_case({2, 2, 40, 700, 500, 4, 0.15, 1.0f, 0.0f, 53, 1.0f}, 2);  // 3 splits, the last of 188
}

TEST(CudaEmuAttentionSplit, HeadDimAboveTheThreadCountAndRemainderHeads) {
  run_split_case({1, 3, 272, 260, 300, 2, 0.1, 1.0f, 0.0f, 61}, 1);
}

TEST(CudaEmuAttentionSplit, SkippedEntriesAndAWhollySkippedSplit) {
  // Entries 256..511 are all -1: the middle split has no candidate and max −inf.
  Case c{1, 2, 72, 600, 400, 2, 0.1, 1.0f, 0.0f, 71};
  c.skip_begin = 256;
  c.skip_end = 512;
  run_split_case(c, 1);
  run_split_case({1, 2, 64, 300, 8, 2, 1.0, 1.0f, 0.0f, 72}, 1);  // every entry skipped: output 0
  run_split_case({2, 2, 64, 0, 8, 2, 0.0, 1.0f, 0.0f, 73}, 1);    // no candidates: the combine alone
}

TEST(CudaEmuAttentionSplit, SinkFarAboveTheLogits) {
  // e^(sink − m) ≈ e^95 overflows fp32; large values keep the tiny outputs normal numbers.
  run_split_case({1, 3, 64, 300, 200, 4, 0.1, 1.0f, 95.0f, 81, 2e-3f, 1e3f}, 1);
}

TEST(CudaEmuAttentionSplit, QueryAloneEqualsQueryInABatch) {
  // Through the public launcher with scratch: the batch (3 queries, 3 chunks) takes the split
  // path. Its candidate lists are padded with trailing -1 to the longest, as the model pads
  // them; alone, each query gets its own length, so the shortest takes the single-block path.
  // Unrounded outputs, where a different summation order would show.
  const Case batch{3, 1, 48, 600, 500, 0, 0.1, 1.0f, 0.0f, 91};
  const Inputs in = make_inputs(batch);
  ASSERT_GT(dsv4k::cuda::launch_sparse_attention_scratch_bytes(batch.n_q, in.s, batch.n_cand), 0u);
  std::vector<float> got(static_cast<size_t>(batch.n_q * in.ldo), kSentinel);
  Inputs padded = in;
  const int64_t len[3] = {600, 530, 300};
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t j = len[t]; j < batch.n_cand; ++j) padded.cand[static_cast<size_t>(t * batch.n_cand + j)] = -1;
  ASSERT_EQ(launch_public(batch, padded, Round::kNone, got.data()), cudaSuccess);
  for (int64_t t = 0; t < 3; ++t) {
    Case one = batch;
    one.n_q = 1;
    one.n_cand = len[t];
    Inputs alone = padded;
    alone.q.assign(padded.q.begin() + t * in.ldq, padded.q.begin() + (t + 1) * in.ldq);
    alone.cand.assign(padded.cand.begin() + t * batch.n_cand, padded.cand.begin() + t * batch.n_cand + len[t]);
    std::vector<float> out(static_cast<size_t>(in.ldo), kSentinel);
    ASSERT_EQ(launch_public(one, alone, Round::kNone, out.data()), cudaSuccess);
    const std::vector<float> row(got.begin() + t * in.ldo, got.begin() + (t + 1) * in.ldo);
    EXPECT_TRUE(same_bits(out, row)) << "query " << t;
  }
}

TEST(CudaEmuAttentionSplit, PlanTakesTheSplitPathAtDecodeOverLongLists) {
  using dsv4k::cuda::launch_sparse_attention_scratch_bytes;
  const AttentionShape s{64, 512, 0.044f};
  // Decode on a ratio-128 layer at 1M tokens: split, within the scratch cap.
  const size_t long_decode = launch_sparse_attention_scratch_bytes(4, s, 128 + 8192);
  EXPECT_GT(long_decode, 0u);
  EXPECT_LE(long_decode, size_t{64} << 20);
  EXPECT_GT(launch_sparse_attention_scratch_bytes(1, s, 640), 0u);   // ratio-4 decode, one query
  EXPECT_EQ(launch_sparse_attention_scratch_bytes(1, s, 512), 0u);   // two chunks: not worth it
  EXPECT_EQ(launch_sparse_attention_scratch_bytes(64, s, 640), 0u);  // the grid is full already
  // Too long for the single-block kernel's shared memory: split at any batch, in tiles.
  const size_t huge = launch_sparse_attention_scratch_bytes(4096, s, 40000);
  EXPECT_GT(huge, 0u);
  EXPECT_LE(huge, size_t{64} << 20);
}

TEST(CudaEmuAttentionSplit, RefusesTooLittleScratch) {
  const AttentionShape s{2, 64, 0.125f};
  std::vector<float> q(128), kv(64 * 4), sink(2), out(128), scratch(16);
  std::vector<int32_t> cand(600, 1);
  const size_t need = dsv4k::cuda::sparse_attention_split_scratch_bytes(1, s, 600);
  ASSERT_GT(need, scratch.size() * sizeof(float));
  EXPECT_EQ(dsv4k::cuda::launch_sparse_attention_split(q.data(), 1, 128, s, kv.data(), 64, cand.data(), 600,
                                                       sink.data(), out.data(), 128, Round::kBf16, 2, 1,
                                                       scratch.data(), scratch.size() * sizeof(float), nullptr),
            dsv4cu::kInvalidValue);
  EXPECT_EQ(dsv4k::cuda::launch_sparse_attention(q.data(), 1, 128, s, kv.data(), 64, cand.data(), 600, sink.data(),
                                                 out.data(), 128, Round::kBf16, nullptr, 0, nullptr),
            dsv4cu::kInvalidValue);
}

}  // namespace

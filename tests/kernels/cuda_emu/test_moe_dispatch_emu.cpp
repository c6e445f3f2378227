// The MoE dispatch kernels (moe_dispatch.cuh) and the grouped FP4 GEMM (grouped_gemm.cuh),
// run on the host emulation, against dsv4k::ref (dsv4k/moe_dispatch.h).
//
// Permutation and combine are integer work and reference-order sums: bit-identical. The
// cases cross the scatter's 256-entry chunk, leave experts empty, and pile most entries on
// one expert (the shape of a skewed batch).
//
// The grouped GEMM must give, row for row, exactly what the plain SIMT GEMM (gemm.cuh, itself
// checked against ref::gemm_fp4_q with a derived bound in test_gemm_emu.cpp) gives on each
// expert's gathered rows: same tile code, same accumulation order per output. Expert sizes
// cross the 32-row tile (33, 65) and include 0 and 1, n crosses the 64-wide tile, and the
// launch over-provisions tiles so that the early exit of surplus blocks is exercised. It is
// also held to the reference with the fp32 bound of test_gemm_emu.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <ostream>
#include <random>
#include <vector>

#include "cuda/gemm.cuh"
#include "cuda/grouped_gemm.cuh"
#include "cuda/moe_dispatch.cuh"
#include "dsv4k/moe_dispatch.h"
#include "dsv4k/quant.h"
#include "emu_test_util.h"
#include "grouped_inputs.h"

namespace dsv4k {
namespace {

// Routing-shaped ids: per token, top_k distinct experts in ascending order; with `skew`,
// expert 0 is picked by every token.
std::vector<int32_t> random_ids(int64_t n_tokens, int64_t top_k, int64_t n_experts, bool skew, std::mt19937& rng) {
  std::vector<int32_t> ids;
  std::vector<int32_t> all(static_cast<size_t>(n_experts));
  for (int64_t t = 0; t < n_tokens; ++t) {
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin() + (skew ? 1 : 0), all.end(), rng);
    std::sort(all.begin(), all.begin() + top_k);
    ids.insert(ids.end(), all.begin(), all.begin() + top_k);
  }
  return ids;
}

struct Permutation {
  std::vector<int32_t> offsets, token_of, position;
  std::vector<float> weights;
  Permutation(int64_t n_experts, int64_t n_entries)
      : offsets(static_cast<size_t>(n_experts + 1), -1),
        token_of(static_cast<size_t>(n_entries), -1),
        position(static_cast<size_t>(n_entries), -1),
        weights(static_cast<size_t>(n_entries), -1.0f) {}
};

struct PermuteCase {
  int64_t n_tokens, top_k, n_experts;
  bool skew;
};

void PrintTo(const PermuteCase& c, std::ostream* os) {
  *os << "tokens=" << c.n_tokens << " top_k=" << c.top_k << " experts=" << c.n_experts << (c.skew ? " skewed" : "");
}

class CudaEmuMoePermute : public ::testing::TestWithParam<PermuteCase> {};

TEST_P(CudaEmuMoePermute, MatchesReferenceExactly) {
  const PermuteCase c = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(c.n_tokens * 131 + c.n_experts));
  const std::vector<int32_t> ids = random_ids(c.n_tokens, c.top_k, c.n_experts, c.skew, rng);
  std::vector<float> w(ids.size());
  for (auto& x : w) x = std::uniform_real_distribution<float>(0.0f, 1.0f)(rng);
  const int64_t n_entries = c.n_tokens * c.top_k;
  Permutation want(c.n_experts, n_entries), got(c.n_experts, n_entries);
  ref::moe_permute(ids.data(), w.data(), c.n_tokens, c.top_k, c.n_experts, want.offsets.data(),
                   want.token_of.data(), want.position.data(), want.weights.data());
  ASSERT_EQ(cuda::launch_moe_permute(ids.data(), w.data(), c.n_tokens, c.top_k, c.n_experts, got.offsets.data(),
                                     got.token_of.data(), got.position.data(), got.weights.data(), nullptr),
            cudaSuccess);
  EXPECT_EQ(got.offsets, want.offsets);
  EXPECT_EQ(got.token_of, want.token_of);
  EXPECT_EQ(got.position, want.position);
  EXPECT_EQ(got.weights, want.weights);
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaEmuMoePermute,
                         ::testing::Values(PermuteCase{1, 6, 16, false}, PermuteCase{3, 2, 5, false},
                                           PermuteCase{61, 6, 16, false},  // 366 entries: two chunks
                                           PermuteCase{50, 6, 12, true}, PermuteCase{0, 6, 4, false}));

TEST(CudaEmuMoePermute, RefusesAnEmptyExpertSet) {
  const int32_t id = 0;
  int32_t off = 0, tok = 0, pos = 0;
  EXPECT_NE(cuda::launch_moe_permute(&id, nullptr, 1, 1, 0, &off, &tok, &pos, nullptr, nullptr), cudaSuccess);
}

TEST(CudaEmuMoeCombinePermuted, MatchesReferenceExactly) {
  std::mt19937 rng(5);
  constexpr int64_t n = 7, k = 3, d = 45, n_experts = 9, ldy = d + 2;
  const std::vector<int32_t> ids = random_ids(n, k, n_experts, false, rng);
  Permutation perm(n_experts, n * k);
  ref::moe_permute(ids.data(), nullptr, n, k, n_experts, perm.offsets.data(), perm.token_of.data(),
                   perm.position.data(), nullptr);
  const std::vector<float> ye = emu_test::bf16_normal(static_cast<size_t>(n * k * ldy), rng, 1.0f);
  const std::vector<float> shared = emu_test::bf16_normal(static_cast<size_t>(n * d), rng, 1.0f);
  for (Round round : {Round::kNone, Round::kBf16}) {
    std::vector<float> want(static_cast<size_t>(n * d)), got(static_cast<size_t>(n * d), -1.0f);
    ref::moe_combine_permuted(ye.data(), ldy, perm.position.data(), shared.data(), n, k, d, want.data(), round);
    ASSERT_EQ(cuda::launch_moe_combine_permuted(ye.data(), ldy, perm.position.data(), shared.data(), n, k, d,
                                                got.data(), round, nullptr),
              cudaSuccess);
    EXPECT_EQ(got, want);
  }
}

// ---- grouped FP4 GEMM ------------------------------------------------------------------

TEST(CudaEmuGroupedGemm, EachRowIsThePlainGemmOfItsExpert) {
  std::mt19937 rng(9);
  constexpr int64_t k = 256, n = 80, ldy = n + 3;
  const std::vector<int64_t> counts = {33, 0, 1, 65, 2};  // rows per expert
  const int64_t n_experts = static_cast<int64_t>(counts.size());
  // 40 activation rows; permuted rows pick them through x_rows.
  const emu_test::GroupedInputs in = emu_test::make_grouped_inputs(counts, n, k, 40, rng);
  const int64_t P = in.P;
  const std::vector<int32_t>& offsets = in.offsets;
  const std::vector<int32_t>& x_rows = in.x_rows;
  const std::vector<uint8_t>& xq = in.xq;
  const std::vector<float>& xs = in.xs;
  const std::vector<Fp4Weight>& experts = in.experts;
  const QuantizedRows& x = in.x;  // m: the permuted rows

  for (Round round : {Round::kNone, Round::kBf16}) {
    std::vector<float> got(static_cast<size_t>(P * ldy), -7.0f);
    ASSERT_EQ(cuda::launch_gemm_fp4_grouped_q(x, x_rows.data(), offsets.data(), experts.data(), n_experts, n,
                                              got.data(), ldy, round, nullptr),
              cudaSuccess);
    std::vector<float> want(static_cast<size_t>(P * ldy), -7.0f);
    ref::gemm_fp4_grouped_q(x, x_rows.data(), offsets.data(), experts.data(), n_experts, want.data(), ldy, round);
    for (int64_t e = 0; e < n_experts; ++e) {
      const int64_t begin = offsets[static_cast<size_t>(e)], m = counts[static_cast<size_t>(e)];
      if (m == 0) continue;
      // The plain SIMT GEMM on this expert's gathered rows.
      std::vector<uint8_t> gq(static_cast<size_t>(m * k));
      std::vector<float> gs(static_cast<size_t>(m * (k / kFp8Block)));
      for (int64_t r = 0; r < m; ++r) {
        const int64_t src = x_rows[static_cast<size_t>(begin + r)];
        std::copy_n(xq.begin() + src * k, k, gq.begin() + r * k);
        std::copy_n(xs.begin() + src * (k / kFp8Block), k / kFp8Block, gs.begin() + r * (k / kFp8Block));
      }
      std::vector<float> plain(static_cast<size_t>(m * ldy), -7.0f);
      ASSERT_EQ(cuda::launch_gemm_fp4_q(QuantizedRows{gq.data(), gs.data(), m, k}, experts[static_cast<size_t>(e)],
                                        plain.data(), ldy, round, nullptr),
                cudaSuccess);
      for (int64_t r = 0; r < m; ++r) {
        for (int64_t j = 0; j < ldy; ++j) {
          const float g = got[static_cast<size_t>((begin + r) * ldy + j)];
          ASSERT_EQ(f32_bits(g), f32_bits(plain[static_cast<size_t>(r * ldy + j)]))
              << "expert " << e << " row " << r << " col " << j;
          if (round != Round::kNone || j >= n) continue;
          // Against the reference: the bound of test_gemm_emu.cpp for FP4 (group 32).
          const double tol =
              (kFp4Block + k / kFp4Block + 1) * emu_test::kU * emu_test::grouped_abs_sum(in, e, begin + r, j);
          EXPECT_LE(std::fabs(static_cast<double>(g) - want[static_cast<size_t>((begin + r) * ldy + j)]), tol)
              << "expert " << e << " row " << r << " col " << j;
        }
      }
    }
  }
}

TEST(CudaEmuGroupedGemm, NoRowsWritesNothing) {
  const std::vector<int32_t> offsets = {0, 0, 0};
  const Fp4Weight experts[2] = {};
  float y = -7.0f;
  EXPECT_EQ(cuda::launch_gemm_fp4_grouped_q(QuantizedRows{nullptr, nullptr, 0, 128}, nullptr, offsets.data(), experts,
                                            2, 64, &y, 64, Round::kNone, nullptr),
            cudaSuccess);
  EXPECT_EQ(y, -7.0f);
}

}  // namespace
}  // namespace dsv4k

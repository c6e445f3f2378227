// Hand-computed cases for the MoE dispatch (moe_dispatch.h): the stable sort of entries by
// expert and its inverse, the grouped FP4 product row by row, and the permuted combine.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dsv4k/moe_dispatch.h"
#include "dsv4k/quant.h"

namespace dsv4k {
namespace {

TEST(RefMoeDispatch, PermuteSortsEntriesByExpertStably) {
  // 3 tokens, top_k 2, 4 experts. Entries f: 0→e0 1→e2 | 2→e1 3→e2 | 4→e0 5→e3.
  const std::vector<int32_t> ids = {0, 2, 1, 2, 0, 3};
  const std::vector<float> w = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  std::vector<int32_t> offsets(5, -1), token_of(6, -1), position(6, -1);
  std::vector<float> pw(6, -1.0f);
  ref::moe_permute(ids.data(), w.data(), 3, 2, 4, offsets.data(), token_of.data(), position.data(), pw.data());
  EXPECT_EQ(offsets, (std::vector<int32_t>{0, 2, 3, 5, 6}));
  // Sorted entries: e0: f0, f4 | e1: f2 | e2: f1, f3 | e3: f5.
  EXPECT_EQ(token_of, (std::vector<int32_t>{0, 2, 1, 0, 1, 2}));
  EXPECT_EQ(position, (std::vector<int32_t>{0, 3, 2, 4, 1, 5}));
  EXPECT_EQ(pw, (std::vector<float>{0.1f, 0.5f, 0.3f, 0.2f, 0.4f, 0.6f}));
}

TEST(RefMoeDispatch, PermuteWithoutWeightsAndWithEmptyExperts) {
  const std::vector<int32_t> ids = {3, 3, 3};  // 3 tokens, top_k 1, all on the last expert
  std::vector<int32_t> offsets(5), token_of(3), position(3);
  ref::moe_permute(ids.data(), nullptr, 3, 1, 4, offsets.data(), token_of.data(), position.data(), nullptr);
  EXPECT_EQ(offsets, (std::vector<int32_t>{0, 0, 0, 0, 3}));
  EXPECT_EQ(token_of, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(position, (std::vector<int32_t>{0, 1, 2}));
}

TEST(RefMoeDispatch, GroupedProductIsEachRowTimesItsExpert) {
  // k = 128 (one activation block, four FP4 groups), n = 2, two experts with different
  // weights; rows 0..2 are expert 0, row 3 expert 1, and x rows are picked through x_rows.
  constexpr int64_t k = 128, n = 2;
  std::vector<float> x(3 * k);
  for (int64_t i = 0; i < 3 * k; ++i) x[static_cast<size_t>(i)] = static_cast<float>((i * 7) % 13 - 6) * 0.25f;
  std::vector<uint8_t> q(3 * k);
  std::vector<float> s(3);
  ref::quantize_e4m3(x.data(), 3, k, k, kFp8Block, q.data(), s.data());
  // Expert e's weight: codes (j + k + e) % 16 with scales 2^(e - j).
  std::vector<std::vector<uint8_t>> wd(2), ws(2);
  std::vector<Fp4Weight> experts(2);
  for (int e = 0; e < 2; ++e) {
    wd[static_cast<size_t>(e)].resize(n * k / 2);
    ws[static_cast<size_t>(e)].resize(n * k / 32);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t c = 0; c < k; c += 2) {
        const auto lo = static_cast<uint8_t>((j + c + e) % 16), hi = static_cast<uint8_t>((j + c + 1 + e) % 16);
        wd[static_cast<size_t>(e)][static_cast<size_t>((j * k + c) / 2)] = static_cast<uint8_t>(lo | (hi << 4));
      }
      for (int64_t g = 0; g < k / 32; ++g)
        ws[static_cast<size_t>(e)][static_cast<size_t>(j * (k / 32) + g)] = static_cast<uint8_t>(127 + e - j);
    }
    experts[static_cast<size_t>(e)] = Fp4Weight{wd[static_cast<size_t>(e)].data(), ws[static_cast<size_t>(e)].data(), n, k};
  }
  const std::vector<int32_t> x_rows = {2, 0, 2, 1};
  const std::vector<int32_t> offsets = {0, 3, 4};
  std::vector<float> y(4 * 3, -9.0f);  // ldy 3: the third column must stay untouched
  ref::gemm_fp4_grouped_q(QuantizedRows{q.data(), s.data(), 3, k}, x_rows.data(), offsets.data(), experts.data(), 2,
                          y.data(), 3, Round::kNone);
  for (int64_t p = 0; p < 4; ++p) {
    const int64_t r = x_rows[static_cast<size_t>(p)];
    const int e = p < 3 ? 0 : 1;
    float want[n];
    ref::gemm_fp4_q(QuantizedRows{q.data() + r * k, s.data() + r, 1, k}, experts[static_cast<size_t>(e)], want, n,
                    Round::kNone);
    EXPECT_EQ(y[static_cast<size_t>(p * 3)], want[0]) << p;
    EXPECT_EQ(y[static_cast<size_t>(p * 3 + 1)], want[1]) << p;
    EXPECT_EQ(y[static_cast<size_t>(p * 3 + 2)], -9.0f) << p;
    EXPECT_NE(want[0], 0.0f);
  }
}

TEST(RefMoeDispatch, CombineReadsEachEntryAtItsPosition) {
  // 2 tokens, k 2, d 2; permuted rows ye (ldy 3) and position from the first test's pattern.
  const std::vector<float> ye = {1, 2, 0, 10, 20, 0, 100, 200, 0, 1000, 2000, 0};
  const std::vector<int32_t> position = {3, 0, 2, 1};  // t0: rows 3, 0; t1: rows 2, 1
  const std::vector<float> shared = {0.5f, 0.25f, 0.125f, 0.0625f};
  std::vector<float> out(4);
  ref::moe_combine_permuted(ye.data(), 3, position.data(), shared.data(), 2, 2, 2, out.data(), Round::kNone);
  EXPECT_EQ(out, (std::vector<float>{1001.5f, 2002.25f, 110.125f, 220.0625f}));
}

}  // namespace
}  // namespace dsv4k

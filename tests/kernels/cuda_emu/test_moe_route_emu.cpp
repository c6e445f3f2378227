// The CUDA MoE routing kernels (kernels/cuda/moe_route.cuh), run on the host emulation,
// against dsv4k::ref::route_topk / route_hash: the same expert ids and bit-identical weights
// (the kernel sums the chosen scores in the reference's ascending-id order), including keys
// that tie exactly (the lower id wins), logits on both branches of the softplus (x > 20), and
// expert counts that are not multiples of the warp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "cuda/moe_route.cuh"
#include "dsv4k/moe.h"

namespace dsv4k {
namespace {

// Finite logits. `levels` > 0 draws them from that many values only (with a few experts per
// level, so whole groups of keys tie exactly); 0 draws them continuously over [-30, 30].
std::vector<float> random_logits(int64_t n, int64_t n_experts, int levels, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-30.0f, 30.0f);
  std::uniform_int_distribution<int> level(0, std::max(levels - 1, 0));
  std::vector<float> x(static_cast<size_t>(n * n_experts));
  for (auto& v : x) v = levels > 0 ? -3.0f + 0.5f * static_cast<float>(level(rng)) : u(rng);
  return x;
}

std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> b(v.size());
  std::memcpy(b.data(), v.data(), v.size() * sizeof(float));
  return b;
}

struct Shape {
  int64_t n_experts, top_k;
};
// The model's 256 / 6; odd expert counts under and over one warp; every expert chosen; top 1.
constexpr Shape kShapes[] = {{256, 6}, {37, 5}, {8, 8}, {300, 1}, {70, 6}};
// 1 and 17 tokens (one 1-warp block; four full 4-warp blocks and a partial one) for the model's
// shape, 5 for the others (the emulation spends ~40 ms per block of the top-k kernel).
std::vector<int64_t> token_counts(bool model_shape) {
  return model_shape ? std::vector<int64_t>{1, 17} : std::vector<int64_t>{5};
}

TEST(CudaEmuMoeRoute, TopkMatchesTheReferenceIdsAndWeightsBitForBit) {
  uint64_t seed = 1;
  for (const Shape s : kShapes)
    for (const int64_t n : token_counts(s.n_experts == 256))
      for (const int levels : {0, 3, 1})  // continuous, heavy ties, every key equal (no bias)
        for (const bool with_bias : {false, true}) {
          ++seed;
          SCOPED_TRACE(testing::Message() << "experts " << s.n_experts << " top_k " << s.top_k << " n " << n
                                          << " levels " << levels << " bias " << with_bias);
          const RouteParams p{s.n_experts, s.top_k, 1.5f};
          const std::vector<float> logits = random_logits(n, s.n_experts, levels, seed);
          // With ties in the logits, a bias of few levels keeps keys tying after the add.
          std::vector<float> bias = random_logits(1, s.n_experts, levels > 0 ? 2 : 0, seed + 1000);
          for (auto& b : bias) b *= 0.01f;
          const float* bias_ptr = with_bias ? bias.data() : nullptr;
          const size_t out = static_cast<size_t>(n * s.top_k);
          std::vector<int32_t> ids_want(out, -1), ids_got(out, -2);
          std::vector<float> w_want(out, -1.0f), w_got(out, -2.0f);
          ref::route_topk(logits.data(), n, p, bias_ptr, ids_want.data(), w_want.data());
          ASSERT_EQ(cuda::launch_route_topk(logits.data(), n, p, bias_ptr, ids_got.data(), w_got.data(), nullptr),
                    cudaSuccess);
          ASSERT_EQ(ids_got, ids_want);
          ASSERT_EQ(bits_of(w_got), bits_of(w_want));
        }
}

// With every key equal the reference takes the lowest ids; a kernel that broke ties by
// anything else (lane order, a max that keeps the later index) would not.
TEST(CudaEmuMoeRoute, TopkEqualKeysPickTheLowestIds) {
  const RouteParams p{256, 6, 2.5f};
  const std::vector<float> logits(3 * 256, 0.25f);
  std::vector<int32_t> ids(18);
  std::vector<float> w(18);
  ASSERT_EQ(cuda::launch_route_topk(logits.data(), 3, p, nullptr, ids.data(), w.data(), nullptr), cudaSuccess);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t j = 0; j < 6; ++j) {
      EXPECT_EQ(ids[static_cast<size_t>(t * 6 + j)], j);
      EXPECT_FLOAT_EQ(w[static_cast<size_t>(t * 6 + j)], 2.5f / 6.0f);
    }
}

TEST(CudaEmuMoeRoute, HashMatchesTheReferenceIdsAndWeightsBitForBit) {
  uint64_t seed = 500;
  for (const Shape s : kShapes)
    for (const int64_t n : {int64_t{1}, int64_t{17}, int64_t{130}}) {  // 130: more than one block
      ++seed;
      SCOPED_TRACE(testing::Message() << "experts " << s.n_experts << " top_k " << s.top_k << " n " << n);
      const RouteParams p{s.n_experts, s.top_k, 1.5f};
      const std::vector<float> logits = random_logits(n, s.n_experts, 0, seed);
      std::mt19937_64 rng(seed);
      std::vector<int64_t> table(static_cast<size_t>(n * s.top_k));
      std::vector<int64_t> perm(static_cast<size_t>(s.n_experts));
      for (int64_t t = 0; t < n; ++t) {  // distinct experts per token, in table (unsorted) order
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        std::copy_n(perm.begin(), s.top_k, table.begin() + t * s.top_k);
      }
      const size_t out = static_cast<size_t>(n * s.top_k);
      std::vector<int32_t> ids_want(out, -1), ids_got(out, -2);
      std::vector<float> w_want(out, -1.0f), w_got(out, -2.0f);
      ref::route_hash(logits.data(), n, p, table.data(), ids_want.data(), w_want.data());
      ASSERT_EQ(cuda::launch_route_hash(logits.data(), n, p, table.data(), ids_got.data(), w_got.data(), nullptr),
                cudaSuccess);
      ASSERT_EQ(ids_got, ids_want);
      ASSERT_EQ(bits_of(w_got), bits_of(w_want));
    }
}

}  // namespace
}  // namespace dsv4k

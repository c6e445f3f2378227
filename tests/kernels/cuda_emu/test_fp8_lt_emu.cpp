// The steps around cuBLASLt's block-scaled FP8 GEMM (kernels/cuda/fp8_lt.cuh), run on the host
// emulation: bit-exact against dsv4k::ref::lt_fp8_prepare / lt_fp8_finish (pure data movement
// and exact conversions), with outputs pre-filled with a sentinel so that a missed or extra
// write shows.
//
// Then the layouts themselves: a host GEMM that reads its operands exactly as the cuBLAS
// documentation defines them for TRANSA = T, TRANSB = N, VEC128_32F scales on B and
// BLK128x128_32F scales on A (column-major, see dsv4k/fp8_lt.h) must reproduce
// dsv4k::ref::gemm_fp8_q on the checkpoint / quantizer layouts. Both sum the same exact
// products in double in the same order, so they agree bit for bit; a transposed scale grid,
// a wrong stride or a dropped pad moves outputs by a power of two.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cuda/fp8_lt.cuh"
#include "dsv4k/fp8_lt.h"
#include "dsv4k/gemm.h"
#include "dsv4k/numeric.h"

namespace dsv4k {
namespace {

constexpr float kSentinel = -3.5f;
constexpr uint8_t kSentinelByte = 0xA5;

void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0) << what << " [" << i << "]: " << got[i] << " vs "
                                                                  << want[i];
}

struct Problem {
  int64_t m, n, k;
  int64_t m_pad() const { return lt_round_up4(m); }
};

struct Inputs {
  std::vector<float> xs;    // [m, k/128] powers of two
  std::vector<uint8_t> ws;  // [ceil(n/128), ceil(k/128)] E8M0
  std::vector<uint8_t> xq;  // [m_pad, k] e4m3, pad rows holding the sentinel
  std::vector<uint8_t> w;   // [n, k] e4m3
};

Inputs random_inputs(const Problem& p, std::mt19937& rng) {
  Inputs in;
  const int64_t l = lt_k_blocks(p.k);
  in.xs.resize(static_cast<size_t>(p.m * l));
  for (auto& s : in.xs) s = exp2i(static_cast<int>(rng() % 16) - 8);
  in.ws.resize(static_cast<size_t>(lt_n_blocks(p.n) * l));
  for (auto& s : in.ws) s = static_cast<uint8_t>(118 + rng() % 18);
  auto code = [&] {
    uint8_t b = static_cast<uint8_t>(rng());
    return (b & 0x7Fu) == 0x7Fu ? uint8_t{0} : b;  // no NaN codes
  };
  in.xq.assign(static_cast<size_t>(p.m_pad() * p.k), kSentinelByte);
  for (int64_t i = 0; i < p.m * p.k; ++i) in.xq[static_cast<size_t>(i)] = code();
  in.w.resize(static_cast<size_t>(p.n * p.k));
  for (auto& b : in.w) b = code();
  return in;
}

struct Prepared {
  std::vector<float> xs_t, ws_f;
  std::vector<uint8_t> xq;
};

Prepared prepare_emulated(const Problem& p, const Inputs& in) {
  Prepared out{std::vector<float>(static_cast<size_t>(lt_k_blocks(p.k) * p.m_pad()), kSentinel),
               std::vector<float>(static_cast<size_t>(lt_n_blocks(p.n) * lt_k_blocks4(p.k)), kSentinel), in.xq};
  EXPECT_EQ(cuda::launch_lt_fp8_prepare(in.xs.data(), p.m, p.m_pad(), p.k, in.ws.data(), p.n, out.xs_t.data(),
                                        out.ws_f.data(), out.xq.data(), nullptr),
            cudaSuccess);
  return out;
}

// ---- the steps against their references ------------------------------------------------

TEST(CudaEmuFp8Lt, PrepareMatchesReference) {
  std::mt19937 rng(41);
  // m = 1 and 7 pad to 4 and 8; 64 and 300 do not pad. n not a multiple of 128, k with a
  // number of blocks that is and is not a multiple of 4.
  const Problem cases[] = {{1, 256, 512}, {7, 200, 384}, {64, 384, 1024}, {300, 4, 128}, {3, 1000, 640}};
  for (const Problem& p : cases) {
    const Inputs in = random_inputs(p, rng);
    const Prepared got = prepare_emulated(p, in);
    Prepared want{std::vector<float>(got.xs_t.size(), kSentinel), std::vector<float>(got.ws_f.size(), kSentinel),
                  in.xq};
    ref::lt_fp8_prepare(in.xs.data(), p.m, p.m_pad(), p.k, in.ws.data(), p.n, want.xs_t.data(), want.ws_f.data(),
                        want.xq.data());
    SCOPED_TRACE(testing::Message() << "m " << p.m << " n " << p.n << " k " << p.k);
    expect_same_bits(got.xs_t, want.xs_t, "activation scales");
    expect_same_bits(got.ws_f, want.ws_f, "weight scales");
    EXPECT_EQ(got.xq, want.xq) << "pad rows";
  }
}

TEST(CudaEmuFp8Lt, FinishMatchesReferenceStagedAndInPlace) {
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  const int64_t m = 5, n = 37, ldd = 40, ldy = 43;
  std::vector<float> d(static_cast<size_t>(8 * ldd));  // staged rows past m must not be read into y
  for (auto& v : d) v = dist(rng);
  for (Round round : {Round::kNone, Round::kBf16}) {
    std::vector<float> got(static_cast<size_t>(m * ldy), kSentinel), want = got;
    ASSERT_EQ(cuda::launch_lt_fp8_finish(d.data(), ldd, m, n, got.data(), ldy, round, nullptr), cudaSuccess);
    ref::lt_fp8_finish(d.data(), ldd, m, n, want.data(), ldy, round);
    expect_same_bits(got, want, round == Round::kBf16 ? "staged bf16" : "staged fp32");
    std::vector<float> in_place = d, in_place_want = d;
    ASSERT_EQ(cuda::launch_lt_fp8_finish(in_place.data(), ldd, m, n, in_place.data(), ldd, round, nullptr),
              cudaSuccess);
    ref::lt_fp8_finish(in_place_want.data(), ldd, m, n, in_place_want.data(), ldd, round);
    expect_same_bits(in_place, in_place_want, "in place");
  }
}

TEST(CudaEmuFp8Lt, PrepareRefusesKThatIsNotWholeBlocks) {
  float f = 0;
  uint8_t b = 0;
  EXPECT_EQ(cuda::launch_lt_fp8_prepare(&f, 1, 4, 100, &b, 4, &f, &f, &b, nullptr), dsv4cu::kInvalidValue);
  EXPECT_EQ(cuda::launch_lt_fp8_prepare(&f, 5, 4, 128, &b, 4, &f, &f, &b, nullptr), dsv4cu::kInvalidValue);
}

// ---- the layouts against the GEMM they stand for ------------------------------------------

// D = scaleA·op(A) × scaleB·op(B) as the cuBLAS documentation defines it, reading every
// operand in cuBLASLt's own terms: M = n, N = m_pad, column-major A (k x n, ld k, op T),
// B (k x m_pad, ld k, op N), D (n x m_pad, ld ldd); scale A BLK128x128 [ceil(M/128)][L4],
// scale B VEC128 [L][N]. Per 128-block partial sums in double, blocks in k order.
std::vector<float> lt_layout_gemm(const Problem& p, const uint8_t* a, const float* scale_a, const uint8_t* b,
                                  const float* scale_b, int64_t ldd) {
  const int64_t big_m = p.n, big_n = p.m_pad(), l = lt_k_blocks(p.k), l4 = lt_k_blocks4(p.k);
  std::vector<float> d(static_cast<size_t>(big_n * ldd), kSentinel);
  for (int64_t col = 0; col < big_n; ++col) {
    for (int64_t row = 0; row < big_m; ++row) {
      double acc = 0.0;
      for (int64_t blk = 0; blk < l; ++blk) {
        double part = 0.0;
        for (int64_t kk = blk * kFp8Block; kk < (blk + 1) * kFp8Block; ++kk) {
          const float op_a = e4m3_to_f32(a[row * p.k + kk]);  // op(A)(row, kk) = A(kk, row)
          const float op_b = e4m3_to_f32(b[col * p.k + kk]);  // B(kk, col)
          part += static_cast<double>(op_a) * op_b;
        }
        acc += part * static_cast<double>(scale_b[blk * big_n + col]) *
               static_cast<double>(scale_a[(row / kFp8Block) * l4 + blk]);
      }
      d[static_cast<size_t>(col * ldd + row)] = static_cast<float>(acc);
    }
  }
  return d;
}

TEST(CudaEmuFp8Lt, LayoutsReproduceTheBlockScaledGemm) {
  std::mt19937 rng(43);
  const Problem cases[] = {{1, 256, 512}, {7, 200, 384}, {12, 132, 640}};
  for (const Problem& p : cases) {
    SCOPED_TRACE(testing::Message() << "m " << p.m << " n " << p.n << " k " << p.k);
    const Inputs in = random_inputs(p, rng);
    const Prepared lt = prepare_emulated(p, in);
    const int64_t ldd = p.n;
    const std::vector<float> d = lt_layout_gemm(p, in.w.data(), lt.ws_f.data(), lt.xq.data(), lt.xs_t.data(), ldd);
    std::vector<float> want(static_cast<size_t>(p.m * p.n));
    ref::gemm_fp8_q(QuantizedRows{in.xq.data(), in.xs.data(), p.m, p.k}, Fp8Weight{in.w.data(), in.ws.data(), p.n, p.k},
                    want.data(), p.n, Round::kNone);
    std::vector<float> got(want.size(), kSentinel);
    ASSERT_EQ(cuda::launch_lt_fp8_finish(d.data(), ldd, p.m, p.n, got.data(), p.n, Round::kNone, nullptr), cudaSuccess);
    expect_same_bits(got, want, "y");
    // The pad columns of D come from zero codes and zero scales.
    for (int64_t col = p.m; col < p.m_pad(); ++col)
      for (int64_t row = 0; row < p.n; ++row) ASSERT_EQ(d[static_cast<size_t>(col * ldd + row)], 0.0f);
  }
}

}  // namespace
}  // namespace dsv4k

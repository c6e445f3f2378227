// Batch invariance of the fast GEMMs: an output row is bit-identical whether computed
// alone (m = 1, the decode path) or inside a batch of 37 rows, and an output column is
// bit-identical for any split of the weight rows into ranges (the backend's thread split;
// FP8 ranges start on 128-row blocks), and for any packing of the rows into panels. In the unquantized variants the batch mixes rows
// that are bf16 values (one activation piece) with rows that are not (three pieces), so
// the test also pins down that the zero pieces change nothing.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <vector>

#include "dsv4k/cpu/avx512.h"
#include "dsv4k/cpu/features.h"
#include "test_fast_random.h"

namespace dsv4k {
namespace {

using namespace fast_test;

constexpr int64_t kBatch = 37;

// run(first_row, n_rows, n0, n1, y, ldy): rows [first_row, +n_rows) of x times weight rows
// [n0, n1), written to y (column 0 = weight row n0).
using RunFn = std::function<void(int64_t, int64_t, int64_t, int64_t, float*, int64_t)>;

void expect_invariant(int64_t n, const std::vector<int64_t>& cuts, const RunFn& run) {
  if (!cpu::avx512_kernels_supported()) GTEST_SKIP() << "CPU lacks AVX-512 BF16/VBMI";
  std::vector<float> batch(static_cast<size_t>(kBatch * n));
  run(0, kBatch, 0, n, batch.data(), n);
  for (int64_t i = 0; i < kBatch; ++i) {
    std::vector<float> alone(static_cast<size_t>(n));
    run(i, 1, 0, n, alone.data(), n);
    EXPECT_EQ(std::memcmp(alone.data(), batch.data() + i * n, alone.size() * sizeof(float)), 0) << "row " << i;
  }
  std::vector<float> split(batch.size(), 0.0f);
  for (size_t c = 0; c + 1 < cuts.size(); ++c)
    run(0, kBatch, cuts[c], cuts[c + 1], split.data() + cuts[c], n);
  EXPECT_EQ(std::memcmp(split.data(), batch.data(), batch.size() * sizeof(float)), 0) << "n-range split";
}

// Activations where every third row holds bf16 values and the others full fp32 values.
std::vector<float> mixed_rows(int64_t k, uint64_t seed) {
  std::vector<float> full = random_floats(static_cast<size_t>(kBatch * k), seed, 1.0f, false);
  std::vector<float> bf16 = random_floats(static_cast<size_t>(kBatch * k), seed + 1, 1.0f, true);
  for (int64_t i = 0; i < kBatch; i += 3)
    std::memcpy(full.data() + i * k, bf16.data() + i * k, static_cast<size_t>(k) * sizeof(float));
  return full;
}

TEST(FastGemmInvariance, Fp8Quantized) {
  const int64_t n = 300, k = 384;
  const std::vector<uint8_t> w = random_e4m3(static_cast<size_t>(n * k), 1);
  const std::vector<uint8_t> ws = random_e8m0(3 * 3, 2, 115, 128);
  std::vector<uint8_t> q;
  std::vector<float> s;
  random_quantized(kBatch, k, 3, &q, &s);
  expect_invariant(n, {0, 128, 256, 300}, [&](int64_t i0, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    const QuantizedRows x{q.data() + i0 * k, s.data() + i0 * (k / 128), m, k};
    cpu::avx512::gemm_fp8_q(x, Fp8Weight{w.data() + n0 * k, ws.data() + (n0 / 128) * 3, n1 - n0, k}, y, ldy,
                            Round::kBf16);
  });
}

TEST(FastGemmInvariance, Fp8Unquantized) {
  const int64_t n = 260, k = 200;
  const std::vector<uint8_t> w = random_e4m3(static_cast<size_t>(n * k), 4);
  const std::vector<uint8_t> ws = random_e8m0(3 * 2, 5, 115, 128);
  const std::vector<float> x = mixed_rows(k, 6);
  expect_invariant(n, {0, 128, 260}, [&](int64_t i0, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    cpu::avx512::gemm_fp8_f(x.data() + i0 * k, m, k, Fp8Weight{w.data() + n0 * k, ws.data() + (n0 / 128) * 2, n1 - n0, k},
                            y, ldy, Round::kNone);
  });
}

TEST(FastGemmInvariance, Fp4Quantized) {
  const int64_t n = 77, k = 512;
  const std::vector<uint8_t> w = random_bytes(static_cast<size_t>(n * k / 2), 7);
  const std::vector<uint8_t> ws = random_e8m0(static_cast<size_t>(n * k / 32), 8, 117, 128);
  std::vector<uint8_t> q;
  std::vector<float> s;
  random_quantized(kBatch, k, 9, &q, &s);
  expect_invariant(n, {0, 16, 17, 50, 77}, [&](int64_t i0, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    const QuantizedRows x{q.data() + i0 * k, s.data() + i0 * (k / 128), m, k};
    cpu::avx512::gemm_fp4_q(x, Fp4Weight{w.data() + n0 * k / 2, ws.data() + n0 * k / 32, n1 - n0, k}, y, ldy,
                            Round::kBf16);
  });
}

TEST(FastGemmInvariance, Fp4Unquantized) {
  const int64_t n = 45, k = 160;
  const std::vector<uint8_t> w = random_bytes(static_cast<size_t>(n * k / 2), 10);
  const std::vector<uint8_t> ws = random_e8m0(static_cast<size_t>(n * k / 32), 11, 117, 128);
  const std::vector<float> x = mixed_rows(k, 12);
  expect_invariant(n, {0, 3, 32, 45}, [&](int64_t i0, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    cpu::avx512::gemm_fp4_f(x.data() + i0 * k, m, k, Fp4Weight{w.data() + n0 * k / 2, ws.data() + n0 * k / 32, n1 - n0, k},
                            y, ldy, Round::kNone);
  });
}

TEST(FastGemmInvariance, Bf16) {
  const int64_t n = 53, k = 333;
  const std::vector<uint16_t> w = random_bf16(static_cast<size_t>(n * k), 13, 0.05f);
  const std::vector<float> x = mixed_rows(k, 14);
  expect_invariant(n, {0, 1, 20, 53}, [&](int64_t i0, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    cpu::avx512::gemm_bf16(x.data() + i0 * k, m, k, Bf16Weight{w.data() + n0 * k, n1 - n0, k}, y, ldy, Round::kNone);
  });
}

// k large enough that the 37 rows are packed in several panels, the first of them holding
// only bf16 rows (one piece) and the others mixed rows (three pieces).
TEST(FastGemmInvariance, Bf16AcrossPanelsWithDifferentPieceCounts) {
  const int64_t n = 9, k = 12328;
  const std::vector<uint16_t> w = random_bf16(static_cast<size_t>(n * k), 17, 0.05f);
  std::vector<float> x = mixed_rows(k, 18);
  const std::vector<float> bf16 = random_floats(static_cast<size_t>(16 * k), 19, 1.0f, true);
  std::memcpy(x.data(), bf16.data(), bf16.size() * sizeof(float));
  expect_invariant(n, {0, 4, 9}, [&](int64_t i0, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    cpu::avx512::gemm_bf16(x.data() + i0 * k, m, k, Bf16Weight{w.data() + n0 * k, n1 - n0, k}, y, ldy, Round::kBf16);
  });
}

TEST(FastGemmInvariance, F32) {
  const int64_t n = 24, k = 1000;
  const std::vector<float> w = random_floats(static_cast<size_t>(n * k), 15, 0.05f, false);
  const std::vector<float> x = mixed_rows(k, 16);
  expect_invariant(n, {0, 5, 24}, [&](int64_t i0, int64_t m, int64_t n0, int64_t n1, float* y, int64_t ldy) {
    cpu::avx512::gemm_f32(x.data() + i0 * k, m, k, F32Weight{w.data() + n0 * k, n1 - n0, k}, y, ldy, Round::kNone);
  });
}

}  // namespace
}  // namespace dsv4k

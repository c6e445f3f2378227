// The AVX-512 KV-row codecs against the references, bit for bit (the codecs are exact, so
// there is no tolerance): encode bytes on random, simulated and special rows; decode values
// on encoded and on arbitrary bytes; independence from MXCSR's DAZ/FTZ for valid FP8 rows;
// and a throughput report (DISABLED_ by default; run with --gtest_also_run_disabled_tests).
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "dsv4k/cpu/features.h"
#include "dsv4k/cpu/kv_row_avx512.h"
#include "dsv4k/kv_row.h"
#include "test_kv_row_inputs.h"

namespace dsv4k {
namespace {

using kv_row_test::first_bit_difference;

#define SKIP_WITHOUT_AVX512() \
  if (!cpu::avx512_kernels_supported()) GTEST_SKIP() << "CPU lacks AVX-512 BF16/VBMI"

struct Shape {
  int64_t dim, rope;
};
const Shape kFp8Shapes[] = {{512, 64}, {64, 0}, {192, 0}, {128 + 13, 13}, {13, 13}, {448 + 64, 64}, {576, 64}};
const int64_t kFp4Dims[] = {128, 32, 96, 0};
const int64_t kNs[] = {1, 2, 7, 33, 1000};

// Random rows with specials sprinkled in: NaN, ±inf, huge, fp32 subnormals (the callers add
// blocks of rounding ties).
std::vector<float> rows_with_specials(int64_t n, int64_t ld, int64_t dim, uint64_t seed) {
  std::vector<float> x = kv_row_test::random_rows(n, ld, dim, 64, seed);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), 3e38f, -1e-40f, 1e-45f, 448.0f, -6.0f};
  for (int k = 0; k < 8 && dim > 0; ++k)
    x[static_cast<size_t>((rng() % static_cast<uint32_t>(n)) * ld + rng() % static_cast<uint32_t>(dim))] = specials[k];
  return x;
}

// Both NaN, or the same bits: a NaN code under the NaN scale byte may differ in sign.
int64_t first_difference_nan_equal(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (f32_bits(a[i]) != f32_bits(b[i]) && !(std::isnan(a[i]) && std::isnan(b[i]))) return static_cast<int64_t>(i);
  return -1;
}

void check_fp8(const std::vector<float>& x, int64_t n, int64_t ld, const Shape& s, const char* what) {
  const size_t nb = static_cast<size_t>(n * kv_fp8_row_bytes(s.dim, s.rope));
  std::vector<uint8_t> br(nb, 0xAB), bf(nb, 0xCD);
  ref::encode_kv_fp8_rows(x.data(), n, ld, s.dim, s.rope, br.data());
  cpu::avx512::encode_kv_fp8_rows(x.data(), n, ld, s.dim, s.rope, bf.data());
  ASSERT_EQ(br, bf) << what << " dim " << s.dim << " rope " << s.rope << " n " << n;
  std::vector<float> yr(x.size(), -777.0f), yf = yr;
  ref::decode_kv_fp8_rows(br.data(), n, s.dim, s.rope, yr.data(), ld);
  cpu::avx512::decode_kv_fp8_rows(br.data(), n, s.dim, s.rope, yf.data(), ld);
  ASSERT_EQ(first_bit_difference(yr.data(), yf.data(), n, ld, ld), -1) << what << " dim " << s.dim << " n " << n;
}

void check_fp4(const std::vector<float>& x, int64_t n, int64_t ld, int64_t dim, const char* what) {
  const size_t nb = static_cast<size_t>(n * kv_fp4_row_bytes(dim));
  std::vector<uint8_t> br(nb, 0xAB), bf(nb, 0xCD);
  ref::encode_kv_fp4_rows(x.data(), n, ld, dim, br.data());
  cpu::avx512::encode_kv_fp4_rows(x.data(), n, ld, dim, bf.data());
  ASSERT_EQ(br, bf) << what << " dim " << dim << " n " << n;
  std::vector<float> yr(x.size(), -777.0f), yf = yr;
  ref::decode_kv_fp4_rows(br.data(), n, dim, yr.data(), ld);
  cpu::avx512::decode_kv_fp4_rows(br.data(), n, dim, yf.data(), ld);
  ASSERT_EQ(first_bit_difference(yr.data(), yf.data(), n, ld, ld), -1) << what << " dim " << dim << " n " << n;
}

TEST(FastKvRow, Fp8MatchesReference) {
  SKIP_WITHOUT_AVX512();
  for (const Shape& s : kFp8Shapes) {
    for (int64_t n : kNs) {
      const int64_t ld = s.dim + 3;  // odd row stride
      const uint64_t seed = static_cast<uint64_t>(n * 1000 + s.dim);
      std::vector<float> x = rows_with_specials(n, ld, s.dim, seed);
      kv_row_test::add_tie_blocks(x, n, ld, s.dim - s.rope, 64);
      check_fp8(x, n, ld, s, "raw");
      kv_row_test::simulate_fp8_rows(x, n, ld, s.dim, s.rope);
      check_fp8(x, n, ld, s, "simulated");
    }
  }
}

TEST(FastKvRow, Fp4MatchesReference) {
  SKIP_WITHOUT_AVX512();
  for (int64_t dim : kFp4Dims) {
    for (int64_t n : kNs) {
      const int64_t ld = dim + 5;
      std::vector<float> x = rows_with_specials(n, ld, dim, static_cast<uint64_t>(n * 977 + dim));
      kv_row_test::add_tie_blocks(x, n, ld, dim, 32);
      check_fp4(x, n, ld, dim, "raw");
      std::vector<float> sim = kv_row_test::random_rows(n, ld, dim, 32, static_cast<uint64_t>(n * 13 + dim));
      kv_row_test::simulate_fp4_rows(sim, n, ld, dim);
      check_fp4(sim, n, ld, dim, "simulated");
    }
  }
}

TEST(FastKvRow, Bf16MatchesReference) {
  SKIP_WITHOUT_AVX512();
  for (int64_t dim : {1, 15, 16, 17, 128, 512}) {
    for (int64_t n : kNs) {
      const int64_t ld = dim + 1;
      const std::vector<float> x = rows_with_specials(n, ld, dim, static_cast<uint64_t>(n * 7 + dim));
      const size_t nb = static_cast<size_t>(n * kv_bf16_row_bytes(dim));
      std::vector<uint8_t> br(nb), bf(nb);
      ref::encode_kv_bf16_rows(x.data(), n, ld, dim, br.data());
      cpu::avx512::encode_kv_bf16_rows(x.data(), n, ld, dim, bf.data());
      ASSERT_EQ(br, bf) << "dim " << dim << " n " << n;
      std::vector<float> yr(x.size(), -777.0f), yf = yr;
      ref::decode_kv_bf16_rows(br.data(), n, dim, yr.data(), ld);
      cpu::avx512::decode_kv_bf16_rows(br.data(), n, dim, yf.data(), ld);
      ASSERT_EQ(first_bit_difference(yr.data(), yf.data(), n, ld, ld), -1) << "dim " << dim << " n " << n;
    }
  }
}

// Decoding arbitrary bytes (every code, every scale byte incl. 0 and 255, NaN codes) gives
// the reference's values, so the fast path's range split cannot change a result.
TEST(FastKvRow, DecodeArbitraryBytes) {
  SKIP_WITHOUT_AVX512();
  std::mt19937 rng(99);
  for (int rep = 0; rep < 20; ++rep) {
    const int64_t n = 300, dim = 512, rope = 64, ld = 515;
    std::vector<uint8_t> b(static_cast<size_t>(n * kv_fp8_row_bytes(dim, rope)));
    for (uint8_t& v : b) v = static_cast<uint8_t>(rng());
    if (rep % 2 == 1)  // sweep every scale byte over the blocks
      for (int64_t r = 0; r < n; ++r)
        for (int64_t k = 0; k < 7; ++k) b[static_cast<size_t>(r * 584 + 576 + k)] = static_cast<uint8_t>(r * 7 + k);
    std::vector<float> yr(static_cast<size_t>(n * ld), -777.0f), yf = yr;
    ref::decode_kv_fp8_rows(b.data(), n, dim, rope, yr.data(), ld);
    cpu::avx512::decode_kv_fp8_rows(b.data(), n, dim, rope, yf.data(), ld);
    ASSERT_EQ(first_difference_nan_equal(yr, yf), -1) << "fp8 rep " << rep;

    const int64_t dim4 = 128;
    std::vector<uint8_t> b4(static_cast<size_t>(n * kv_fp4_row_bytes(dim4)));
    for (uint8_t& v : b4) v = static_cast<uint8_t>(rng());
    for (int64_t r = 0; r < n && rep % 2 == 1; ++r)
      for (int64_t k = 0; k < 4; ++k) b4[static_cast<size_t>(r * 68 + 64 + k)] = static_cast<uint8_t>(r * 4 + k);
    std::vector<float> zr(static_cast<size_t>(n * dim4), -777.0f), zf = zr;
    ref::decode_kv_fp4_rows(b4.data(), n, dim4, zr.data(), dim4);
    cpu::avx512::decode_kv_fp4_rows(b4.data(), n, dim4, zf.data(), dim4);
    ASSERT_EQ(first_difference_nan_equal(zr, zf), -1) << "fp4 rep " << rep;
  }
}

// For valid rows the FP8 decoder multiplies normal numbers into normal numbers (the e4m3
// subnormals come out of the bf16 table as normal fp32): DAZ / FTZ must not change a value.
TEST(FastKvRow, Fp8DecodeIgnoresDenormalModes) {
  SKIP_WITHOUT_AVX512();
  const int64_t n = 200, dim = 512, rope = 64;
  std::vector<float> x = kv_row_test::random_rows(n, dim, dim, 64, 4242);
  for (int64_t r = 0; r < n; r += 2)  // half the rows below the amax floor: subnormal codes
    for (int64_t i = 0; i < 448; ++i) x[static_cast<size_t>(r * dim + i)] *= 1e-12f;
  kv_row_test::simulate_fp8_rows(x, n, dim, dim, rope);
  std::vector<uint8_t> b(static_cast<size_t>(n * 584));
  ref::encode_kv_fp8_rows(x.data(), n, dim, dim, rope, b.data());
  std::vector<float> y(x.size());
  const unsigned int csr = _mm_getcsr();
  _mm_setcsr(csr | 0x8040u);  // FTZ | DAZ
  cpu::avx512::decode_kv_fp8_rows(b.data(), n, dim, rope, y.data(), dim);
  _mm_setcsr(csr);
  EXPECT_EQ(first_bit_difference(x.data(), y.data(), n, dim, dim), -1);
}

// ---- throughput (one thread) ------------------------------------------------------------

// The fastest of 30 windows of ~20 ms (the machine may be shared: the best window is the
// one least disturbed by other processes).
template <class F>
double seconds_per_call(F&& f) {
  f();  // warm caches and pages
  double best = 1e30;
  for (int w = 0; w < 30; ++w) {
    int reps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double dt = 0.0;
    do {
      f();
      ++reps;
      dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (dt < 0.02);
    best = std::fmin(best, dt / reps);
  }
  return best;
}

void report(const char* what, int64_t n, int64_t row_bytes, double s) {
  std::printf("%-34s %9.2f M rows/s  %7.2f GB/s compact\n", what, static_cast<double>(n) / s * 1e-6,
              static_cast<double>(n * row_bytes) / s * 1e-9);
}

TEST(FastKvRow, DISABLED_Throughput) {
  SKIP_WITHOUT_AVX512();
  // 64 rows: output in L2 (a decode tile consumed right away); 131072: streaming to memory.
  for (int64_t n : {int64_t{64}, int64_t{131072}}) {
    std::printf("n = %lld rows (%s)\n", static_cast<long long>(n), n <= 64 ? "L2-resident" : "memory");
    const int64_t dim = 512, rope = 64, rb = kv_fp8_row_bytes(dim, rope);
    std::vector<float> x = kv_row_test::random_rows(n, dim, dim, 64, 1);
    kv_row_test::simulate_fp8_rows(x, n, dim, dim, rope);
    std::vector<uint8_t> b(static_cast<size_t>(n * rb));
    std::vector<float> y(x.size());
    auto fp8_enc_fast = [&] { cpu::avx512::encode_kv_fp8_rows(x.data(), n, dim, dim, rope, b.data()); };
    auto fp8_dec_fast = [&] { cpu::avx512::decode_kv_fp8_rows(b.data(), n, dim, rope, y.data(), dim); };
    auto fp8_enc_ref = [&] { ref::encode_kv_fp8_rows(x.data(), n, dim, dim, rope, b.data()); };
    auto fp8_dec_ref = [&] { ref::decode_kv_fp8_rows(b.data(), n, dim, rope, y.data(), dim); };
    report("fp8 512/64 encode  fast", n, rb, seconds_per_call(fp8_enc_fast));
    report("fp8 512/64 decode  fast", n, rb, seconds_per_call(fp8_dec_fast));
    report("fp8 512/64 encode  ref", n, rb, seconds_per_call(fp8_enc_ref));
    report("fp8 512/64 decode  ref", n, rb, seconds_per_call(fp8_dec_ref));

    const int64_t d4 = 128, rb4 = kv_fp4_row_bytes(d4);
    std::vector<float> x4 = kv_row_test::random_rows(n, d4, d4, 32, 2);
    kv_row_test::simulate_fp4_rows(x4, n, d4, d4);
    std::vector<uint8_t> b4(static_cast<size_t>(n * rb4));
    std::vector<float> y4(x4.size());
    auto fp4_enc_fast = [&] { cpu::avx512::encode_kv_fp4_rows(x4.data(), n, d4, d4, b4.data()); };
    auto fp4_dec_fast = [&] { cpu::avx512::decode_kv_fp4_rows(b4.data(), n, d4, y4.data(), d4); };
    auto fp4_enc_ref = [&] { ref::encode_kv_fp4_rows(x4.data(), n, d4, d4, b4.data()); };
    auto fp4_dec_ref = [&] { ref::decode_kv_fp4_rows(b4.data(), n, d4, y4.data(), d4); };
    report("fp4 128 encode     fast", n, rb4, seconds_per_call(fp4_enc_fast));
    report("fp4 128 decode     fast", n, rb4, seconds_per_call(fp4_dec_fast));
    report("fp4 128 encode     ref", n, rb4, seconds_per_call(fp4_enc_ref));
    report("fp4 128 decode     ref", n, rb4, seconds_per_call(fp4_dec_ref));

    std::vector<uint8_t> bb(static_cast<size_t>(n * kv_bf16_row_bytes(dim)));
    auto bf16_enc = [&] { cpu::avx512::encode_kv_bf16_rows(x.data(), n, dim, dim, bb.data()); };
    auto bf16_dec = [&] { cpu::avx512::decode_kv_bf16_rows(bb.data(), n, dim, y.data(), dim); };
    report("bf16 512 encode    fast", n, 1024, seconds_per_call(bf16_enc));
    report("bf16 512 decode    fast", n, 1024, seconds_per_call(bf16_dec));
  }
}

}  // namespace
}  // namespace dsv4k

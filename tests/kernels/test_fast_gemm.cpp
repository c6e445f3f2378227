// Every fast GEMM (dsv4k::cpu::avx512) against its scalar reference on random inputs with
// odd sizes: m = 1, 3, 17, 130; n not a multiple of 4 or 16; k as small as the contract
// allows and not a multiple of 16 where it allows; strided x and y; both roundings; fp32
// activations that are and are not bf16 values.
//
// Tolerance (gemm_tolerance): the references sum in double, so their error is negligible
// next to the fast kernels' fp32 accumulation. Every product the fast kernels form is exact
// (bf16 × bf16 pieces of few significant bits), and on its way to the output a product
// passes through at most `depth` fp32 roundings: per lane, 2 per vdpbf16ps per 32 k and up
// to 3 activation pieces (3k/16), one fma per 128-k block, 4 in the hsum tree, 1 final
// conversion. Each rounding adds at most 2^-24 times a partial sum bounded by Σ|x·w|,
// so |fast - ref| <= depth · 2^-24 · Σ|x·w|. With Round::kBf16 both values are then rounded
// to bf16 and may straddle a rounding boundary: add one bf16 ulp (<= 2^-7 |y|).
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "dsv4k/cpu/avx512.h"
#include "dsv4k/cpu/features.h"
#include "test_fast_random.h"

namespace dsv4k {
namespace {

using namespace fast_test;

#define SKIP_WITHOUT_AVX512() \
  if (!cpu::avx512_kernels_supported()) GTEST_SKIP() << "CPU lacks AVX-512 BF16/VBMI"

double gemm_tolerance(double abs_sum, double y_ref, int64_t k, Round round) {
  const double depth = 3.0 * static_cast<double>(k) / 16.0 + static_cast<double>(k) / 128.0 + 6.0;
  const double tol = depth * 0x1p-24 * abs_sum;
  return round == Round::kBf16 ? tol + 0x1p-7 * (std::fabs(y_ref) + tol) : tol;
}

struct Shape {
  int64_t m, n, k;
};

void PrintTo(const Shape& s, std::ostream* os) { *os << "m=" << s.m << " n=" << s.n << " k=" << s.k; }

std::string shape_name(const ::testing::TestParamInfo<std::tuple<Shape, Round>>& p) {
  const Shape s = std::get<0>(p.param);
  return "m" + std::to_string(s.m) + "_n" + std::to_string(s.n) + "_k" + std::to_string(s.k) +
         (std::get<1>(p.param) == Round::kBf16 ? "_bf16" : "_f32");
}

// Compares y (rows ldy apart) with the reference and checks the padding was not written.
// abs_sum(i, j) = Σ_k |x_ik · w_jk| in double.
template <class AbsSum>
void expect_close(const std::vector<float>& fast, const std::vector<float>& ref, int64_t m, int64_t n, int64_t ldy,
                  int64_t k, Round round, AbsSum&& abs_sum) {
  int64_t bad = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const double f = fast[static_cast<size_t>(i * ldy + j)];
      const double r = ref[static_cast<size_t>(i * ldy + j)];
      const double tol = gemm_tolerance(abs_sum(i, j), r, k, round);
      if (!(std::fabs(f - r) <= tol) && bad++ < 5)
        ADD_FAILURE() << "y[" << i << "][" << j << "] fast " << f << " ref " << r << " tol " << tol;
    }
    for (int64_t j = n; j < ldy; ++j) EXPECT_EQ(fast[static_cast<size_t>(i * ldy + j)], -7.0f) << "padding written";
  }
  EXPECT_EQ(bad, 0);
}

float fp8_w(const Fp8Weight& w, int64_t j, int64_t k) {
  const int64_t n_kb = (w.k + kFp8Block - 1) / kFp8Block;
  return e4m3_to_f32(w.data[j * w.k + k]) * e8m0_to_f32(w.scale[(j / kFp8Block) * n_kb + k / kFp8Block]);
}

float fp4_w(const Fp4Weight& w, int64_t j, int64_t k) {
  const uint8_t b = w.data[j * (w.k / 2) + k / 2];
  return e2m1_to_f32(k % 2 == 0 ? (b & 0xF) : (b >> 4)) * e8m0_to_f32(w.scale[j * (w.k / kFp4Block) + k / kFp4Block]);
}

// FP8 weights [n, k] with 128×128 block scales.
struct Fp8Data {
  std::vector<uint8_t> data, scale;
  Fp8Weight w;
  Fp8Data(int64_t n, int64_t k, uint64_t seed)
      : data(random_e4m3(static_cast<size_t>(n * k), seed)),
        scale(random_e8m0(static_cast<size_t>(((n + 127) / 128) * ((k + 127) / 128)), seed + 1, 127 - 12, 127 + 1)),
        w{data.data(), scale.data(), n, k} {}
};

struct Fp4Data {
  std::vector<uint8_t> data, scale;
  Fp4Weight w;
  Fp4Data(int64_t n, int64_t k, uint64_t seed)
      : data(random_bytes(static_cast<size_t>(n * k / 2), seed)),
        scale(random_e8m0(static_cast<size_t>(n * k / 32), seed + 1, 127 - 10, 127 + 1)),
        w{data.data(), scale.data(), n, k} {}
};

struct QuantData {
  std::vector<uint8_t> q;
  std::vector<float> s;
  QuantizedRows x;
  QuantData(int64_t m, int64_t k, uint64_t seed) {
    random_quantized(m, k, seed, &q, &s);
    x = {q.data(), s.data(), m, k};
  }
  double value(int64_t i, int64_t k) const {
    return static_cast<double>(e4m3_to_f32(q[static_cast<size_t>(i * x.k + k)])) * s[static_cast<size_t>(i * (x.k / 128) + k / 128)];
  }
};

class FastGemmQ : public ::testing::TestWithParam<std::tuple<Shape, Round>> {};

TEST_P(FastGemmQ, Fp8MatchesReference) {
  SKIP_WITHOUT_AVX512();
  const auto [s, round] = GetParam();
  const Fp8Data w(s.n, s.k, 11);
  const QuantData x(s.m, s.k, 12);
  const int64_t ldy = s.n + 3;
  std::vector<float> y(static_cast<size_t>(s.m * ldy), -7.0f), r = y;
  ref::gemm_fp8_q(x.x, w.w, r.data(), ldy, round);
  cpu::avx512::gemm_fp8_q(x.x, w.w, y.data(), ldy, round);
  expect_close(y, r, s.m, s.n, ldy, s.k, round, [&](int64_t i, int64_t j) {
    double a = 0;
    for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * fp8_w(w.w, j, k));
    return a;
  });
}

TEST_P(FastGemmQ, Fp4MatchesReference) {
  SKIP_WITHOUT_AVX512();
  const auto [s, round] = GetParam();
  const Fp4Data w(s.n, s.k, 21);
  const QuantData x(s.m, s.k, 22);
  const int64_t ldy = s.n + 1;
  std::vector<float> y(static_cast<size_t>(s.m * ldy), -7.0f), r = y;
  ref::gemm_fp4_q(x.x, w.w, r.data(), ldy, round);
  cpu::avx512::gemm_fp4_q(x.x, w.w, y.data(), ldy, round);
  expect_close(y, r, s.m, s.n, ldy, s.k, round, [&](int64_t i, int64_t j) {
    double a = 0;
    for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * fp4_w(w.w, j, k));
    return a;
  });
}

// k a multiple of 128 (the activation block).
INSTANTIATE_TEST_SUITE_P(Shapes, FastGemmQ,
                         ::testing::Combine(::testing::Values(Shape{1, 131, 128}, Shape{3, 37, 384}, Shape{17, 133, 256},
                                                              Shape{130, 19, 512}, Shape{1, 6, 1024}, Shape{5, 257, 128}),
                                            ::testing::Values(Round::kNone, Round::kBf16)),
                         shape_name);

// Unquantized activations: x fp32 with all 24 bits (exact mode) or bf16 values (reference
// mode), rows ldx = k + 5 apart.
class FastGemmF : public ::testing::TestWithParam<std::tuple<Shape, Round>> {
 protected:
  struct Acts {
    std::vector<float> x;
    int64_t ldx;
    double value(int64_t i, int64_t k) const { return x[static_cast<size_t>(i * ldx + k)]; }
  };
  static Acts acts(const Shape& s, bool bf16_values, uint64_t seed) {
    const int64_t ldx = s.k + 5;
    return {random_floats(static_cast<size_t>(s.m * ldx), seed, 1.0f, bf16_values), ldx};
  }
};

TEST_P(FastGemmF, Fp8MatchesReference) {
  SKIP_WITHOUT_AVX512();
  const auto [s, round] = GetParam();
  const Fp8Data w(s.n, s.k, 31);
  for (bool bf16_values : {false, true}) {
    const Acts x = acts(s, bf16_values, 32);
    const int64_t ldy = s.n + 2;
    std::vector<float> y(static_cast<size_t>(s.m * ldy), -7.0f), r = y;
    ref::gemm_fp8_f(x.x.data(), s.m, x.ldx, w.w, r.data(), ldy, round);
    cpu::avx512::gemm_fp8_f(x.x.data(), s.m, x.ldx, w.w, y.data(), ldy, round);
    expect_close(y, r, s.m, s.n, ldy, s.k, round, [&](int64_t i, int64_t j) {
      double a = 0;
      for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * fp8_w(w.w, j, k));
      return a;
    });
  }
}

TEST_P(FastGemmF, Bf16MatchesReference) {
  SKIP_WITHOUT_AVX512();
  const auto [s, round] = GetParam();
  const std::vector<uint16_t> wd = random_bf16(static_cast<size_t>(s.n * s.k), 41, 0.05f);
  const Bf16Weight w{wd.data(), s.n, s.k};
  for (bool bf16_values : {false, true}) {
    const Acts x = acts(s, bf16_values, 42);
    const int64_t ldy = s.n + 2;
    std::vector<float> y(static_cast<size_t>(s.m * ldy), -7.0f), r = y;
    ref::gemm_bf16(x.x.data(), s.m, x.ldx, w, r.data(), ldy, round);
    cpu::avx512::gemm_bf16(x.x.data(), s.m, x.ldx, w, y.data(), ldy, round);
    expect_close(y, r, s.m, s.n, ldy, s.k, round, [&](int64_t i, int64_t j) {
      double a = 0;
      for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * bf16_to_f32(wd[static_cast<size_t>(j * s.k + k)]));
      return a;
    });
  }
}

TEST_P(FastGemmF, F32MatchesReference) {
  SKIP_WITHOUT_AVX512();
  const auto [s, round] = GetParam();
  const std::vector<float> wd = random_floats(static_cast<size_t>(s.n * s.k), 51, 0.05f, false);
  const F32Weight w{wd.data(), s.n, s.k};
  const Acts x = acts(s, false, 52);
  const int64_t ldy = s.n + 2;
  std::vector<float> y(static_cast<size_t>(s.m * ldy), -7.0f), r = y;
  ref::gemm_f32(x.x.data(), s.m, x.ldx, w, r.data(), ldy, round);
  cpu::avx512::gemm_f32(x.x.data(), s.m, x.ldx, w, y.data(), ldy, round);
  expect_close(y, r, s.m, s.n, ldy, s.k, round, [&](int64_t i, int64_t j) {
    double a = 0;
    for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * wd[static_cast<size_t>(j * s.k + k)]);
    return a;
  });
}

// Any k (FP8 weights carry a partial last scale block).
INSTANTIATE_TEST_SUITE_P(Shapes, FastGemmF,
                         ::testing::Combine(::testing::Values(Shape{1, 37, 1}, Shape{3, 131, 15}, Shape{17, 19, 200},
                                                              Shape{130, 13, 129}, Shape{1, 5, 1000}, Shape{4, 70, 256}),
                                            ::testing::Values(Round::kNone, Round::kBf16)),
                         shape_name);

// FP4 with unquantized activations: k a multiple of 32 (one weight scale per 32).
class FastGemmFp4F : public FastGemmF {};

TEST_P(FastGemmFp4F, MatchesReference) {
  SKIP_WITHOUT_AVX512();
  const auto [s, round] = GetParam();
  const Fp4Data w(s.n, s.k, 61);
  for (bool bf16_values : {false, true}) {
    const Acts x = acts(s, bf16_values, 62);
    const int64_t ldy = s.n + 2;
    std::vector<float> y(static_cast<size_t>(s.m * ldy), -7.0f), r = y;
    ref::gemm_fp4_f(x.x.data(), s.m, x.ldx, w.w, r.data(), ldy, round);
    cpu::avx512::gemm_fp4_f(x.x.data(), s.m, x.ldx, w.w, y.data(), ldy, round);
    expect_close(y, r, s.m, s.n, ldy, s.k, round, [&](int64_t i, int64_t j) {
      double a = 0;
      for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * fp4_w(w.w, j, k));
      return a;
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, FastGemmFp4F,
                         ::testing::Combine(::testing::Values(Shape{1, 37, 32}, Shape{3, 131, 96}, Shape{17, 19, 160},
                                                              Shape{130, 13, 352}, Shape{2, 9, 1024}),
                                            ::testing::Values(Round::kNone, Round::kBf16)),
                         shape_name);

// The e4m3 decoders cover every code exactly: a one-hot product picks out one decoded
// value, for the weight decode (vpermi2b tables) and the activation decode (arithmetic).
TEST(FastGemm, Fp8DecodesEveryCodeExactly) {
  SKIP_WITHOUT_AVX512();
  std::vector<uint8_t> scale = {127, 127};
  std::vector<float> sx = {1.0f, 1.0f};
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7F) == 0x7F) continue;
    std::vector<uint8_t> codes(256, 0), one_hot(256, 0);
    codes[static_cast<size_t>(c)] = static_cast<uint8_t>(c);
    one_hot[static_cast<size_t>(c)] = 0x38;  // 1.0
    float y_w = 0, y_x = 0;
    const QuantizedRows x_one_hot{one_hot.data(), sx.data(), 1, 256};
    cpu::avx512::gemm_fp8_q(x_one_hot, Fp8Weight{codes.data(), scale.data(), 1, 256}, &y_w, 1, Round::kNone);
    const QuantizedRows x_codes{codes.data(), sx.data(), 1, 256};
    cpu::avx512::gemm_fp8_q(x_codes, Fp8Weight{one_hot.data(), scale.data(), 1, 256}, &y_x, 1, Round::kNone);
    EXPECT_EQ(y_w, e4m3_to_f32(static_cast<uint8_t>(c))) << "weight code " << c;
    EXPECT_EQ(y_x, e4m3_to_f32(static_cast<uint8_t>(c))) << "activation code " << c;
  }
}

}  // namespace
}  // namespace dsv4k

// The SIMT GEMMs (kernels/cuda/gemm.cuh), run on the host emulation, against dsv4k::ref on
// random inputs: m = 1, 3, 17, 33 (one and two row tiles, never a multiple of the tile), n
// not a multiple of the 64-wide tile and crossing the 128-row FP8 scale blocks, k of several
// scale groups (and, where the contract allows, k = 1, 15, 129, 1000 with partial groups),
// x rows ldx = k + 5 apart and y rows ldy = n + 3 apart (the padding must stay untouched).
//
// Tolerance (fp32 result, Round::kNone): the reference sums in double, so its own error is
// one final rounding to fp32. Every product the kernel forms is exact or fused (fmaf), and
// the path of a product to the output crosses at most G - 1 fp32 additions inside its scale
// group (G = 128, or 32 for FP4 weights), one exact power-of-two scaling, and ceil(k/G)
// additions into the accumulator. Each addition errs by at most 2^-24 times a partial sum
// bounded by Σ|x·w|, so |kernel - ref| <= (G + ceil(k/G) + 1) · 2^-24 · Σ_k |x_ik · w_jk|.
// (A wrong scale group, weight code or k index moves an element by a sizeable fraction of
// Σ|x·w|, far beyond this ~1e-5 relative bound.)
//
// Round::kBf16: the kernel's bf16 result must be exactly round_bf16 of its own fp32 result
// (one rounding, at the end), and may differ from the reference's bf16 result by one bf16
// ulp only where the two fp32 values straddle a rounding boundary, which at the distance
// above happens to well under 1% of elements: allowed on at most 1 + 1% of them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "cuda/gemm.cuh"
#include "cuda/grouped_gemm.cuh"
#include "dsv4k/gemm.h"
#include "dsv4k/numeric.h"
#include "dsv4k/quant.h"

namespace dsv4k {
namespace {

constexpr float kPad = -7.0f;

// ---- random inputs ---------------------------------------------------------------------

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * 0x1p-24f * 2.0f - 1.0f; }  // [-1, 1), 24 bits
  int range(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1)); }
};

// fp32 values with all 24 bits, or bf16 values (the reference mode's activations), with the
// magnitude changing every 16 elements so that scale blocks differ.
std::vector<float> random_floats(size_t n, uint64_t seed, bool bf16_values) {
  Rng rng(seed);
  std::vector<float> v(n);
  float mag = 1.0f;
  for (size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) mag = exp2i(rng.range(-4, 3));
    const float x = rng.uniform() * mag;
    v[i] = bf16_values ? round_bf16(x) : x;
  }
  return v;
}

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng.next() >> 56);
  return v;
}

std::vector<uint8_t> random_e4m3(size_t n, uint64_t seed) {
  std::vector<uint8_t> v = random_bytes(n, seed);
  for (auto& b : v)
    if ((b & 0x7Fu) == 0x7Fu) b = 0;  // no NaN in checkpoints
  return v;
}

std::vector<uint8_t> random_e8m0(size_t n, uint64_t seed, int lo, int hi) {
  Rng rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng.range(lo, hi));
  return v;
}

// Activations quantized by the reference's own 1x128 quantizer.
struct QuantData {
  std::vector<uint8_t> q;
  std::vector<float> s;
  QuantizedRows x;
  QuantData(int64_t m, int64_t k, uint64_t seed)
      : q(static_cast<size_t>(m * k)), s(static_cast<size_t>(m * (k / kFp8Block))) {
    const std::vector<float> f = random_floats(static_cast<size_t>(m * k), seed, true);
    ref::quantize_e4m3(f.data(), m, k, k, kFp8Block, q.data(), s.data());
    x = {q.data(), s.data(), m, k};
  }
  double value(int64_t i, int64_t k) const {
    return static_cast<double>(e4m3_to_f32(q[static_cast<size_t>(i * x.k + k)])) *
           s[static_cast<size_t>(i * (x.k / kFp8Block) + k / kFp8Block)];
  }
};

struct Fp8Data {
  std::vector<uint8_t> data, scale;
  Fp8Weight w;
  Fp8Data(int64_t n, int64_t k, uint64_t seed)
      : data(random_e4m3(static_cast<size_t>(n * k), seed)),
        scale(random_e8m0(static_cast<size_t>(((n + 127) / 128) * ((k + 127) / 128)), seed + 1, 127 - 12, 127 + 1)),
        w{data.data(), scale.data(), n, k} {}
  double value(int64_t j, int64_t k) const {
    const int64_t n_kb = (w.k + kFp8Block - 1) / kFp8Block;
    return static_cast<double>(e4m3_to_f32(data[static_cast<size_t>(j * w.k + k)])) *
           e8m0_to_f32(scale[static_cast<size_t>((j / kFp8Block) * n_kb + k / kFp8Block)]);
  }
};

struct Fp4Data {
  std::vector<uint8_t> data, scale;
  Fp4Weight w;
  Fp4Data(int64_t n, int64_t k, uint64_t seed)
      : data(random_bytes(static_cast<size_t>(n * k / 2), seed)),
        scale(random_e8m0(static_cast<size_t>(n * k / kFp4Block), seed + 1, 127 - 10, 127 + 1)),
        w{data.data(), scale.data(), n, k} {}
  double value(int64_t j, int64_t k) const {
    const uint8_t b = data[static_cast<size_t>(j * (w.k / 2) + k / 2)];
    const uint8_t code = static_cast<uint8_t>(k % 2 == 0 ? (b & 0xFu) : (b >> 4));
    return static_cast<double>(e2m1_to_f32(code)) * e8m0_to_f32(scale[static_cast<size_t>(j * (w.k / kFp4Block) + k / kFp4Block)]);
  }
};

// ---- comparison ------------------------------------------------------------------------

double bf16_ulp(double a, double b) {
  int e = 0;
  std::frexp(std::fmax(std::fabs(a), std::fabs(b)), &e);  // max = f · 2^e, f in [0.5, 1)
  return std::ldexp(1.0, e - 8);
}

// run(round, y) computes with the kernel, ref(round, y) with the reference; y has m rows
// ldy apart. abs_sum(i, j) = Σ_k |x_ik · w_jk|; depth as in the header comment.
template <class Run, class Ref, class AbsSum>
void expect_matches(int64_t m, int64_t n, int64_t ldy, double depth, Run&& run, Ref&& ref, AbsSum&& abs_sum) {
  const size_t size = static_cast<size_t>(m * ldy);
  std::vector<float> y(size, kPad), r(size, kPad), yb(size, kPad), rb(size, kPad);
  run(Round::kNone, y.data());
  ref(Round::kNone, r.data());
  run(Round::kBf16, yb.data());
  ref(Round::kBf16, rb.data());
  int64_t bad = 0, ulp_off = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < ldy; ++j) {
      const size_t at = static_cast<size_t>(i * ldy + j);
      if (j >= n) {
        if (y[at] != kPad || yb[at] != kPad) {
          ADD_FAILURE() << "padding y[" << i << "][" << j << "] written";
          ++bad;
        }
        continue;
      }
      const double tol = depth * 0x1p-24 * abs_sum(i, j);
      if (!(std::fabs(static_cast<double>(y[at]) - r[at]) <= tol) && bad++ < 5)
        ADD_FAILURE() << "y[" << i << "][" << j << "] kernel " << y[at] << " ref " << r[at] << " tol " << tol;
      if (f32_bits(yb[at]) != f32_bits(round_bf16(y[at])) && bad++ < 5)
        ADD_FAILURE() << "bf16 y[" << i << "][" << j << "] " << yb[at] << " is not round_bf16(" << y[at] << ")";
      if (yb[at] != rb[at]) {
        ++ulp_off;
        if (!(std::fabs(static_cast<double>(yb[at]) - rb[at]) <= bf16_ulp(yb[at], rb[at])) && bad++ < 5)
          ADD_FAILURE() << "bf16 y[" << i << "][" << j << "] kernel " << yb[at] << " ref " << rb[at];
      }
    }
  }
  EXPECT_EQ(bad, 0);
  EXPECT_LE(ulp_off, 1 + m * n / 100) << "bf16 results one ulp off the reference";
}

double depth_for(int64_t k, int64_t group) { return static_cast<double>(group + (k + group - 1) / group + 1); }

struct Shape {
  int64_t m, n, k;
};

void PrintTo(const Shape& s, std::ostream* os) { *os << "m=" << s.m << " n=" << s.n << " k=" << s.k; }

std::string shape_name(const ::testing::TestParamInfo<Shape>& p) {
  return "m" + std::to_string(p.param.m) + "_n" + std::to_string(p.param.n) + "_k" + std::to_string(p.param.k);
}

// ---- pre-quantized activations (k a multiple of 128) ------------------------------------

class CudaEmuGemmQ : public ::testing::TestWithParam<Shape> {};

TEST_P(CudaEmuGemmQ, Fp8MatchesReference) {
  const Shape s = GetParam();
  const Fp8Data w(s.n, s.k, 11);
  const QuantData x(s.m, s.k, 12);
  const int64_t ldy = s.n + 3;
  expect_matches(
      s.m, s.n, ldy, depth_for(s.k, kFp8Block),
      [&](Round round, float* y) { ASSERT_EQ(cuda::launch_gemm_fp8_q(x.x, w.w, y, ldy, round, nullptr), cudaSuccess); },
      [&](Round round, float* y) { ref::gemm_fp8_q(x.x, w.w, y, ldy, round); },
      [&](int64_t i, int64_t j) {
        double a = 0;
        for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * w.value(j, k));
        return a;
      });
}

TEST_P(CudaEmuGemmQ, Fp4MatchesReference) {
  const Shape s = GetParam();
  const Fp4Data w(s.n, s.k, 21);
  const QuantData x(s.m, s.k, 22);
  const int64_t ldy = s.n + 3;
  expect_matches(
      s.m, s.n, ldy, depth_for(s.k, kFp4Block),
      [&](Round round, float* y) { ASSERT_EQ(cuda::launch_gemm_fp4_q(x.x, w.w, y, ldy, round, nullptr), cudaSuccess); },
      [&](Round round, float* y) { ref::gemm_fp4_q(x.x, w.w, y, ldy, round); },
      [&](int64_t i, int64_t j) {
        double a = 0;
        for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * w.value(j, k));
        return a;
      });
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaEmuGemmQ,
                         ::testing::Values(Shape{1, 131, 128}, Shape{3, 37, 384}, Shape{17, 133, 256},
                                           Shape{33, 65, 512}),
                         shape_name);

// ---- unquantized fp32 activations -------------------------------------------------------

// x rows ldx = k + 5 apart, fp32 with all 24 bits and bf16 values (the reference mode).
struct Acts {
  std::vector<float> x;
  int64_t ldx;
  Acts(const Shape& s, bool bf16_values, uint64_t seed)
      : x(random_floats(static_cast<size_t>(s.m * (s.k + 5)), seed, bf16_values)), ldx(s.k + 5) {}
  double value(int64_t i, int64_t k) const { return x[static_cast<size_t>(i * ldx + k)]; }
};

// Any k: FP8 weights carry a partial last scale block, bf16/fp32 have no blocks.
class CudaEmuGemmF : public ::testing::TestWithParam<Shape> {};

TEST_P(CudaEmuGemmF, Fp8MatchesReference) {
  const Shape s = GetParam();
  const Fp8Data w(s.n, s.k, 31);
  for (bool bf16_values : {false, true}) {
    SCOPED_TRACE(bf16_values ? "bf16 x" : "fp32 x");
    const Acts x(s, bf16_values, 32);
    const int64_t ldy = s.n + 3;
    expect_matches(
        s.m, s.n, ldy, depth_for(s.k, kFp8Block),
        [&](Round round, float* y) {
          ASSERT_EQ(cuda::launch_gemm_fp8_f(x.x.data(), s.m, x.ldx, w.w, y, ldy, round, nullptr), cudaSuccess);
        },
        [&](Round round, float* y) { ref::gemm_fp8_f(x.x.data(), s.m, x.ldx, w.w, y, ldy, round); },
        [&](int64_t i, int64_t j) {
          double a = 0;
          for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * w.value(j, k));
          return a;
        });
  }
}

TEST_P(CudaEmuGemmF, Bf16MatchesReference) {
  const Shape s = GetParam();
  std::vector<uint16_t> wd(static_cast<size_t>(s.n * s.k));
  const std::vector<float> wf = random_floats(wd.size(), 41, false);
  for (size_t e = 0; e < wd.size(); ++e) wd[e] = f32_to_bf16(wf[e] * 0.05f);
  const Bf16Weight w{wd.data(), s.n, s.k};
  for (bool bf16_values : {false, true}) {
    SCOPED_TRACE(bf16_values ? "bf16 x" : "fp32 x");
    const Acts x(s, bf16_values, 42);
    const int64_t ldy = s.n + 3;
    expect_matches(
        s.m, s.n, ldy, depth_for(s.k, kFp8Block),
        [&](Round round, float* y) {
          ASSERT_EQ(cuda::launch_gemm_bf16(x.x.data(), s.m, x.ldx, w, y, ldy, round, nullptr), cudaSuccess);
        },
        [&](Round round, float* y) { ref::gemm_bf16(x.x.data(), s.m, x.ldx, w, y, ldy, round); },
        [&](int64_t i, int64_t j) {
          double a = 0;
          for (int64_t k = 0; k < s.k; ++k)
            a += std::fabs(x.value(i, k) * bf16_to_f32(wd[static_cast<size_t>(j * s.k + k)]));
          return a;
        });
  }
}

TEST_P(CudaEmuGemmF, F32MatchesReference) {
  const Shape s = GetParam();
  const std::vector<float> wd = random_floats(static_cast<size_t>(s.n * s.k), 51, false);
  const F32Weight w{wd.data(), s.n, s.k};
  const Acts x(s, false, 52);
  const int64_t ldy = s.n + 3;
  expect_matches(
      s.m, s.n, ldy, depth_for(s.k, kFp8Block),
      [&](Round round, float* y) {
        ASSERT_EQ(cuda::launch_gemm_f32(x.x.data(), s.m, x.ldx, w, y, ldy, round, nullptr), cudaSuccess);
      },
      [&](Round round, float* y) { ref::gemm_f32(x.x.data(), s.m, x.ldx, w, y, ldy, round); },
      [&](int64_t i, int64_t j) {
        double a = 0;
        for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * wd[static_cast<size_t>(j * s.k + k)]);
        return a;
      });
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaEmuGemmF,
                         ::testing::Values(Shape{1, 37, 1}, Shape{3, 131, 15}, Shape{17, 19, 200}, Shape{33, 70, 129},
                                           Shape{1, 5, 1000}),
                         shape_name);

// FP4 weights with unquantized activations: k a multiple of 32 (one weight scale per 32).
class CudaEmuGemmFp4F : public ::testing::TestWithParam<Shape> {};

TEST_P(CudaEmuGemmFp4F, MatchesReference) {
  const Shape s = GetParam();
  const Fp4Data w(s.n, s.k, 61);
  for (bool bf16_values : {false, true}) {
    SCOPED_TRACE(bf16_values ? "bf16 x" : "fp32 x");
    const Acts x(s, bf16_values, 62);
    const int64_t ldy = s.n + 3;
    expect_matches(
        s.m, s.n, ldy, depth_for(s.k, kFp4Block),
        [&](Round round, float* y) {
          ASSERT_EQ(cuda::launch_gemm_fp4_f(x.x.data(), s.m, x.ldx, w.w, y, ldy, round, nullptr), cudaSuccess);
        },
        [&](Round round, float* y) { ref::gemm_fp4_f(x.x.data(), s.m, x.ldx, w.w, y, ldy, round); },
        [&](int64_t i, int64_t j) {
          double a = 0;
          for (int64_t k = 0; k < s.k; ++k) a += std::fabs(x.value(i, k) * w.value(j, k));
          return a;
        });
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaEmuGemmFp4F,
                         ::testing::Values(Shape{1, 37, 32}, Shape{3, 131, 96}, Shape{17, 19, 160}, Shape{33, 13, 352}),
                         shape_name);

// ---- the grouped `wo_a` product -----------------------------------------------------------

// Three groups of 128 output rows over k_g = 100 columns each (a partial scale block), x rows
// 3·100 + 5 apart: each output sums its own group's columns with its own rows and scales.
TEST(CudaEmuGemm, Fp8GroupedMatchesReference) {
  constexpr int64_t m = 17, n_groups = 3, n_g = 128, k_g = 100, ldx = n_groups * k_g + 5, ldy = n_groups * n_g + 3;
  const Fp8Data w(n_groups * n_g, k_g, 41);
  const std::vector<float> x = random_floats(static_cast<size_t>(m * ldx), 42, true);
  expect_matches(
      m, n_groups * n_g, ldy, depth_for(k_g, kFp8Block),
      [&](Round round, float* y) {
        ASSERT_EQ(cuda::launch_gemm_fp8_f_grouped(x.data(), m, ldx, w.w, n_groups, y, ldy, round, nullptr),
                  cudaSuccess);
      },
      [&](Round round, float* y) { ref::gemm_fp8_f_grouped(x.data(), m, ldx, w.w, n_groups, y, ldy, round); },
      [&](int64_t i, int64_t j) {
        double a = 0;
        for (int64_t k = 0; k < k_g; ++k)
          a += std::fabs(static_cast<double>(x[static_cast<size_t>(i * ldx + (j / n_g) * k_g + k)]) * w.value(j, k));
        return a;
      });
}

TEST(CudaEmuGemm, Fp8GroupedRefusesGroupsThatSplitAScaleBlock) {
  const std::vector<uint8_t> data(192 * 4, 0), scale(2, 127);
  float y = 0.0f;
  const float x[8] = {};
  EXPECT_NE(cuda::launch_gemm_fp8_f_grouped(x, 1, 8, Fp8Weight{data.data(), scale.data(), 192, 4}, 2, &y, 192,
                                            Round::kNone, nullptr),
            cudaSuccess);
}

// ---- exact decodes ---------------------------------------------------------------------

// A one-hot product picks out one decoded value, so every code must come out exactly: every
// e4m3 weight code (one per output column) and every e4m3 activation code (one per row).
TEST(CudaEmuGemm, Fp8DecodesEveryCodeExactly) {
  const int64_t k = 128, codes = 256;
  std::vector<uint8_t> one_hot(static_cast<size_t>(codes * k), 0), ones(static_cast<size_t>(k), 0x38);  // 1.0
  for (int64_t c = 0; c < codes; ++c) {
    const bool nan = (c & 0x7F) == 0x7F;
    one_hot[static_cast<size_t>(c * k + c % k)] = static_cast<uint8_t>(nan ? 0 : c);
  }
  // Weight scale 2^3 (one per 128-row block), activation scale 2^-5: y = code · 2^-2.
  const std::vector<uint8_t> ws = {130, 130};
  const std::vector<float> xs_one = {0x1p-5f};
  const std::vector<float> xs_all(static_cast<size_t>(codes), 0x1p-5f);
  std::vector<float> y_w(static_cast<size_t>(codes), kPad), y_x(static_cast<size_t>(codes), kPad);
  ASSERT_EQ(cuda::launch_gemm_fp8_q(QuantizedRows{ones.data(), xs_one.data(), 1, k},
                                    Fp8Weight{one_hot.data(), ws.data(), codes, k}, y_w.data(), codes, Round::kNone,
                                    nullptr),
            cudaSuccess);
  ASSERT_EQ(cuda::launch_gemm_fp8_q(QuantizedRows{one_hot.data(), xs_all.data(), codes, k},
                                    Fp8Weight{ones.data(), ws.data(), 1, k}, y_x.data(), 1, Round::kNone, nullptr),
            cudaSuccess);
  for (int64_t c = 0; c < codes; ++c) {
    const float want = (c & 0x7F) == 0x7F ? 0.0f : e4m3_to_f32(static_cast<uint8_t>(c)) * 0x1p-2f;
    EXPECT_EQ(y_w[static_cast<size_t>(c)], want) << "weight code " << c;
    EXPECT_EQ(y_x[static_cast<size_t>(c)], want) << "activation code " << c;
  }
}

// Every e2m1 code in both nibbles (even k: low, odd k: high), each in its own column.
TEST(CudaEmuGemm, Fp4DecodesEveryCodeInBothNibblesExactly) {
  const int64_t k = 128, n = 32;
  std::vector<uint8_t> w(static_cast<size_t>(n * k / 2), 0);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t code = j % 16, pos = 2 * code + j / 16;
    w[static_cast<size_t>(j * (k / 2) + pos / 2)] = static_cast<uint8_t>(pos % 2 == 0 ? code : code << 4);
  }
  const std::vector<uint8_t> ws(static_cast<size_t>(n * k / kFp4Block), 126);  // 2^-1
  const std::vector<uint8_t> ones(static_cast<size_t>(k), 0x38);
  const std::vector<float> xs = {4.0f};
  std::vector<float> y(static_cast<size_t>(n), kPad);
  ASSERT_EQ(cuda::launch_gemm_fp4_q(QuantizedRows{ones.data(), xs.data(), 1, k}, Fp4Weight{w.data(), ws.data(), n, k},
                                    y.data(), n, Round::kNone, nullptr),
            cudaSuccess);
  for (int64_t j = 0; j < n; ++j)
    EXPECT_EQ(y[static_cast<size_t>(j)], e2m1_to_f32(static_cast<uint8_t>(j % 16)) * 2.0f) << "column " << j;
}

TEST(CudaEmuGemm, EmptyProblemsLaunchNothing) {
  const std::vector<float> wd(4, 1.0f);
  float y = kPad;
  EXPECT_EQ(cuda::launch_gemm_f32(nullptr, 0, 4, F32Weight{wd.data(), 1, 4}, &y, 1, Round::kNone, nullptr), cudaSuccess);
  EXPECT_EQ(y, kPad);
}

}  // namespace
}  // namespace dsv4k

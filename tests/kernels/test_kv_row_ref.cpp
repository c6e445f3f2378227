// The reference KV-row codecs (dsv4k/kv_row.h): byte layouts, the encoder's identity with
// the reference quantizer, and losslessness for the rows the reference numerics cache,
// checked on random simulated rows, exhaustively over (largest code, scale exponent) for
// blocks of grid values, and on constructed edge blocks (the re-derived scale one step below
// the simulation's, all-zero and -0 blocks, only-subnormal codes, the amax floors).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "dsv4k/kv_row.h"
#include "dsv4k/numeric.h"
#include "dsv4k/quant.h"
#include "test_kv_row_inputs.h"

namespace dsv4k {
namespace {

using kv_row_test::first_bit_difference;

// ---- helpers: one row round trip -----------------------------------------------------

std::vector<float> fp8_round_trip(const std::vector<float>& x, int64_t n, int64_t ld, int64_t dim, int64_t rope_dim,
                                  std::vector<uint8_t>* bytes = nullptr) {
  std::vector<uint8_t> enc(static_cast<size_t>(n * kv_fp8_row_bytes(dim, rope_dim)));
  ref::encode_kv_fp8_rows(x.data(), n, ld, dim, rope_dim, enc.data());
  std::vector<float> y(x.size(), -777.0f);
  ref::decode_kv_fp8_rows(enc.data(), n, dim, rope_dim, y.data(), ld);
  if (bytes != nullptr) *bytes = enc;
  return y;
}

std::vector<float> fp4_round_trip(const std::vector<float>& x, int64_t n, int64_t ld, int64_t dim,
                                  std::vector<uint8_t>* bytes = nullptr) {
  std::vector<uint8_t> enc(static_cast<size_t>(n * kv_fp4_row_bytes(dim)));
  ref::encode_kv_fp4_rows(x.data(), n, ld, dim, enc.data());
  std::vector<float> y(x.size(), -777.0f);
  ref::decode_kv_fp4_rows(enc.data(), n, dim, y.data(), ld);
  if (bytes != nullptr) *bytes = enc;
  return y;
}

// The scale rule as the simulation computes it (exponent of the power of two).
int rule_exponent(const float* x, int64_t n, float amax_floor, float inv_max) {
  float a = 0.0f;
  for (int64_t i = 0; i < n; ++i) a = std::fmax(a, std::fabs(x[i]));
  return pow2_scale_exponent(a, amax_floor, inv_max);
}

// ---- sizes and the fp32 facts the losslessness argument rests on ------------------------

TEST(KvRowRef, RowBytes) {
  EXPECT_EQ(kv_fp8_row_bytes(512, 64), 584);  // 448 + 128 + 7 + 1 pad
  EXPECT_EQ(kv_fp8_row_bytes(576, 64), 648);  // 512 + 128 + 8
  EXPECT_EQ(kv_fp8_row_bytes(64, 0), 72);     // 64 + 1 -> 72
  EXPECT_EQ(kv_fp8_row_bytes(13, 13), 32);    // rope only: 26 -> 32
  EXPECT_EQ(kv_fp8_row_bytes(0, 0), 0);
  EXPECT_EQ(kv_fp4_row_bytes(128), 68);  // 64 + 4
  EXPECT_EQ(kv_fp4_row_bytes(32), 20);   // 16 + 1 -> 20
  EXPECT_EQ(kv_fp4_row_bytes(0), 0);
  EXPECT_EQ(kv_bf16_row_bytes(512), 1024);
  EXPECT_TRUE(kv_fp8_shape_ok(512, 64));
  EXPECT_FALSE(kv_fp8_shape_ok(512, 63));
  EXPECT_FALSE(kv_fp8_shape_ok(64, 65));
  EXPECT_TRUE(kv_fp4_shape_ok(128));
  EXPECT_FALSE(kv_fp4_shape_ok(100));
}

TEST(KvRowRef, ScaleRuleConstants) {
  // fl(M · fl(1/M)) = 1: the amax M·2^e maps to exactly 2^e, so full-range codes keep e.
  EXPECT_EQ(448.0f * kE4M3InvMax, 1.0f);
  EXPECT_EQ(6.0f * kE2M1InvMax, 1.0f);
  // Half the range maps to exactly 2^(e-1): the one case where the encoder steps down.
  EXPECT_EQ(224.0f * kE4M3InvMax, 0.5f);
  EXPECT_EQ(3.0f * kE2M1InvMax, 0.5f);
  // The next grid values above the maxima map above 1 (step 2 of the argument).
  EXPECT_GT(480.0f * kE4M3InvMax, 1.0f);
  EXPECT_GT(8.0f * kE2M1InvMax, 1.0f);
  // The floors' exponents: simulated scales are never below these.
  EXPECT_EQ(pow2_scale_exponent(0.0f, kE4M3AmaxFloor, kE4M3InvMax), -22);
  EXPECT_EQ(pow2_scale_exponent(0.0f, kE2M1AmaxFloor, kE2M1InvMax), -126);
  // 1e-4 · 2^22 = 419.4 < 448: a block below the FP8 floor never reaches the top codes.
  EXPECT_LT(kE4M3AmaxFloor * 4194304.0f, 448.0f);
}

// ---- layouts ----------------------------------------------------------------------------

TEST(KvRowRef, Fp8Layout) {
  const int64_t dim = 512, rope = 64, nope = 448;
  std::vector<float> x(dim, 0.0f);
  // Block 0: amax 448 -> scale 2^0, codes of 448, -1, 2^-9 (smallest subnormal), -0.
  x[0] = 448.0f;
  x[1] = -1.0f;
  x[2] = 0.001953125f;
  x[3] = -0.0f;
  // Block 3: amax 6 -> scale 2^-6 (6/448 rounds up to 2^-6); 6 = 384 · 2^-6.
  x[3 * 64 + 5] = 6.0f;
  // Rope: bf16 values 1.0 and -2.5 (bits 0x3F80, 0xC020).
  x[nope] = 1.0f;
  x[nope + 63] = -2.5f;
  std::vector<uint8_t> b;
  const std::vector<float> y = fp8_round_trip(x, 1, dim, dim, rope, &b);
  ASSERT_EQ(b.size(), 584u);
  EXPECT_EQ(b[0], 0x7E);           // 448
  EXPECT_EQ(b[1], 0xB8);           // -1: sign | exponent 7 << 3
  EXPECT_EQ(b[2], 0x01);           // 2^-9
  EXPECT_EQ(b[3], 0x80);           // -0
  EXPECT_EQ(b[4], 0x00);
  EXPECT_EQ(b[3 * 64 + 5], 0x7C);  // 384 = 1.5 · 2^8: exponent 15, mantissa 4
  EXPECT_EQ(b[nope + 0], 0x80);    // rope bf16 little-endian
  EXPECT_EQ(b[nope + 1], 0x3F);
  EXPECT_EQ(b[nope + 126], 0x20);
  EXPECT_EQ(b[nope + 127], 0xC0);
  const int64_t sc = nope + 2 * rope;
  EXPECT_EQ(b[sc + 0], 127);       // 2^0
  EXPECT_EQ(b[sc + 1], 127 - 22);  // an all-zero block gets the floor's scale
  EXPECT_EQ(b[sc + 3], 127 - 6);
  EXPECT_EQ(b[583], 0);  // pad
  EXPECT_EQ(first_bit_difference(x.data(), y.data(), 1, dim, dim), -1);
}

TEST(KvRowRef, Fp4Layout) {
  const int64_t dim = 64;
  std::vector<float> x(dim, 0.0f);
  x[0] = 6.0f;    // code 7, low nibble of byte 0
  x[1] = -0.5f;   // code 9, high nibble of byte 0
  x[2] = -0.0f;   // code 8
  x[3] = 3.0f;    // code 5
  x[32] = 0.75f;  // block 1: amax 0.75 -> scale 2^-3 (fl(0.75 · fl(1/6)) = 2^-3); 0.75 = 6 · 2^-3
  std::vector<uint8_t> b;
  const std::vector<float> y = fp4_round_trip(x, 1, dim, dim, &b);
  ASSERT_EQ(b.size(), 36u);
  EXPECT_EQ(b[0], 0x97);
  EXPECT_EQ(b[1], 0x58);
  EXPECT_EQ(b[16], 0x07);
  EXPECT_EQ(b[32], 127);
  EXPECT_EQ(b[33], 127 - 3);
  EXPECT_EQ(b[34], 0);
  EXPECT_EQ(b[35], 0);
  EXPECT_EQ(first_bit_difference(x.data(), y.data(), 1, dim, dim), -1);
}

// ---- the encoder is the reference quantizer ------------------------------------------

TEST(KvRowRef, Fp8EncoderIsTheQuantizer) {
  const int64_t n = 50, dim = 512, rope = 64, nope = 448, ld = 515;
  std::vector<float> x = kv_row_test::random_rows(n, ld, dim, 64, 11);
  kv_row_test::add_tie_blocks(x, n, ld, nope, 64);
  std::vector<uint8_t> b;
  const std::vector<float> y = fp8_round_trip(x, n, ld, dim, rope, &b);
  std::vector<uint8_t> q(static_cast<size_t>(n * nope));
  std::vector<float> s(static_cast<size_t>(n * 7));
  ref::quantize_e4m3(x.data(), n, nope, ld, 64, q.data(), s.data());
  std::vector<float> sim = x;
  kv_row_test::simulate_fp8_rows(sim, n, ld, dim, rope);
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* row = b.data() + r * 584;
    ASSERT_EQ(std::memcmp(row, q.data() + r * nope, static_cast<size_t>(nope)), 0) << "row " << r;
    for (int64_t k = 0; k < 7; ++k) ASSERT_EQ(e8m0_to_f32(row[nope + 128 + k]), s[static_cast<size_t>(r * 7 + k)]);
  }
  // So decode(encode(x)) is the simulation itself, for any x (rope dims: bf16 rounding).
  EXPECT_EQ(first_bit_difference(sim.data(), y.data(), n, ld, dim), -1);
}

TEST(KvRowRef, Fp4DecodeOfEncodeIsTheSimulation) {
  for (int64_t dim : {32, 128, 256}) {
    const int64_t n = 40, ld = dim + 3;
    std::vector<float> x = kv_row_test::random_rows(n, ld, dim, 32, 12 + static_cast<uint64_t>(dim));
    kv_row_test::add_tie_blocks(x, n, ld, dim, 32);
    std::vector<float> sim = x;
    ref::simulate_e2m1(sim.data(), n, dim, ld, 32);
    const std::vector<float> y = fp4_round_trip(x, n, ld, dim);
    EXPECT_EQ(first_bit_difference(sim.data(), y.data(), n, ld, dim), -1) << "dim " << dim;
  }
}

// ---- losslessness on the rows the reference caches -------------------------------------

TEST(KvRowRef, Fp8LosslessOnSimulatedRows) {
  struct Shape {
    int64_t dim, rope;
  };
  for (const Shape sh : {Shape{512, 64}, Shape{64, 0}, Shape{192, 0}, Shape{128 + 13, 13}}) {
    for (int64_t n : {1, 7, 1000}) {
      const int64_t ld = sh.dim + 5;
      std::vector<float> x = kv_row_test::random_rows(n, ld, sh.dim, 64, static_cast<uint64_t>(n * 31 + sh.dim));
      const std::vector<float> raw = x;
      kv_row_test::simulate_fp8_rows(x, n, ld, sh.dim, sh.rope);
      std::vector<uint8_t> bytes;
      const std::vector<float> y = fp8_round_trip(x, n, ld, sh.dim, sh.rope, &bytes);
      EXPECT_EQ(first_bit_difference(x.data(), y.data(), n, ld, sh.dim), -1) << "dim " << sh.dim << " n " << n;
      // Random simulated rows do reach the stepped-down scale (largest code 224, ~3% of blocks):
      // the stored exponent is then one below the simulation's.
      const int64_t n_blocks = (sh.dim - sh.rope) / 64, rb = kv_fp8_row_bytes(sh.dim, sh.rope);
      int64_t n_down = 0;
      for (int64_t r = 0; r < n; ++r) {
        for (int64_t k = 0; k < n_blocks; ++k) {
          const float* xb = raw.data() + r * ld + k * 64;
          const int e = bytes[static_cast<size_t>(r * rb + sh.dim + sh.rope + k)] - 127;
          n_down += e < rule_exponent(xb, 64, kE4M3AmaxFloor, kE4M3InvMax) ? 1 : 0;
        }
      }
      if (n == 1000 && n_blocks == 7) {
        EXPECT_GT(n_down, 20);
      }
      // Columns past dim are not touched.
      for (int64_t r = 0; r < n; ++r) ASSERT_EQ(y[static_cast<size_t>(r * ld + sh.dim)], -777.0f);
    }
  }
}

TEST(KvRowRef, Fp4LosslessOnSimulatedIndexerRows) {
  for (int64_t dim : {128, 32, 96}) {
    for (int64_t n : {1, 9, 1000}) {
      const int64_t ld = dim + 7;
      std::vector<float> x = kv_row_test::random_rows(n, ld, dim, 32, static_cast<uint64_t>(n * 17 + dim));
      kv_row_test::simulate_fp4_rows(x, n, ld, dim);
      const std::vector<float> y = fp4_round_trip(x, n, ld, dim);
      EXPECT_EQ(first_bit_difference(x.data(), y.data(), n, ld, dim), -1) << "dim " << dim << " n " << n;
    }
  }
}

// Every block of grid values c_i · 2^e with e at or above the floor's exponent (the set the
// argument in kv_row_ref.cpp covers, which contains every simulated block), for every
// largest code and every exponent: 126 codes × 143 exponents for FP8, 7 × 253 for FP4.
TEST(KvRowRef, Fp8LosslessForEveryLargestCodeAndExponent) {
  std::mt19937 rng(5);
  int64_t n_blocks = 0, n_stepped_down = 0;
  for (int e = -22; e <= 120; ++e) {
    for (int top = 1; top <= 0x7E; ++top) {
      std::vector<float> x(64);
      x[0] = e4m3_to_f32(static_cast<uint8_t>(top | (rng() % 2 ? 0x80 : 0))) * exp2i(e);
      for (size_t i = 1; i < x.size(); ++i) {
        const uint8_t c = static_cast<uint8_t>((rng() % static_cast<unsigned>(top + 1)) | (rng() % 2 ? 0x80u : 0u));
        x[i] = e4m3_to_f32(c) * exp2i(e);
      }
      if (!std::isfinite(x[0])) continue;  // 0x7E · 2^120 and the like are not fp32 values
      std::vector<uint8_t> b;
      const std::vector<float> y = fp8_round_trip(x, 1, 64, 64, 0, &b);
      ASSERT_EQ(first_bit_difference(x.data(), y.data(), 1, 64, 64), -1) << "e " << e << " top " << top;
      const int e_stored = b[64] - 127;
      ASSERT_LE(e_stored, e);
      ++n_blocks;
      n_stepped_down += e_stored < e ? 1 : 0;
    }
  }
  EXPECT_GT(n_stepped_down, 0);
  EXPECT_GT(n_blocks, 17000);
}

TEST(KvRowRef, Fp4LosslessForEveryLargestCodeAndExponent) {
  std::mt19937 rng(6);
  for (int e = -126; e <= 126; ++e) {
    for (int top = 1; top <= 7; ++top) {
      for (int rep = 0; rep < 8; ++rep) {
        std::vector<float> x(32);
        x[0] = e2m1_to_f32(static_cast<uint8_t>(top | (rng() % 2 ? 8 : 0))) * exp2i(e);
        for (size_t i = 1; i < x.size(); ++i)
          x[i] = e2m1_to_f32(static_cast<uint8_t>((rng() % static_cast<unsigned>(top + 1)) | (rng() % 2 ? 8u : 0u))) *
                 exp2i(e);
        std::vector<uint8_t> b;
        const std::vector<float> y = fp4_round_trip(x, 1, 32, 32, &b);
        ASSERT_EQ(first_bit_difference(x.data(), y.data(), 1, 32, 32), -1) << "e " << e << " top " << top;
        ASSERT_LE(b[16] - 127, e);
      }
    }
  }
}

// ---- constructed edge blocks ------------------------------------------------------------

// Simulates x (one block of 64 FP8 or 32 FP4 values), checks the round trip is exact and
// returns (simulation's exponent, stored exponent).
struct Exps {
  int simulated, stored;
};

Exps fp8_block_case(std::vector<float> x) {
  x.resize(64, 0.0f);
  const int e_sim = rule_exponent(x.data(), 64, kE4M3AmaxFloor, kE4M3InvMax);
  ref::simulate_e4m3(x.data(), 1, 64, 64, 64);
  std::vector<uint8_t> b;
  const std::vector<float> y = fp8_round_trip(x, 1, 64, 64, 0, &b);
  EXPECT_EQ(first_bit_difference(x.data(), y.data(), 1, 64, 64), -1);
  return {e_sim, b[64] - 127};
}

Exps fp4_block_case(std::vector<float> x) {
  x.resize(32, 0.0f);
  const int e_sim = rule_exponent(x.data(), 32, kE2M1AmaxFloor, kE2M1InvMax);
  ref::simulate_e2m1(x.data(), 1, 32, 32, 32);
  std::vector<uint8_t> b;
  const std::vector<float> y = fp4_round_trip(x, 1, 32, 32, &b);
  EXPECT_EQ(first_bit_difference(x.data(), y.data(), 1, 32, 32), -1);
  return {e_sim, b[16] - 127};
}

TEST(KvRowRef, Fp8LargestCodeRoundsDownToHalfRange) {
  // amax / 2^e in (224, 232] rounds to the code 224 = 448/2, so the simulated block's amax is
  // 224 · 2^e and the encoder re-derives 2^(e-1), storing every code doubled.
  for (int e : {-21, -3, 0, 5, 100}) {
    for (float t : {224.5f, 229.0f, 231.9f, 232.0f /* tie -> 224 */}) {
      std::vector<float> x = {t * exp2i(e), -t * exp2i(e), 1.0f * exp2i(e), 0.001953125f * exp2i(e),
                              -0.0f,        3.3f * exp2i(e), 0.0f,           100.0f * exp2i(e)};
      const Exps ex = fp8_block_case(x);
      EXPECT_EQ(ex.simulated, e);
      EXPECT_EQ(ex.stored, e - 1) << "t " << t << " e " << e;
    }
    // Just above the tie the code is 240 and the scale stays.
    const Exps ex = fp8_block_case({232.1f * exp2i(e)});
    EXPECT_EQ(ex.stored, e);
  }
}

TEST(KvRowRef, Fp4LargestCodeRoundsDownToHalfRange) {
  // amax / 2^e in (3, 3.5) rounds to 3 = 6/2 (3.5 ties to 4).
  for (int e : {-125, -10, 0, 7, 120}) {
    for (float t : {3.01f, 3.25f, 3.49f}) {
      const Exps ex = fp4_block_case({t * exp2i(e), -0.25f * exp2i(e), 0.75f * exp2i(e), -t * exp2i(e), -0.0f});
      EXPECT_EQ(ex.simulated, e);
      EXPECT_EQ(ex.stored, e - 1) << "t " << t << " e " << e;
    }
    EXPECT_EQ(fp4_block_case({3.5f * exp2i(e)}).stored, e);
  }
}

TEST(KvRowRef, ZeroAndNegativeZeroBlocks) {
  EXPECT_EQ(fp8_block_case({}).stored, -22);
  EXPECT_EQ(fp8_block_case(std::vector<float>(64, -0.0f)).stored, -22);
  EXPECT_EQ(fp8_block_case({0.0f, -0.0f, -1e-30f, 1e-30f, -0.0f}).stored, -22);  // tiny -> ±0
  EXPECT_EQ(fp4_block_case({}).stored, -126);
  EXPECT_EQ(fp4_block_case(std::vector<float>(32, -0.0f)).stored, -126);
  // A negative value that rounds to zero becomes -0 in the simulation and stays -0.
  std::vector<float> x = {1.0f, -1e-7f, 1e-7f};  // scale 2^-8: 1e-7 · 2^8 < 2^-10
  x.resize(64, 0.0f);
  ref::simulate_e4m3(x.data(), 1, 64, 64, 64);
  ASSERT_TRUE(std::signbit(x[1]) && x[1] == 0.0f);
  const std::vector<float> y = fp8_round_trip(x, 1, 64, 64, 0);
  EXPECT_TRUE(std::signbit(y[1]) && y[1] == 0.0f);
}

TEST(KvRowRef, OnlySubnormalCodes) {
  // Below the floor the scale is 2^-22; values k · 2^-31 are e4m3 subnormals k · 2^-9 there.
  std::vector<float> x;
  for (int k = 1; k <= 7; ++k) {
    x.push_back(static_cast<float>(k) * exp2i(-31));
    x.push_back(-static_cast<float>(k) * exp2i(-31));
  }
  x.push_back(2.6f * exp2i(-31));  // rounds to the subnormal code 3 (2.6 · 2^-9 -> 3 · 2^-9)
  const Exps ex = fp8_block_case(x);
  EXPECT_EQ(ex.stored, -22);
  std::vector<uint8_t> b;
  std::vector<float> sim = x;
  sim.resize(64, 0.0f);
  ref::simulate_e4m3(sim.data(), 1, 64, 64, 64);
  fp8_round_trip(sim, 1, 64, 64, 0, &b);
  for (int i = 0; i < 64; ++i) EXPECT_LT(b[static_cast<size_t>(i)] & 0x7F, 8) << i;  // exponent field 0
  // FP4: below its floor the scale is 2^-126 and 0.5 · 2^-126 is an fp32 subnormal.
  const Exps ex4 = fp4_block_case({std::ldexp(1.0f, -127), -std::ldexp(1.0f, -127), 1e-40f, 3.0f * exp2i(-126)});
  EXPECT_EQ(ex4.stored, -126);
}

TEST(KvRowRef, AmaxFloors) {
  const float f8 = kE4M3AmaxFloor;
  for (float a : {f8, std::nextafter(f8, 0.0f), std::nextafter(f8, 1.0f), 1.01e-4f, 416.0f * exp2i(-22),
                  432.0f * exp2i(-22), 448.0f * exp2i(-22), std::nextafter(448.0f * exp2i(-22), 1.0f)}) {
    const Exps ex = fp8_block_case({a, -a / 3.0f, a / 1000.0f});
    EXPECT_LE(ex.stored, ex.simulated);
    EXPECT_GE(ex.stored, -22);
  }
  const float f4 = kE2M1AmaxFloor;
  for (float a : {f4, std::nextafter(f4, 0.0f), std::nextafter(f4, 1.0f), 3.2f * exp2i(-126), 1e-38f, 1e-39f}) {
    const Exps ex = fp4_block_case({a, -a / 3.0f, a / 5.0f});
    EXPECT_LE(ex.stored, ex.simulated);
    EXPECT_GE(ex.stored, -126);
  }
}

TEST(KvRowRef, LargestFiniteSimulatedBlocks) {
  // Scale 2^120 is the largest a finite FP8 amax gets, 2^126 the largest FP4 one; the
  // simulations stay finite below 248 · 2^120 and 3.5 · 2^126 (see kv_row_ref.cpp).
  const Exps ex = fp8_block_case({247.0f * exp2i(120), -1.0f * exp2i(120)});
  EXPECT_EQ(ex.simulated, 120);
  EXPECT_EQ(ex.stored, 120);
  const Exps ex4 = fp4_block_case({3.4f * exp2i(126), -1.0f});
  EXPECT_EQ(ex4.simulated, 126);
  EXPECT_EQ(ex4.stored, 125);  // the code 3 = 6/2 again
}

// ---- non-finite input: quantized like the quantizer, never an invalid byte ------------------

TEST(KvRowRef, NonFiniteInputsGiveValidBytes) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x(64 + 32, 1.0f);
  x[0] = inf;
  x[1] = std::numeric_limits<float>::quiet_NaN();  // NaN -> -448 (std::fmax(NaN, -448))
  x[64] = -inf;  // rope dims, bf16: inf stays inf
  std::vector<uint8_t> b;
  const std::vector<float> y = fp8_round_trip(x, 1, 96, 96, 32, &b);
  EXPECT_EQ(b[0], 0x7E);
  EXPECT_EQ(b[1], 0xFE);
  EXPECT_EQ(b[128], 127 + 126);  // clamped scale exponent, not the NaN byte
  EXPECT_TRUE(std::isinf(y[64]) && y[64] < 0.0f);
  std::vector<float> z(32, 0.5f);
  z[3] = -inf;
  std::vector<uint8_t> b4;
  fp4_round_trip(z, 1, 32, 32, &b4);
  EXPECT_EQ(b4[1] >> 4, 0xF);  // dim 3 (odd: high nibble) = -6
  EXPECT_EQ(b4[16], 127 + 126);
}

// ---- bf16 rows ----------------------------------------------------------------------------

TEST(KvRowRef, Bf16RowsRoundToNearestEven) {
  const int64_t n = 20, dim = 77, ld = 80;
  const std::vector<float> x = kv_row_test::random_rows(n, ld, dim, 0, 13);
  std::vector<uint8_t> b(static_cast<size_t>(n * kv_bf16_row_bytes(dim)));
  ref::encode_kv_bf16_rows(x.data(), n, ld, dim, b.data());
  std::vector<float> y(x.size(), -777.0f);
  ref::decode_kv_bf16_rows(b.data(), n, dim, y.data(), ld);
  std::vector<float> rounded = x;
  for (float& v : rounded) v = round_bf16(v);
  EXPECT_EQ(first_bit_difference(rounded.data(), y.data(), n, ld, dim), -1);
  // bf16 values are kept exactly, and the bytes are little-endian bf16.
  ref::encode_kv_bf16_rows(rounded.data(), n, ld, dim, b.data());
  ref::decode_kv_bf16_rows(b.data(), n, dim, y.data(), ld);
  EXPECT_EQ(first_bit_difference(rounded.data(), y.data(), n, ld, dim), -1);
  const uint16_t first = f32_to_bf16(rounded[0]);
  EXPECT_EQ(b[0], first & 0xFF);
  EXPECT_EQ(b[1], first >> 8);
}

}  // namespace
}  // namespace dsv4k

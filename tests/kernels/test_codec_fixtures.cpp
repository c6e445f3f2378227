// Rung 2 of the testing ladder (DESIGN.md §5): dsv4k's codecs against an independent library.
//
// scripts/gen_codec_fixtures.py writes tests/data/codecs/*.npy with ml_dtypes 0.6.0 and numpy:
// every e4m3, e2m1 and E8M0 code decoded, thousands of fp32 inputs (exact codes, every tie
// between adjacent codes and its fp32 neighbours, subnormals, values past the top) encoded
// with the spec's clamp-then-cast, the power-of-two scale rule on many amax values, whole
// rows quantized blockwise (128 and 64 for e4m3, 32 for e2m1), and the 128-point Hadamard
// transform through an explicit float64 Sylvester matrix. Here the same inputs go through
// numeric.h and kernels/ref/quant_ref.cpp. Codes, decodes, exponents and dequantized values
// must agree bit for bit; the Hadamard transform within a bound derived from its fp32
// butterflies. A disagreement is reported with its inputs and both outputs: the fixture is
// never edited to match dsv4k (the spec's semantics decide who is right).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dsv4k/numeric.h"
#include "dsv4k/quant.h"

namespace dsv4k {
namespace {

// ---- a minimal .npy reader (format versions 1-3, little-endian, C order) --------------

struct Npy {
  std::string descr;           // e.g. "<f4"
  std::vector<int64_t> shape;  // empty for a scalar
  std::vector<char> data;

  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// The value of 'key' in the header dict, up to the next top-level ',' or '}'.
std::string header_field(const std::string& header, const std::string& key) {
  const size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) return {};
  size_t p = header.find(':', k) + 1;
  while (p < header.size() && header[p] == ' ') ++p;
  size_t end = p;
  int depth = 0;
  while (end < header.size()) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    ++end;
  }
  return header.substr(p, end - p);
}

Npy load_npy(const std::string& name) {
  const std::string path = std::string(DSV4_TEST_DATA_DIR) + "/codecs/" + name;
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path + " (run scripts/gen_codec_fixtures.py)");
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw std::runtime_error(path + ": not an .npy file");
  const auto u8 = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])); };
  const uint32_t major = u8(6);
  size_t header_len = 0;
  size_t header_at = 0;
  if (major == 1) {
    header_len = u8(8) | (u8(9) << 8);
    header_at = 10;
  } else {
    header_len = u8(8) | (u8(9) << 8) | (u8(10) << 16) | (u8(11) << 24);
    header_at = 12;
  }
  if (header_at + header_len > bytes.size()) throw std::runtime_error(path + ": truncated header");
  const std::string header(bytes.data() + header_at, header_len);
  Npy npy;
  std::string descr = header_field(header, "descr");
  if (descr.size() < 2) throw std::runtime_error(path + ": no descr");
  npy.descr = descr.substr(1, descr.size() - 2);  // strip the quotes
  if (header_field(header, "fortran_order") != "False") throw std::runtime_error(path + ": Fortran order");
  const std::string shape = header_field(header, "shape");  // "(256,)" or "(6, 512)"
  for (size_t p = 1; p < shape.size();) {
    while (p < shape.size() && (shape[p] < '0' || shape[p] > '9')) ++p;
    if (p >= shape.size()) break;
    size_t end = p;
    while (end < shape.size() && shape[end] >= '0' && shape[end] <= '9') ++end;
    npy.shape.push_back(std::stoll(shape.substr(p, end - p)));
    p = end;
  }
  npy.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header_at + header_len), bytes.end());
  return npy;
}

template <typename T>
const char* npy_descr();
template <>
const char* npy_descr<float>() { return "<f4"; }
template <>
const char* npy_descr<double>() { return "<f8"; }
template <>
const char* npy_descr<uint32_t>() { return "<u4"; }
template <>
const char* npy_descr<int32_t>() { return "<i4"; }
template <>
const char* npy_descr<uint8_t>() { return "|u1"; }

// Loads a fixture array of element type T, checking dtype, rank and byte count. This test
// runs on little-endian hosts only (x86-64, aarch64), like the files.
template <typename T>
std::vector<T> load(const std::string& name, std::vector<int64_t>* shape = nullptr) {
  const Npy npy = load_npy(name);
  if (npy.descr != npy_descr<T>()) throw std::runtime_error(name + ": dtype " + npy.descr);
  if (npy.data.size() != static_cast<size_t>(npy.size()) * sizeof(T))
    throw std::runtime_error(name + ": data size does not match its shape");
  std::vector<T> v(static_cast<size_t>(npy.size()));
  std::memcpy(v.data(), npy.data.data(), npy.data.size());
  if (shape != nullptr) *shape = npy.shape;
  return v;
}

bool is_nan_bits(uint32_t u) { return (u & 0x7FFFFFFFu) > 0x7F800000u; }

std::string hex32(uint32_t u) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", u);
  return buf;
}

std::string describe(float x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g (%s)", static_cast<double>(x), hex32(f32_bits(x)).c_str());
  return buf;
}

// Reports the first few disagreements in full and the total, so that one run shows the
// exact inputs to hand to whoever decides.
class Mismatches {
 public:
  explicit Mismatches(std::string what) : what_(std::move(what)) {}
  ~Mismatches() { EXPECT_EQ(count_, 0) << what_ << ": " << count_ << " disagreements with ml_dtypes"; }
  void add(const std::string& detail) {
    if (count_++ < kShown) ADD_FAILURE() << what_ << ": " << detail;
  }

 private:
  static constexpr int kShown = 20;
  std::string what_;
  int count_ = 0;
};

// ---- decodes ------------------------------------------------------------------------

TEST(CodecFixtures, E4M3DecodesEveryCodeLikeMlDtypes) {
  const auto expected = load<uint32_t>("e4m3_decode.npy");
  ASSERT_EQ(expected.size(), 256u);
  Mismatches bad("e4m3 decode");
  for (uint32_t c = 0; c < 256; ++c) {
    const uint32_t ours = f32_bits(e4m3_to_f32(static_cast<uint8_t>(c)));
    const uint32_t want = expected[c];
    // 0x7F and 0xFF are NaN; NaN payloads are not part of the format.
    const bool same = is_nan_bits(want) ? is_nan_bits(ours) : ours == want;
    if (!same) bad.add("code " + std::to_string(c) + ": ours " + hex32(ours) + ", ml_dtypes " + hex32(want));
  }
}

TEST(CodecFixtures, E2M1DecodesEveryCodeLikeMlDtypes) {
  const auto expected = load<uint32_t>("e2m1_decode.npy");
  ASSERT_EQ(expected.size(), 16u);
  Mismatches bad("e2m1 decode");
  for (uint32_t c = 0; c < 16; ++c) {
    const uint32_t ours = f32_bits(e2m1_to_f32(static_cast<uint8_t>(c)));
    if (ours != expected[c])  // code 8 is -0: the sign bit must match too
      bad.add("code " + std::to_string(c) + ": ours " + hex32(ours) + ", ml_dtypes " + hex32(expected[c]));
  }
}

TEST(CodecFixtures, E8M0DecodesEveryByteLikeMlDtypes) {
  const auto expected = load<uint32_t>("e8m0_decode.npy");
  ASSERT_EQ(expected.size(), 256u);
  Mismatches bad("e8m0 decode");
  for (uint32_t e = 0; e < 256; ++e) {
    const uint32_t ours = f32_bits(e8m0_to_f32(static_cast<uint8_t>(e)));
    const uint32_t want = expected[e];
    const bool same = is_nan_bits(want) ? is_nan_bits(ours) : ours == want;  // 255 is NaN
    if (!same) bad.add("byte " + std::to_string(e) + ": ours " + hex32(ours) + ", ml_dtypes " + hex32(want));
  }
}

// ---- encodes ------------------------------------------------------------------------

TEST(CodecFixtures, E4M3EncodesLikeClampThenMlDtypesCast) {
  const auto x = load<float>("e4m3_encode_in.npy");
  const auto code = load<uint8_t>("e4m3_encode_code.npy");
  ASSERT_EQ(x.size(), code.size());
  ASSERT_GT(x.size(), 10000u);
  Mismatches bad("e4m3 encode");
  for (size_t i = 0; i < x.size(); ++i) {
    const uint8_t ours = f32_to_e4m3(x[i]);
    if (ours != code[i])
      bad.add("x = " + describe(x[i]) + ": ours " + std::to_string(ours) + ", ml_dtypes " + std::to_string(code[i]));
  }
}

TEST(CodecFixtures, E2M1EncodesLikeClampThenMlDtypesCast) {
  const auto x = load<float>("e2m1_encode_in.npy");
  const auto code = load<uint8_t>("e2m1_encode_code.npy");
  ASSERT_EQ(x.size(), code.size());
  ASSERT_GT(x.size(), 5000u);
  Mismatches bad("e2m1 encode");
  for (size_t i = 0; i < x.size(); ++i) {
    const uint8_t ours = f32_to_e2m1(x[i]);
    if (ours != code[i])
      bad.add("x = " + describe(x[i]) + ": ours " + std::to_string(ours) + ", ml_dtypes " + std::to_string(code[i]));
  }
}

// ---- the power-of-two scale rule -----------------------------------------------------

void check_scale_rule(const std::string& stem, float floor, float inv_max) {
  const auto amax = load<float>(stem + "_amax.npy");
  const auto expo = load<int32_t>(stem + "_exp.npy");
  ASSERT_EQ(amax.size(), expo.size());
  Mismatches bad(stem);
  for (size_t i = 0; i < amax.size(); ++i) {
    const int ours = pow2_scale_exponent(amax[i], floor, inv_max);
    if (ours != expo[i])
      bad.add("amax = " + describe(amax[i]) + ": ours " + std::to_string(ours) + ", numpy " + std::to_string(expo[i]));
  }
}

TEST(CodecFixtures, E4M3ScaleExponentFollowsTheFp32BitRule) {
  check_scale_rule("scale_e4m3", kE4M3AmaxFloor, kE4M3InvMax);
}

TEST(CodecFixtures, E2M1ScaleExponentFollowsTheFp32BitRule) {
  check_scale_rule("scale_e2m1", kE2M1AmaxFloor, kE2M1InvMax);
}

// ---- whole blocks -------------------------------------------------------------------

struct BlockFixture {
  std::vector<float> x;     // [rows, cols]
  std::vector<int32_t> e;   // [rows, cols / block]
  std::vector<uint8_t> code;
  std::vector<float> deq;
  int64_t rows = 0;
  int64_t cols = 0;
};

BlockFixture load_blocks(const std::string& stem, int64_t block) {
  BlockFixture f;
  std::vector<int64_t> shape;
  f.x = load<float>(stem + "_x.npy", &shape);
  if (shape.size() != 2 || shape[1] % block != 0) throw std::runtime_error(stem + ": bad shape");
  f.rows = shape[0];
  f.cols = shape[1];
  f.e = load<int32_t>(stem + "_exp.npy");
  f.code = load<uint8_t>(stem + "_code.npy");
  f.deq = load<float>(stem + "_deq.npy");
  if (f.e.size() != static_cast<size_t>(f.rows * f.cols / block) || f.code.size() != f.x.size() ||
      f.deq.size() != f.x.size())
    throw std::runtime_error(stem + ": inconsistent sizes");
  return f;
}

void check_e4m3_blocks(const std::string& stem, int64_t block) {
  const BlockFixture f = load_blocks(stem, block);
  const int64_t n_blocks = f.cols / block;
  std::vector<uint8_t> q(f.x.size());
  std::vector<float> scale(static_cast<size_t>(f.rows * n_blocks));
  ref::quantize_e4m3(f.x.data(), f.rows, f.cols, f.cols, block, q.data(), scale.data());
  Mismatches bad(stem);
  for (int64_t r = 0; r < f.rows; ++r) {
    for (int64_t b = 0; b < n_blocks; ++b) {
      const size_t sb = static_cast<size_t>(r * n_blocks + b);
      if (scale[sb] != std::ldexp(1.0f, f.e[sb]))
        bad.add("row " + std::to_string(r) + " block " + std::to_string(b) + ": scale " + describe(scale[sb]) +
                ", ml_dtypes 2^" + std::to_string(f.e[sb]));
    }
    for (int64_t c = 0; c < f.cols; ++c) {
      const size_t i = static_cast<size_t>(r * f.cols + c);
      if (q[i] != f.code[i])
        bad.add("[" + std::to_string(r) + "][" + std::to_string(c) + "] x = " + describe(f.x[i]) + ": code " +
                std::to_string(q[i]) + ", ml_dtypes " + std::to_string(f.code[i]));
    }
  }
  // The in-place simulation must land on exactly float(code)·2^e.
  std::vector<float> sim = f.x;
  ref::simulate_e4m3(sim.data(), f.rows, f.cols, f.cols, block);
  for (size_t i = 0; i < sim.size(); ++i) {
    if (f32_bits(sim[i]) != f32_bits(f.deq[i]))
      bad.add("simulate index " + std::to_string(i) + " x = " + describe(f.x[i]) + ": ours " + describe(sim[i]) +
              ", ml_dtypes " + describe(f.deq[i]));
    // Q8sim writes back bf16; the spec says the value is exact in bf16, so nothing is lost.
    if (round_bf16(sim[i]) != sim[i]) bad.add("simulated value not bf16-exact: " + describe(sim[i]));
  }
}

TEST(CodecFixtures, E4M3Block128QuantizationMatches) { check_e4m3_blocks("block_e4m3_b128", 128); }

TEST(CodecFixtures, E4M3Block64QuantizationMatches) { check_e4m3_blocks("block_e4m3_b64", 64); }

TEST(CodecFixtures, E2M1Block32SimulationMatches) {
  constexpr int64_t kBlock = 32;
  const BlockFixture f = load_blocks("block_e2m1_b32", kBlock);
  const int64_t n_blocks = f.cols / kBlock;
  Mismatches bad("block_e2m1_b32");
  // There is no e2m1 block quantizer that returns codes (the indexer only simulates), so the
  // codes are checked through the scale rule and the encoder, the way simulate_e2m1 uses them.
  for (int64_t r = 0; r < f.rows; ++r) {
    for (int64_t b = 0; b < n_blocks; ++b) {
      const float* xb = f.x.data() + r * f.cols + b * kBlock;
      float amax = 0.0f;
      for (int64_t i = 0; i < kBlock; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
      const int e = pow2_scale_exponent(amax, kE2M1AmaxFloor, kE2M1InvMax);
      const int32_t want_e = f.e[static_cast<size_t>(r * n_blocks + b)];
      if (e != want_e) bad.add("row " + std::to_string(r) + " block " + std::to_string(b) + ": 2^" +
                               std::to_string(e) + ", ml_dtypes 2^" + std::to_string(want_e));
      for (int64_t i = 0; i < kBlock; ++i) {
        const float v = std::fmin(std::fmax(xb[i] * exp2i(-e), -kE2M1Max), kE2M1Max);
        const size_t at = static_cast<size_t>(r * f.cols + b * kBlock + i);
        if (f32_to_e2m1(v) != f.code[at])
          bad.add("x = " + describe(xb[i]) + ": code " + std::to_string(f32_to_e2m1(v)) + ", ml_dtypes " +
                  std::to_string(f.code[at]));
      }
    }
  }
  std::vector<float> sim = f.x;
  ref::simulate_e2m1(sim.data(), f.rows, f.cols, f.cols, kBlock);
  for (size_t i = 0; i < sim.size(); ++i) {
    if (f32_bits(sim[i]) != f32_bits(f.deq[i]))
      bad.add("simulate index " + std::to_string(i) + " x = " + describe(f.x[i]) + ": ours " + describe(sim[i]) +
              ", ml_dtypes " + describe(f.deq[i]));
  }
}

// ---- Hadamard -----------------------------------------------------------------------

// Bound on |fp32 butterflies − exact| for one output: seven levels of additions, each with a
// relative rounding error of at most 2^-24 on partial sums bounded by Σ|x_i|, plus the
// rounding of fp32(128^-1/2) and of the final product: ≤ 9·2^-24·Σ|x_i|/√128 to first
// order. 2^-20 = 16·2^-24 leaves room for the second-order terms.
double hadamard_tolerance(const float* x) {
  double l1 = 0.0;
  for (int64_t i = 0; i < kHadamardDim; ++i) l1 += std::fabs(static_cast<double>(x[i]));
  return std::ldexp(l1, -20) / std::sqrt(128.0);
}

TEST(CodecFixtures, Hadamard128MatchesSylvesterMatrixInFloat64) {
  std::vector<int64_t> shape;
  const auto x = load<float>("hadamard_x.npy", &shape);
  const auto y = load<double>("hadamard_y.npy");
  ASSERT_EQ(shape.size(), 2u);
  ASSERT_EQ(shape[1], kHadamardDim);
  ASSERT_EQ(y.size(), x.size());
  const int64_t n_vec = shape[0];
  std::vector<float> out = x;
  ref::hadamard128(out.data(), n_vec, kHadamardDim, Round::kNone);
  std::vector<float> out_bf16 = x;
  ref::hadamard128(out_bf16.data(), n_vec, kHadamardDim, Round::kBf16);
  Mismatches bad("hadamard128");
  for (int64_t v = 0; v < n_vec; ++v) {
    const double tol = hadamard_tolerance(x.data() + v * kHadamardDim);
    for (int64_t j = 0; j < kHadamardDim; ++j) {
      const size_t i = static_cast<size_t>(v * kHadamardDim + j);
      const double err = std::fabs(static_cast<double>(out[i]) - y[i]);
      if (err > tol)
        bad.add("vector " + std::to_string(v) + " j " + std::to_string(j) + ": ours " + describe(out[i]) +
                ", float64 " + std::to_string(y[i]) + ", |err| " + std::to_string(err) + " > " + std::to_string(tol));
      // With bf16 output the result is the fp32 result rounded once more: within half a bf16
      // ulp (≤ 2^-8 relative) of the exact value, plus the fp32 bound.
      const double err16 = std::fabs(static_cast<double>(out_bf16[i]) - y[i]);
      if (err16 > tol + std::ldexp(std::fabs(y[i]), -8) || round_bf16(out_bf16[i]) != out_bf16[i])
        bad.add("bf16 vector " + std::to_string(v) + " j " + std::to_string(j) + ": ours " + describe(out_bf16[i]) +
                ", float64 " + std::to_string(y[i]));
    }
  }
}

}  // namespace
}  // namespace dsv4k

// Backend::encode_kv_rows / decode_kv_rows in the four row formats: sizes, round trips that
// are exact for the values each format is meant for (simulated FP8 / FP4 rows, bf16 values,
// any fp32), the fast and reference CPU backends writing identical bytes for any
// thread count, and decode_kv_rows_at (scattered rows, zero rows for negative offsets) equal
// to the references on every backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "backend/backend.h"
#include "dsv4k/numeric.h"
#include "test_kv_row_inputs.h"

namespace dsv4 {
namespace {

using dsv4k::kv_row_test::first_bit_difference;

struct Case {
  KvRowFormat format;
  int64_t dim, rope;
};

const Case kCases[] = {{KvRowFormat::kFp8, 512, 64}, {KvRowFormat::kFp4, 128, 0}, {KvRowFormat::kBf16, 512, 64},
                       {KvRowFormat::kF32, 512, 64}, {KvRowFormat::kFp8, 64, 0},  {KvRowFormat::kBf16, 77, 0}};

// Rows in the numerics each format is exact for.
std::vector<float> rows_for(const Case& c, int64_t n, int64_t ld, uint64_t seed) {
  std::vector<float> x = dsv4k::kv_row_test::random_rows(n, ld, c.dim, 64, seed);
  switch (c.format) {
    case KvRowFormat::kFp8: dsv4k::kv_row_test::simulate_fp8_rows(x, n, ld, c.dim, c.rope); break;
    case KvRowFormat::kFp4: dsv4k::kv_row_test::simulate_fp4_rows(x, n, ld, c.dim); break;
    case KvRowFormat::kBf16:
      for (float& v : x) v = dsv4k::round_bf16(v);
      break;
    case KvRowFormat::kF32: break;
  }
  return x;
}

TEST(BackendKvRows, RowBytes) {
  EXPECT_EQ(kv_row_bytes(KvRowFormat::kFp8, 512, 64), 584);
  EXPECT_EQ(kv_row_bytes(KvRowFormat::kFp4, 128, 0), 68);
  EXPECT_EQ(kv_row_bytes(KvRowFormat::kBf16, 512, 64), 1024);
  EXPECT_EQ(kv_row_bytes(KvRowFormat::kF32, 512, 64), 2048);
}

TEST(BackendKvRows, RoundTripsAreExactAndBackendsAgree) {
  std::unique_ptr<Backend> fast = make_cpu_backend({2, CpuKernels::kFast});
  std::unique_ptr<Backend> fast1 = make_cpu_backend({1, CpuKernels::kFast});
  std::unique_ptr<Backend> ref = make_cpu_backend({2, CpuKernels::kReference});
  for (const Case& c : kCases) {
    for (int64_t n : {0, 1, 5, 1000}) {
      const int64_t ld = c.dim + 3;
      const int64_t rb = kv_row_bytes(c.format, c.dim, c.rope);
      const std::vector<float> x = rows_for(c, n, ld, static_cast<uint64_t>(n + c.dim));
      std::vector<uint8_t> b_fast(static_cast<size_t>(n * rb), 0xAA), b_fast1(b_fast.size(), 0xBB),
          b_ref(b_fast.size(), 0xCC);
      fast->encode_kv_rows(c.format, x.data(), n, ld, c.dim, c.rope, b_fast.data());
      fast1->encode_kv_rows(c.format, x.data(), n, ld, c.dim, c.rope, b_fast1.data());
      ref->encode_kv_rows(c.format, x.data(), n, ld, c.dim, c.rope, b_ref.data());
      ASSERT_EQ(b_fast, b_ref) << "format " << static_cast<int>(c.format) << " n " << n;
      ASSERT_EQ(b_fast1, b_ref) << "format " << static_cast<int>(c.format) << " n " << n;
      std::vector<float> y_fast(x.size(), -777.0f), y_ref = y_fast;
      fast->decode_kv_rows(c.format, b_fast.data(), n, c.dim, c.rope, y_fast.data(), ld);
      ref->decode_kv_rows(c.format, b_ref.data(), n, c.dim, c.rope, y_ref.data(), ld);
      const int format = static_cast<int>(c.format);
      EXPECT_EQ(first_bit_difference(x.data(), y_fast.data(), n, ld, c.dim), -1) << "format " << format;
      EXPECT_EQ(first_bit_difference(x.data(), y_ref.data(), n, ld, c.dim), -1) << "format " << format;
      for (int64_t r = 0; r < n; ++r) ASSERT_EQ(y_fast[static_cast<size_t>(r * ld + c.dim)], -777.0f);
    }
  }
}

// ref::decode_kv_*_rows_at of one format.
void ref_decode_at(KvRowFormat f, const uint8_t* base, const int64_t* offsets, int64_t n, int64_t dim, int64_t rope,
                   float* y, int64_t ld) {
  switch (f) {
    case KvRowFormat::kFp8: return dsv4k::ref::decode_kv_fp8_rows_at(base, offsets, n, dim, rope, y, ld);
    case KvRowFormat::kFp4: return dsv4k::ref::decode_kv_fp4_rows_at(base, offsets, n, dim, y, ld);
    case KvRowFormat::kBf16: return dsv4k::ref::decode_kv_bf16_rows_at(base, offsets, n, dim, y, ld);
    case KvRowFormat::kF32: return dsv4k::ref::decode_kv_f32_rows_at(base, offsets, n, dim, y, ld);
  }
}

// Rows in shuffled slots of a pool, read back through offsets with negative entries among
// them (the direct gather's unselected entries): every backend gives the reference's rows,
// zeros for the negative offsets, and leaves the output's gaps alone.
TEST(BackendKvRows, DecodeAtScatteredOffsetsWithZeroRowsForNegativeOffsets) {
  std::unique_ptr<Backend> fast = make_cpu_backend({2, CpuKernels::kFast});
  std::unique_ptr<Backend> fast1 = make_cpu_backend({1, CpuKernels::kFast});
  std::unique_ptr<Backend> ref = make_cpu_backend({2, CpuKernels::kReference});
  std::mt19937 rng(21);
  for (const Case& c : kCases) {
    const int64_t n = 300, ld = c.dim + 3, rb = kv_row_bytes(c.format, c.dim, c.rope);
    const std::vector<float> x = rows_for(c, n, ld, static_cast<uint64_t>(c.dim + 9));
    std::vector<uint8_t> pool(static_cast<size_t>(n * rb));
    ref->encode_kv_rows(c.format, x.data(), n, ld, c.dim, c.rope, pool.data());
    std::vector<int64_t> offsets(static_cast<size_t>(n));
    std::iota(offsets.begin(), offsets.end(), 0);
    std::shuffle(offsets.begin(), offsets.end(), rng);
    for (auto& o : offsets) o = rng() % 5 == 0 ? -1 : o * rb;
    offsets[7] = -rb;
    std::vector<float> want(x.size(), -777.0f);
    ref_decode_at(c.format, pool.data(), offsets.data(), n, c.dim, c.rope, want.data(), ld);
    for (Backend* be : {fast.get(), fast1.get(), ref.get()}) {
      std::vector<float> got(x.size(), -777.0f);
      be->decode_kv_rows_at(c.format, pool.data(), offsets.data(), n, c.dim, c.rope, got.data(), ld);
      ASSERT_EQ(first_bit_difference(got.data(), want.data(), n, ld, ld), -1)
          << be->name() << " format " << static_cast<int>(c.format);
    }
    for (int64_t r = 0; r < n; ++r) {
      const float* w = want.data() + r * ld;
      const bool zeros = std::all_of(w, w + c.dim, [](float v) { return dsv4k::f32_bits(v) == 0; });
      ASSERT_TRUE(offsets[static_cast<size_t>(r)] >= 0 || zeros) << "row " << r;
    }
  }
}

TEST(BackendKvRows, F32KeepsEveryBitPattern) {
  std::unique_ptr<Backend> be = make_cpu_backend({2, CpuKernels::kFast});
  const int64_t n = 3, dim = 4;
  const uint32_t bits[n * dim] = {0x7FC00001u, 0xFF800000u, 0x00000001u, 0x80000000u, 0x3F800001u, 0x7F7FFFFFu,
                                  0x7FA00000u, 0x00800000u, 0xC0490FDBu, 0x12345678u, 0x80000001u, 0x7F800000u};
  float x[n * dim];
  std::memcpy(x, bits, sizeof x);
  std::vector<uint8_t> b(static_cast<size_t>(n * kv_row_bytes(KvRowFormat::kF32, dim, 0)));
  be->encode_kv_rows(KvRowFormat::kF32, x, n, dim, dim, 0, b.data());
  float y[n * dim];
  be->decode_kv_rows(KvRowFormat::kF32, b.data(), n, dim, 0, y, dim);
  EXPECT_EQ(std::memcmp(x, y, sizeof x), 0);
}

TEST(BackendKvRows, LossyFormatsQuantizeOtherRows) {
  // fp32 rows (the comparison numerics) through kFp8 come back as the FP8 simulation of them:
  // a lossy quantization, which is why the cache keeps such rows in kF32.
  std::unique_ptr<Backend> be = make_cpu_backend({2, CpuKernels::kFast});
  const int64_t n = 10, dim = 512, rope = 64;
  const std::vector<float> x = dsv4k::kv_row_test::random_rows(n, dim, dim, 64, 77);
  std::vector<uint8_t> b(static_cast<size_t>(n * 584));
  be->encode_kv_rows(KvRowFormat::kFp8, x.data(), n, dim, dim, rope, b.data());
  std::vector<float> y(x.size());
  be->decode_kv_rows(KvRowFormat::kFp8, b.data(), n, dim, rope, y.data(), dim);
  std::vector<float> sim = x;
  dsv4k::kv_row_test::simulate_fp8_rows(sim, n, dim, dim, rope);
  EXPECT_EQ(first_bit_difference(sim.data(), y.data(), n, dim, dim), -1);
  EXPECT_NE(first_bit_difference(x.data(), y.data(), n, dim, dim), -1);
}

}  // namespace
}  // namespace dsv4

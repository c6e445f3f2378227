// The row gather, span copies and fill (kernels/cuda/gather.cuh), run on the host emulation,
// against dsv4k::ref::gather_rows / copy_spans / fill_f32. All only move bits: every byte of the destination (the
// gaps between rows and the tail past n included) must equal the reference's, with source
// words holding arbitrary bit patterns (NaN payloads, subnormals). Row widths are odd numbers
// of words, pitches leave gaps, indices repeat and come in random order, and the sizes cross
// the 256-thread block.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cuda/gather.cuh"
#include "dsv4k/gather.h"

namespace dsv4k {
namespace {

constexpr uint32_t kSentinel = 0xA5A5A5A5u;

std::vector<uint32_t> random_words(size_t n, std::mt19937& rng) {
  std::vector<uint32_t> v(n);
  for (auto& w : v) w = static_cast<uint32_t>(rng());
  return v;
}

struct GatherCase {
  int64_t n;            // rows gathered
  int64_t src_rows;     // rows in the source
  size_t row_words;     // words per row
  size_t src_gap;       // extra words between source rows
  size_t dst_gap;       // extra words between destination rows
};

// One word; a row the width of a block; odd widths with and without gaps; a row crossing a
// block; many short rows (n x words > several blocks).
constexpr GatherCase kCases[] = {{1, 1, 1, 0, 0},  {5, 3, 1, 2, 1},    {7, 11, 13, 3, 0},
                                 {3, 4, 257, 0, 5}, {300, 17, 3, 1, 2}, {33, 40, 256, 0, 0}};

TEST(CudaEmuGather, RowsMatchTheReferenceBitForBit) {
  std::mt19937 rng(11);
  for (const GatherCase& c : kCases) {
    SCOPED_TRACE(testing::Message() << "n " << c.n << " words " << c.row_words << " gaps " << c.src_gap << "/"
                                    << c.dst_gap);
    const size_t src_pitch = 4 * (c.row_words + c.src_gap), dst_pitch = 4 * (c.row_words + c.dst_gap);
    const std::vector<uint32_t> src = random_words(static_cast<size_t>(c.src_rows) * src_pitch / 4, rng);
    std::vector<int32_t> idx(static_cast<size_t>(c.n));
    std::uniform_int_distribution<int32_t> row(0, static_cast<int32_t>(c.src_rows - 1));
    for (auto& i : idx) i = row(rng);
    idx.back() = static_cast<int32_t>(c.src_rows - 1);  // the source's last row, up to its last byte
    // One spare row past n: the kernel must stop at n.
    std::vector<uint32_t> want(static_cast<size_t>(c.n + 1) * dst_pitch / 4, kSentinel), got = want;
    ref::gather_rows(src.data(), src_pitch, idx.data(), c.n, 4 * c.row_words, want.data(), dst_pitch);
    ASSERT_EQ(cuda::launch_gather_rows(src.data(), src_pitch, idx.data(), c.n, 4 * c.row_words, got.data(), dst_pitch,
                                       nullptr),
              cudaSuccess);
    ASSERT_EQ(got, want);
  }
}

TEST(CudaEmuGather, BadAlignmentIsRefusedAndEmptyGathersLaunchNothing) {
  const std::vector<uint32_t> src = {1, 2, 3, 4};
  const std::vector<int32_t> idx = {1, 0};
  std::vector<uint32_t> dst(4, kSentinel);
  const auto* src_bytes = reinterpret_cast<const unsigned char*>(src.data());
  auto* dst_bytes = reinterpret_cast<unsigned char*>(dst.data());
  EXPECT_EQ(cuda::launch_gather_rows(src.data(), 8, idx.data(), 2, 6, dst.data(), 8, nullptr), dsv4cu::kInvalidValue);
  EXPECT_EQ(cuda::launch_gather_rows(src.data(), 6, idx.data(), 2, 4, dst.data(), 8, nullptr), dsv4cu::kInvalidValue);
  EXPECT_EQ(cuda::launch_gather_rows(src.data(), 8, idx.data(), 2, 4, dst.data(), 10, nullptr), dsv4cu::kInvalidValue);
  EXPECT_EQ(cuda::launch_gather_rows(src_bytes + 2, 8, idx.data(), 1, 4, dst.data(), 8, nullptr),
            dsv4cu::kInvalidValue);
  EXPECT_EQ(cuda::launch_gather_rows(src.data(), 8, idx.data(), 1, 4, dst_bytes + 1, 8, nullptr),
            dsv4cu::kInvalidValue);
  EXPECT_EQ(cuda::launch_gather_rows(src.data(), 8, idx.data(), 0, 4, dst.data(), 8, nullptr), cudaSuccess);
  EXPECT_EQ(cuda::launch_gather_rows(src.data(), 8, idx.data(), 2, 0, dst.data(), 8, nullptr), cudaSuccess);
  EXPECT_EQ(dst, std::vector<uint32_t>(4, kSentinel));
  // And the aligned version of the same call works: the refusals above were about alignment.
  ASSERT_EQ(cuda::launch_gather_rows(src.data(), 8, idx.data(), 2, 8, dst.data(), 8, nullptr), cudaSuccess);
  EXPECT_EQ(dst, (std::vector<uint32_t>{3, 4, 1, 2}));
}

// Span copies: destinations carved from one buffer with gaps between them (which must keep
// their sentinel), sources anywhere in another (overlapping each other, as the carry and the
// step rows may), sizes from zero words to a span longer than a block's stride (64 x 256
// words), and with the spans striding over few y blocks as well as one block per span.
TEST(CudaEmuGather, CopySpansMatchTheReferenceBitForBit) {
  std::mt19937 rng(23);
  const std::vector<uint32_t> src = random_words(40000, rng);
  const std::vector<size_t> words = {0, 1, 3, 256, 257, 17, 20000, 5, 0, 64, 1000, 2};
  std::vector<uint32_t> want(30000, kSentinel), got = want;
  std::vector<CopySpan> spans_want, spans_got;
  size_t at = 0;
  for (size_t w : words) {
    const size_t from = rng() % (src.size() - w + 1);
    spans_want.push_back({want.data() + at, src.data() + from, static_cast<int64_t>(4 * w)});
    spans_got.push_back({got.data() + at, src.data() + from, static_cast<int64_t>(4 * w)});
    at += w + 1 + rng() % 3;  // a gap after each destination
  }
  ASSERT_LE(at, want.size());
  ref::copy_spans(spans_want.data(), static_cast<int64_t>(spans_want.size()));
  const auto n = static_cast<int64_t>(spans_got.size());
  for (const int64_t max_y : {int64_t{3}, cuda::kCopySpanMaxBlocksY}) {
    std::fill(got.begin(), got.end(), kSentinel);
    ASSERT_EQ(cuda::launch_copy_spans(spans_got.data(), n, 4 * 20000, nullptr, max_y), cudaSuccess);
    ASSERT_EQ(got, want) << "y blocks at most " << max_y;
  }
  // Nothing to copy launches nothing; a largest span that is not whole words is refused.
  EXPECT_EQ(cuda::launch_copy_spans(spans_got.data(), 0, 4, nullptr), cudaSuccess);
  EXPECT_EQ(cuda::launch_copy_spans(spans_got.data(), n, 0, nullptr), cudaSuccess);
  EXPECT_EQ(cuda::launch_copy_spans(spans_got.data(), n, 6, nullptr), dsv4cu::kInvalidValue);
}

TEST(CudaEmuGather, FillMatchesTheReferenceAndStopsAtN) {
  uint32_t nan_bits = 0x7FC01234u;  // a NaN with a payload: must arrive unchanged
  float nan_payload = 0.0f;
  std::memcpy(&nan_payload, &nan_bits, 4);
  for (const int64_t n : {int64_t{1}, int64_t{255}, int64_t{257}, int64_t{3000}})
    for (const float value : {1.5f, -0.0f, nan_payload}) {
      std::vector<float> want(static_cast<size_t>(n) + 3, 7.0f), got = want;
      ref::fill_f32(want.data(), n, value);
      ASSERT_EQ(cuda::launch_fill_f32(got.data(), n, value, nullptr), cudaSuccess);
      ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << "n " << n << " value " << value;
    }
  float x = 7.0f;
  EXPECT_EQ(cuda::launch_fill_f32(&x, 0, 1.0f, nullptr), cudaSuccess);
  EXPECT_EQ(x, 7.0f);
}

}  // namespace
}  // namespace dsv4k

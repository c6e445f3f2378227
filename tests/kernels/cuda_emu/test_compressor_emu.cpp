// The SIMT compressor pooling (kernels/cuda/compressor.cuh) against dsv4k::ref::compress_pool,
// run through the host emulation of CUDA. The kernel runs the reference's loops in the same
// order and precision, so rows must match bit for bit.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cuda/compressor.cuh"
#include "dsv4k/compressor.h"

namespace {

using dsv4k::CompressorShape;

std::vector<float> normal(size_t n, std::mt19937& rng, float sigma) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct Case {
  int64_t ratio, dim;
  bool overlap, with_prev;
  int64_t n_rows;
  uint64_t seed;
  double neg_inf_frac = 0.0;  // scores of empty decode-state slots
};

// n_rows consecutive blocks, each pooled by the batched launcher and (for n_rows = 1) by the
// single-row launcher, against the reference called row by row.
void run_case(const Case& c) {
  SCOPED_TRACE(::testing::Message() << "ratio=" << c.ratio << " dim=" << c.dim << " overlap=" << c.overlap
                                    << " prev=" << c.with_prev << " rows=" << c.n_rows << " seed=" << c.seed);
  std::mt19937 rng(static_cast<unsigned>(c.seed));
  CompressorShape s;
  s.ratio = c.ratio;
  s.dim = c.dim;
  s.overlap = c.overlap;
  const int64_t w = s.width();
  const int64_t ld_prev = w + 3, ld_cur = w + 5, ld_row = c.dim + 2;
  const auto ape = normal(static_cast<size_t>(c.ratio * w), rng, 1.0f);
  auto prev_kv = normal(static_cast<size_t>(c.ratio * ld_prev), rng, 1.0f);
  auto prev_z = normal(static_cast<size_t>(c.ratio * ld_prev), rng, 2.0f);
  const auto cur_kv = normal(static_cast<size_t>(c.n_rows * c.ratio * ld_cur), rng, 1.0f);
  auto cur_z = normal(static_cast<size_t>(c.n_rows * c.ratio * ld_cur), rng, 2.0f);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (auto& z : prev_z)
    if (u01(rng) < c.neg_inf_frac) z = -std::numeric_limits<float>::infinity();
  const float* pkv = c.with_prev ? prev_kv.data() : nullptr;
  const float* pz = c.with_prev ? prev_z.data() : nullptr;

  std::vector<float> want(static_cast<size_t>(c.n_rows * ld_row), 555.0f), got = want;
  for (int64_t b = 0; b < c.n_rows; ++b) {
    const float* ckv = cur_kv.data() + b * c.ratio * ld_cur;
    const float* cz = cur_z.data() + b * c.ratio * ld_cur;
    dsv4k::ref::compress_pool(s, ape.data(), b == 0 ? pkv : ckv - c.ratio * ld_cur,
                              b == 0 ? pz : cz - c.ratio * ld_cur, b == 0 ? ld_prev : ld_cur, ckv, cz, ld_cur,
                              want.data() + b * ld_row);
  }
  ASSERT_EQ(dsv4k::cuda::launch_compress_pool_rows(s, c.n_rows, ape.data(), pkv, pz, ld_prev, cur_kv.data(),
                                                   cur_z.data(), ld_cur, got.data(), ld_row, nullptr),
            cudaSuccess);
  for (size_t e = 0; e < want.size(); ++e)
    ASSERT_TRUE(same_bits(got[e], want[e])) << e << ": " << got[e] << " vs " << want[e];

  if (c.n_rows == 1) {
    std::vector<float> one(static_cast<size_t>(c.dim), 555.0f);
    ASSERT_EQ(dsv4k::cuda::launch_compress_pool(s, ape.data(), pkv, pz, ld_prev, cur_kv.data(), cur_z.data(), ld_cur,
                                                one.data(), nullptr),
              cudaSuccess);
    for (size_t e = 0; e < one.size(); ++e) ASSERT_TRUE(same_bits(one[e], want[e])) << e;
  }
}

TEST(CudaEmuCompressor, OverlappingRatio4) {
  run_case({4, 40, true, true, 1, 1});
  run_case({4, 130, true, true, 1, 2});   // two blocks of channels, the second partial
  run_case({4, 40, true, false, 1, 3});   // first block of a sequence: no previous block
  run_case({4, 64, true, true, 1, 4, 0.5});  // half the previous slots still empty (−inf)
}

TEST(CudaEmuCompressor, Ratio128) {
  run_case({128, 64, false, false, 1, 5});
  run_case({128, 64, false, true, 1, 6});  // prev is ignored without overlap
}

TEST(CudaEmuCompressor, BatchedRowsChainTheirBlocks) {
  run_case({4, 72, true, true, 5, 7});
  run_case({4, 72, true, false, 3, 8});
  run_case({128, 33, false, false, 3, 9});
}

// Decode-shaped job lists: each job's previous block is its own carry buffer (or none),
// current blocks sit at scattered rows of one step buffer, and output rows are written in
// another order, with untouched gaps between them.
void run_jobs(int64_t ratio, int64_t dim, bool overlap, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "jobs ratio=" << ratio << " dim=" << dim);
  std::mt19937 rng(static_cast<unsigned>(seed));
  const CompressorShape s{ratio, dim, overlap};
  const int64_t w = s.width(), ld_cur = w + 1, ld_prev = w + 2, ld_row = dim + 4;
  constexpr int64_t kJobs = 5;
  const auto ape = normal(static_cast<size_t>(ratio * w), rng, 1.0f);
  std::vector<std::vector<float>> carry_kv, carry_z;
  for (int64_t j = 0; j < kJobs; ++j) {
    carry_kv.push_back(normal(static_cast<size_t>(ratio * ld_prev), rng, 1.0f));
    carry_z.push_back(normal(static_cast<size_t>(ratio * ld_prev), rng, 2.0f));
  }
  const int64_t step_rows = (kJobs + 2) * ratio;
  const auto step_kv = normal(static_cast<size_t>(step_rows * ld_cur), rng, 1.0f);
  const auto step_z = normal(static_cast<size_t>(step_rows * ld_cur), rng, 2.0f);
  const int64_t cur_block[kJobs] = {6, 0, 3, 2, 5};
  const int64_t out_row[kJobs] = {4, 0, 2, 6, 1};
  std::vector<float> want(static_cast<size_t>(7 * ld_row), 555.0f), got = want;
  std::vector<dsv4k::CompressJob> jobs;
  for (int64_t j = 0; j < kJobs; ++j) {
    const bool has_prev = j != 1;
    const int64_t c0 = cur_block[j] * ratio * ld_cur;
    dsv4k::CompressJob job{has_prev ? carry_kv[static_cast<size_t>(j)].data() : nullptr,
                           has_prev ? carry_z[static_cast<size_t>(j)].data() : nullptr, ld_prev,
                           step_kv.data() + c0, step_z.data() + c0, ld_cur, want.data() + out_row[j] * ld_row};
    dsv4k::ref::compress_pool(s, ape.data(), job.prev_kv, job.prev_z, job.ld_prev, job.cur_kv, job.cur_z, job.ld_cur,
                              job.row);
    job.row = got.data() + out_row[j] * ld_row;
    jobs.push_back(job);
  }
  ASSERT_EQ(dsv4k::cuda::launch_compress_pool_jobs(s, ape.data(), jobs.data(), kJobs, nullptr), cudaSuccess);
  for (size_t e = 0; e < want.size(); ++e)
    ASSERT_TRUE(same_bits(got[e], want[e])) << e << ": " << got[e] << " vs " << want[e];
  // The reference's job form is the same loop.
  std::vector<float> via_ref(want.size(), 555.0f);
  for (auto& job : jobs) job.row = via_ref.data() + (job.row - got.data());
  dsv4k::ref::compress_pool_jobs(s, ape.data(), jobs.data(), kJobs);
  EXPECT_EQ(via_ref, want);
}

TEST(CudaEmuCompressor, JobListPoolsBlocksFromAnywhere) {
  run_jobs(4, 72, true, 10);
  run_jobs(128, 40, false, 11);
  EXPECT_EQ(dsv4k::cuda::launch_compress_pool_jobs(CompressorShape{4, 8, true}, nullptr, nullptr, 0, nullptr),
            cudaSuccess);
}

}  // namespace

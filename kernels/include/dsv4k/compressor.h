// KV compression pooling (spec §2.4.5).
//
// Each token p has a projection kv_p and a gate score z_p, fp32, width c·d (c = 2 for the
// overlapping ratio-4 compressor, else 1). The token at offset j of its block adds the
// learned position bias ape[j] to its score. One row pools a block of `ratio` tokens per
// channel with a softmax over the block's biased scores:
//   ratio 128:  row[i] = Σ_j softmax_j(z_j[i] + ape[j][i])·kv_j[i] over the block's tokens;
//   ratio 4:    8 candidates per channel: the previous block's tokens through their first
//               half (kv[i], z[i] + ape[j][i]) and the current block's through their second
//               half (kv[d+i], z[d+i] + ape[j][d+i]). A missing previous block contributes
//               nothing.
#pragma once

#include <cstdint>

namespace dsv4k {

struct CompressorShape {
  int64_t ratio = 0;    // tokens per compressed row: 4 or 128
  int64_t dim = 0;      // d: width of a compressed row
  bool overlap = false; // ratio 4: rows pool the previous block too (projections are 2d wide)
  int64_t width() const { return overlap ? 2 * dim : dim; }
};

// One compressed row to pool, its blocks anywhere in memory: what a decode step or a mixed
// batch produces, where each sequence's previous block comes from its carried state and its
// current block from this step's projections.
struct CompressJob {
  const float* prev_kv = nullptr;  // [ratio, 2d] ld_prev apart, or nullptr (no previous block)
  const float* prev_z = nullptr;
  int64_t ld_prev = 0;
  const float* cur_kv = nullptr;   // [ratio, width] ld_cur apart
  const float* cur_z = nullptr;
  int64_t ld_cur = 0;
  float* row = nullptr;            // [d]
};

namespace ref {

// prev_kv / prev_z: [ratio, 2d] rows of the previous block, or nullptr (no previous block);
// used only when overlap. cur_kv / cur_z: [ratio, width] rows of the block, ld apart.
// ape: [ratio, width]. row: [d] fp32 (not yet rounded or normalized).
void compress_pool(const CompressorShape& s, const float* ape, const float* prev_kv, const float* prev_z,
                   int64_t ld_prev, const float* cur_kv, const float* cur_z, int64_t ld_cur, float* row);

// compress_pool of every job.
void compress_pool_jobs(const CompressorShape& s, const float* ape, const CompressJob* jobs, int64_t n_jobs);

}  // namespace ref
}  // namespace dsv4k

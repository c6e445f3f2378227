#include <cmath>
#include <limits>

#include "dsv4k/compressor.h"

namespace dsv4k::ref {

void compress_pool(const CompressorShape& s, const float* ape, const float* prev_kv, const float* prev_z,
                   int64_t ld_prev, const float* cur_kv, const float* cur_z, int64_t ld_cur, float* row) {
  const int64_t d = s.dim;
  const int64_t w = s.width();
  // Biased score of candidate j: from the previous block's first half or this block's own half.
  auto prev_score = [&](int64_t j, int64_t i) { return prev_z[j * ld_prev + i] + ape[j * w + i]; };
  auto cur_score = [&](int64_t j, int64_t i, int64_t off) { return cur_z[j * ld_cur + off + i] + ape[j * w + off + i]; };
  // Candidate j of channel i: (kv, z) from the previous block's first half or the current
  // block's second half (overlap), or the current block's only half.
  const bool use_prev = s.overlap && prev_kv != nullptr;
  const int64_t cur_off = s.overlap ? d : 0;
  for (int64_t i = 0; i < d; ++i) {
    float mx = -std::numeric_limits<float>::infinity();
    if (use_prev)
      for (int64_t j = 0; j < s.ratio; ++j) mx = std::fmax(mx, prev_score(j, i));
    for (int64_t j = 0; j < s.ratio; ++j) mx = std::fmax(mx, cur_score(j, i, cur_off));
    double num = 0.0;
    double den = 0.0;
    if (use_prev) {
      for (int64_t j = 0; j < s.ratio; ++j) {
        const double e = std::exp(static_cast<double>(prev_score(j, i) - mx));
        den += e;
        num += e * prev_kv[j * ld_prev + i];
      }
    }
    for (int64_t j = 0; j < s.ratio; ++j) {
      const double e = std::exp(static_cast<double>(cur_score(j, i, cur_off) - mx));
      den += e;
      num += e * cur_kv[j * ld_cur + cur_off + i];
    }
    row[i] = static_cast<float>(num / den);
  }
}

void compress_pool_jobs(const CompressorShape& s, const float* ape, const CompressJob* jobs, int64_t n_jobs) {
  for (int64_t j = 0; j < n_jobs; ++j) {
    const CompressJob& b = jobs[j];
    compress_pool(s, ape, b.prev_kv, b.prev_z, b.ld_prev, b.cur_kv, b.cur_z, b.ld_cur, b.row);
  }
}

}  // namespace dsv4k::ref

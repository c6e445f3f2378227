// Interleaved rotary embedding on the trailing rope dims of each head (spec §2.1, §2.4.3).
//
// Pair k of the rope slice is (r[2k], r[2k+1]), rotated by θ = fp32(pos)·f_k. Layers
// without a compressor use base rope_theta and no YaRN; compressed layers use
// compress_rope_theta with YaRN frequency interpolation and no amplitude factor.
#pragma once

#include <cstdint>

#include "dsv4k/numeric.h"

namespace dsv4k {

struct YarnParams {
  double factor = 1.0;
  double original_max_position = 0.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
};

namespace ref {

// f_k for k < rope_dim/2; with yarn != nullptr the YaRN-blended frequencies.
void rope_frequencies(int64_t rope_dim, double base, const YarnParams* yarn, float* freqs);

// cos/sin of θ = fp32(pos)·f_k for each position: [n, n_freq] each.
void rope_table(const int64_t* positions, int64_t n, const float* freqs, int64_t n_freq, float* cos_out,
                float* sin_out);

// Rotates, for every row r and head h, the 2·n_freq values starting at
// x + r*ld_row + h*ld_head + offset by table row r (θ, or -θ when inverse).
void rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head, int64_t offset,
                const float* cos_table, const float* sin_table, int64_t n_freq, bool inverse, Round round);

}  // namespace ref
}  // namespace dsv4k

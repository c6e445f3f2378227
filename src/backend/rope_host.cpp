#include "backend/backend.h"

namespace dsv4 {

void rope_frequencies(int64_t rope_dim, double base, const dsv4k::YarnParams* yarn, float* freqs) {
  dsv4k::ref::rope_frequencies(rope_dim, base, yarn, freqs);
}

void rope_table(const int64_t* positions, int64_t n, const float* freqs, int64_t n_freq, float* cos_out,
                float* sin_out) {
  dsv4k::ref::rope_table(positions, n, freqs, n_freq, cos_out, sin_out);
}

}  // namespace dsv4

#include <algorithm>
#include <cmath>

#include "dsv4k/rope.h"

namespace dsv4k::ref {

void rope_frequencies(int64_t rope_dim, double base, const YarnParams* yarn, float* freqs) {
  const int64_t n = rope_dim / 2;
  // f_k = 1 / base^(2k/rope_dim) in fp32, as the reference builds its table.
  for (int64_t k = 0; k < n; ++k) {
    const float expo = static_cast<float>(2 * k) / static_cast<float>(rope_dim);
    freqs[k] = 1.0f / std::pow(static_cast<float>(base), expo);
  }
  if (yarn == nullptr || yarn->original_max_position <= 0.0 || yarn->factor <= 1.0) return;
  // YaRN: dims whose wavelength fits the original context keep f_k, dims whose wavelength
  // exceeds it are divided by `factor`, with a linear ramp between (no amplitude factor).
  const double pi = 3.14159265358979323846;
  auto correction_dim = [&](double n_rot) {
    return static_cast<double>(rope_dim) * std::log(yarn->original_max_position / (n_rot * 2.0 * pi)) /
           (2.0 * std::log(base));
  };
  double lo = std::max(std::floor(correction_dim(yarn->beta_fast)), 0.0);
  double hi = std::min(std::ceil(correction_dim(yarn->beta_slow)), static_cast<double>(rope_dim - 1));
  if (lo == hi) hi += 0.001;  // the reference's guard against a zero-width ramp
  for (int64_t k = 0; k < n; ++k) {
    float ramp = (static_cast<float>(k) - static_cast<float>(lo)) / static_cast<float>(hi - lo);
    ramp = std::clamp(ramp, 0.0f, 1.0f);
    const float smooth = 1.0f - ramp;
    freqs[k] = freqs[k] / static_cast<float>(yarn->factor) * (1.0f - smooth) + freqs[k] * smooth;
  }
}

void rope_table(const int64_t* positions, int64_t n, const float* freqs, int64_t n_freq, float* cos_out,
                float* sin_out) {
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < n_freq; ++k) {
      const float theta = static_cast<float>(positions[i]) * freqs[k];
      cos_out[i * n_freq + k] = std::cos(theta);
      sin_out[i * n_freq + k] = std::sin(theta);
    }
  }
}

void rope_apply(float* x, int64_t n_rows, int64_t ld_row, int64_t n_heads, int64_t ld_head, int64_t offset,
                const float* cos_table, const float* sin_table, int64_t n_freq, bool inverse, Round round) {
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + r * ld_row + h * ld_head + offset;
      for (int64_t k = 0; k < n_freq; ++k) {
        const float c = cos_table[r * n_freq + k];
        const float s = inverse ? -sin_table[r * n_freq + k] : sin_table[r * n_freq + k];
        const float a = v[2 * k];
        const float b = v[2 * k + 1];
        v[2 * k] = round_to(a * c - b * s, round);
        v[2 * k + 1] = round_to(a * s + b * c, round);
      }
    }
  }
}

}  // namespace dsv4k::ref

#include <cmath>
#include <vector>

#include "dsv4k/hc.h"

namespace dsv4k::ref {
namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// r = rsqrt(mean(v²) + eps) over the flattened streams of one token.
float stream_rsqrt(const float* X, int64_t width, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < width; ++i) ss += static_cast<double>(X[i]) * X[i];
  return 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(width)) + eps);
}

// Σ_j pre_j·X_j in fp32 for one token.
void collapse(const float* X, int64_t hc, int64_t dim, const float* pre, float* y, Round round) {
  for (int64_t i = 0; i < dim; ++i) {
    float acc = 0.0f;
    for (int64_t j = 0; j < hc; ++j) acc += pre[j] * X[j * dim + i];
    y[i] = round_to(acc, round);
  }
}

}  // namespace

void hc_mix(const float* X, int64_t n, const HcParams& p, const float* fn, int64_t n_mix, float* mix) {
  const int64_t width = p.hc * p.dim;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t m = 0; m < n_mix; ++m) {
      double acc = 0.0;
      for (int64_t i = 0; i < width; ++i) acc += static_cast<double>(fn[m * width + i]) * X[t * width + i];
      mix[t * n_mix + m] = static_cast<float>(acc);
    }
  }
}

void hc_pre_finish(const float* X, int64_t n, const HcParams& p, const float* mix, const float* scale,
                   const float* base, float* y, float* post, float* comb, Round round) {
  const int64_t hc = p.hc;
  const int64_t n_mix = (2 + hc) * hc;
  const int64_t width = hc * p.dim;
  std::vector<float> pre(static_cast<size_t>(hc));
  for (int64_t t = 0; t < n; ++t) {
    const float* Xt = X + t * width;
    const float r = stream_rsqrt(Xt, width, p.norm_eps);
    const float* m = mix + t * n_mix;
    for (int64_t j = 0; j < hc; ++j) {
      pre[static_cast<size_t>(j)] = sigmoid(m[j] * r * scale[0] + base[j]) + p.hc_eps;
      post[t * hc + j] = 2.0f * sigmoid(m[hc + j] * r * scale[1] + base[hc + j]);
    }
    float* C = comb + t * hc * hc;  // C[a][b] = C[a*hc + b]
    for (int64_t a = 0; a < hc; ++a)
      for (int64_t b = 0; b < hc; ++b)
        C[a * hc + b] = m[2 * hc + a * hc + b] * r * scale[2] + base[2 * hc + a * hc + b];
    // Sinkhorn: one row softmax (+eps), then alternate column and row normalizations,
    // eps inside each denominator: 20 column and 19 row normalizations for 20 iterations.
    for (int64_t a = 0; a < hc; ++a) {
      float mx = C[a * hc];
      for (int64_t b = 1; b < hc; ++b) mx = std::fmax(mx, C[a * hc + b]);
      float sum = 0.0f;
      for (int64_t b = 0; b < hc; ++b) {
        C[a * hc + b] = std::exp(C[a * hc + b] - mx);
        sum += C[a * hc + b];
      }
      for (int64_t b = 0; b < hc; ++b) C[a * hc + b] = C[a * hc + b] / sum + p.hc_eps;
    }
    auto normalize_columns = [&] {
      for (int64_t b = 0; b < hc; ++b) {
        float sum = 0.0f;
        for (int64_t a = 0; a < hc; ++a) sum += C[a * hc + b];
        for (int64_t a = 0; a < hc; ++a) C[a * hc + b] /= sum + p.hc_eps;
      }
    };
    normalize_columns();
    for (int64_t it = 1; it < p.sinkhorn_iters; ++it) {
      for (int64_t a = 0; a < hc; ++a) {
        float sum = 0.0f;
        for (int64_t b = 0; b < hc; ++b) sum += C[a * hc + b];
        for (int64_t b = 0; b < hc; ++b) C[a * hc + b] /= sum + p.hc_eps;
      }
      normalize_columns();
    }
    collapse(Xt, hc, p.dim, pre.data(), y + t * p.dim, round);
  }
}

void hc_post(const float* o, const float* X, const float* post, const float* comb, int64_t n, const HcParams& p,
             float* X_out, Round round) {
  const int64_t hc = p.hc;
  const int64_t width = hc * p.dim;
  for (int64_t t = 0; t < n; ++t) {
    const float* C = comb + t * hc * hc;
    for (int64_t b = 0; b < hc; ++b) {
      for (int64_t i = 0; i < p.dim; ++i) {
        // New stream b takes column b of C: Σ_a C[a][b]·X_a.
        float acc = post[t * hc + b] * o[t * p.dim + i];
        for (int64_t a = 0; a < hc; ++a) acc += C[a * hc + b] * X[t * width + a * p.dim + i];
        X_out[t * width + b * p.dim + i] = round_to(acc, round);
      }
    }
  }
}

void hc_head_finish(const float* X, int64_t n, const HcParams& p, const float* mix, const float* scale,
                    const float* base, float* y, Round round) {
  const int64_t hc = p.hc;
  const int64_t width = hc * p.dim;
  std::vector<float> pre(static_cast<size_t>(hc));
  for (int64_t t = 0; t < n; ++t) {
    const float r = stream_rsqrt(X + t * width, width, p.norm_eps);
    for (int64_t j = 0; j < hc; ++j)
      pre[static_cast<size_t>(j)] = 1.0f / (1.0f + std::exp(-(mix[t * hc + j] * r * scale[0] + base[j]))) + p.hc_eps;
    collapse(X + t * width, hc, p.dim, pre.data(), y + t * p.dim, round);
  }
}

}  // namespace dsv4k::ref

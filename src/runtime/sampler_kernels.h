// The O(vocab) passes of the sampler: max, argmax, exponentials with block sums, and a
// top-k selection, over one fp32 logits row.
//
// They run on 16-float SIMD lanes, and every reduction has a fixed order (lanes within a
// 256-token block, then blocks in order), so a row gives bit-identical results wherever it
// sits in a batch. NaN logits
// are treated as -inf throughout: they are never the max, never selected ahead of a real
// logit, and get weight 0.
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace dsv4 {

// Tokens per block of the exponential pass; block sums let a draw skip whole blocks.
inline constexpr int64_t kSamplerBlock = 256;

// e^y for y <= 0 with relative error below 3e-7; y < -87 (where e^y is below the smallest
// normal float), -inf and NaN all give exactly 0. Inline so the passes vectorize.
inline float sampler_exp_nonpositive(float y) {
  // Cody-Waite range reduction y = n ln2 + r, |r| <= ln2 / 2, then a degree-6 Taylor
  // polynomial for e^r (truncation error r^7 / 5040 < 6e-8) and 2^n from the exponent bits.
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;     // exact in 9 bits, so n * kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;  // ln2 - kLn2Hi
  constexpr float kRound = 12582912.0f;      // 1.5 * 2^23: adding it rounds to an integer
  constexpr float kLow = -87.0f;
  bool in_range = y >= kLow;  // false for NaN and -inf
  float yc = in_range ? (y < 0.0f ? y : 0.0f) : kLow;
  float t = yc * kLog2e + kRound;
  float n = t - kRound;
  float r = (yc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);  // n in [-126, 0]
  float scale = std::bit_cast<float>((ni + 127) << 23);
  return in_range ? p * scale : 0.0f;
}

// The largest logit, ignoring NaN; -inf if there is none.
float max_logit(std::span<const float> x);

// The index of the largest logit, the lowest index among ties; 0 if every logit is NaN.
int32_t argmax_logit(std::span<const float> x);

// w[i] = e^((x[i] - m) * inv_t) for every i, and block_sums[b] = the sum of block b's
// weights (a block is kSamplerBlock tokens, the last may be shorter). Returns their total,
// summed in block order. Requires m >= every x[i] (m = max_logit(x)).
// w: [x.size()]; block_sums: [ceil(x.size() / kSamplerBlock)].
double exp_weights(std::span<const float> x, float m, float inv_t, float* w, double* block_sums);

// sum_i e^(x[i] - m), as exp_weights with inv_t = 1 but storing nothing.
double sum_exp(std::span<const float> x, float m);

struct ScoredToken {
  float logit = 0.0f;  // NaN already replaced by -inf
  int32_t token = 0;
};

// Ranking order: higher logit first, then the lower token id.
inline bool ranks_before(const ScoredToken& a, const ScoredToken& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

// The first index i >= begin with x[i] >= threshold (NaN never is); x.size() if none.
int64_t first_at_least(std::span<const float> x, int64_t begin, float threshold);

// The min(k, x.size()) best tokens by ranks_before, sorted, into *out (k >= 1). One pass
// that only looks at a token twice when it beats the current k-th best; `scratch` is reused
// between calls to avoid allocation.
void select_top_k(std::span<const float> x, int64_t k, std::vector<ScoredToken>* scratch,
                  std::vector<ScoredToken>* out);

}  // namespace dsv4

// build_support and draw_token (see sampler_truncation.h for the definitions).
#include "runtime/sampler_truncation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"

namespace dsv4 {
namespace {

// First batch of the growing partial sort in the top-p path; each later batch is 4x larger,
// so a typical nucleus (tens of tokens) costs one nth_element and one small sort.
constexpr size_t kFirstBatch = 64;
// Slack (in units of T) added to the top-p gathering threshold, far above the float error
// of the weights, so the tokens left out provably hold less than (1 - top_p) of the mass.
constexpr double kTailMargin = 1e-3;

bool candidate_ranks_before(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

float inverse_temperature(double temperature) { return static_cast<float>(1.0 / temperature); }

float weight_of(float x, float m, float inv_t) { return sampler_exp_nonpositive((x - m) * inv_t); }

// The min-p bound on logits; -inf when min-p is off.
double min_p_threshold(double m, const TruncationSettings& s) {
  return m + s.temperature * std::log(s.min_p);
}

Support argmax_support(int32_t token) {
  Support support;
  support.kind = SupportKind::kArgmax;
  support.argmax = token;
  return support;
}

Support candidate_support(std::span<const Candidate> kept) {
  Support support;
  support.kind = SupportKind::kCandidates;
  support.candidates = kept;
  for (const Candidate& c : kept) support.total += static_cast<double>(c.weight);
  return support;
}

// Length of the shortest prefix of `c` whose weight reaches `target`; all of c if none does.
size_t mass_prefix(std::span<const Candidate> c, double target) {
  double cum = 0.0;
  for (size_t j = 0; j < c.size(); ++j) {
    cum += static_cast<double>(c[j].weight);
    if (cum >= target) return j + 1;
  }
  return c.size();
}

// Length of the rank prefix of `c` (sorted) that passes min-p.
size_t min_p_prefix(std::span<const Candidate> c, double threshold) {
  size_t n = 0;
  while (n < c.size() && static_cast<double>(c[n].logit) >= threshold) ++n;
  return n;
}

Support top_k_support(std::span<const float> x, const TruncationSettings& s, TruncationWorkspace* ws) {
  select_top_k(x, s.top_k, &ws->select_scratch, &ws->selected);
  float m = ws->selected.front().logit;
  if (!std::isfinite(m)) return argmax_support(ws->selected.front().token);
  float inv_t = inverse_temperature(s.temperature);
  ws->candidates.clear();
  for (const ScoredToken& t : ws->selected) ws->candidates.push_back({t.logit, t.token, weight_of(t.logit, m, inv_t)});
  std::span<const Candidate> kept = ws->candidates;
  size_t n = kept.size();
  if (s.top_p < 1.0) {
    double top_k_mass = 0.0;
    for (const Candidate& c : kept) top_k_mass += static_cast<double>(c.weight);
    n = std::min(n, mass_prefix(kept, s.top_p * top_k_mass));
  }
  if (s.min_p > 0.0) n = std::min(n, min_p_prefix(kept, min_p_threshold(m, s)));
  return candidate_support(kept.first(n));
}

// The smallest float f with f >= threshold, so that for every float x the SIMD test
// x >= f is exactly the double test x >= threshold.
float float_threshold(double threshold) {
  constexpr float kMax = std::numeric_limits<float>::max();
  if (threshold > static_cast<double>(kMax)) return std::numeric_limits<float>::infinity();
  if (threshold < -static_cast<double>(kMax)) return threshold == -HUGE_VAL ? -HUGE_VALF : -kMax;
  auto f = static_cast<float>(threshold);
  if (static_cast<double>(f) < threshold) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

// Candidates with logit >= threshold in id order, weighted by `weights` if given, else
// computed here.
void gather(std::span<const float> x, double threshold, const float* weights, float m, float inv_t,
            TruncationWorkspace* ws) {
  ws->candidates.clear();
  float f = float_threshold(threshold);
  auto n = static_cast<int64_t>(x.size());
  for (int64_t i = first_at_least(x, 0, f); i < n; i = first_at_least(x, i + 1, f)) {
    float w = weights != nullptr ? weights[i] : weight_of(x[static_cast<size_t>(i)], m, inv_t);
    ws->candidates.push_back({x[static_cast<size_t>(i)], static_cast<int32_t>(i), w});
  }
}

// Sorts ws->candidates in growing batches until a rank prefix holds `target`; returns its
// length (all candidates if none does).
size_t sorted_mass_prefix(std::vector<Candidate>* c, double target) {
  double cum = 0.0;
  size_t done = 0;
  for (size_t batch = kFirstBatch; done < c->size(); batch *= 4) {
    size_t end = std::min(c->size(), done + batch);
    auto first = c->begin() + static_cast<std::ptrdiff_t>(done);
    auto last = c->begin() + static_cast<std::ptrdiff_t>(end);
    if (end < c->size()) std::nth_element(first, last - 1, c->end(), candidate_ranks_before);
    std::sort(first, last, candidate_ranks_before);
    for (size_t j = done; j < end; ++j) {
      cum += static_cast<double>((*c)[j].weight);
      if (cum >= target) return j + 1;
    }
    done = end;
  }
  return c->size();
}

Support top_p_support(std::span<const float> x, const TruncationSettings& s, TruncationWorkspace* ws) {
  float m = max_logit(x);
  if (!std::isfinite(m)) return argmax_support(argmax_logit(x));
  float inv_t = inverse_temperature(s.temperature);
  double total = exp_weights(x, m, inv_t, ws->weights.data(), ws->block_sums.data());
  if (!(total > 0.0 && std::isfinite(total))) return argmax_support(argmax_logit(x));
  // A token left out has weight < e^-tau = (1 - p) Z / V, so all of them together hold
  // less than (1 - p) Z: the nucleus lies inside the gathered set.
  double vocab = static_cast<double>(x.size());
  double tau = std::max(0.0, std::log(vocab / ((1.0 - s.top_p) * total))) + kTailMargin;
  double threshold = static_cast<double>(m) - s.temperature * tau;
  double min_p_bound = s.min_p > 0.0 ? min_p_threshold(m, s) : threshold;
  // With min-p stricter, the gathered set is exactly min-p's support and top-p can only
  // shorten it further.
  gather(x, std::max(threshold, min_p_bound), ws->weights.data(), m, inv_t, ws);
  size_t n = sorted_mass_prefix(&ws->candidates, s.top_p * total);
  return candidate_support(std::span<const Candidate>(ws->candidates).first(n));
}

Support min_p_support(std::span<const float> x, const TruncationSettings& s, TruncationWorkspace* ws) {
  float m = max_logit(x);
  if (!std::isfinite(m)) return argmax_support(argmax_logit(x));
  float inv_t = inverse_temperature(s.temperature);
  gather(x, min_p_threshold(m, s), nullptr, m, inv_t, ws);
  return candidate_support(ws->candidates);
}

Support whole_vocab_support(std::span<const float> x, const TruncationSettings& s, TruncationWorkspace* ws) {
  float m = max_logit(x);
  if (!std::isfinite(m)) return argmax_support(argmax_logit(x));
  double total = exp_weights(x, m, inverse_temperature(s.temperature), ws->weights.data(), ws->block_sums.data());
  if (!(total > 0.0 && std::isfinite(total))) return argmax_support(argmax_logit(x));
  Support support;
  support.kind = SupportKind::kWholeVocab;
  support.vocab_weights = std::span<const float>(ws->weights).first(x.size());
  support.block_sums = ws->block_sums;
  support.total = total;
  return support;
}

int32_t draw_candidates(std::span<const Candidate> c, double target) {
  double cum = 0.0;
  int32_t last_positive = c.front().token;
  for (const Candidate& cand : c) {
    if (cand.weight <= 0.0f) continue;
    cum += static_cast<double>(cand.weight);
    last_positive = cand.token;
    if (cum > target) return cand.token;
  }
  return last_positive;  // rounding put the target at the very end
}

int32_t draw_whole_vocab(const Support& s, double target) {
  // Skip whole blocks first; the in-block running sum is sequential where the block sum was
  // taken over lanes, so a target at a block's very end may fall just past it (handled by
  // taking the block's last positive weight).
  double cum = 0.0;
  size_t b = 0;
  for (; b + 1 < s.block_sums.size(); ++b) {
    if (cum + s.block_sums[b] > target) break;
    cum += s.block_sums[b];
  }
  size_t begin = b * static_cast<size_t>(kSamplerBlock);
  size_t end = std::min(s.vocab_weights.size(), begin + static_cast<size_t>(kSamplerBlock));
  int32_t last_positive = -1;
  for (size_t i = begin; i < end; ++i) {
    float w = s.vocab_weights[i];
    if (w <= 0.0f) continue;
    cum += static_cast<double>(w);
    last_positive = static_cast<int32_t>(i);
    if (cum > target) return last_positive;
  }
  if (last_positive >= 0) return last_positive;
  // Only a target rounded up to the total can land in a last block without weight.
  for (size_t i = begin; i-- > 0;) {
    if (s.vocab_weights[i] > 0.0f) return static_cast<int32_t>(i);
  }
  return 0;
}

}  // namespace

TruncationSettings TruncationSettings::from(const SamplingParams& params, int64_t vocab) {
  TruncationSettings s;
  s.temperature = params.temperature;
  s.top_k = params.top_k > 0 && params.top_k < vocab ? params.top_k : 0;
  s.top_p = params.top_p;
  s.min_p = params.min_p;
  return s;
}

Support build_support(std::span<const float> x, const TruncationSettings& s, TruncationWorkspace* ws) {
  DSV4_CHECK(!x.empty());
  if (s.temperature == 0.0) return argmax_support(argmax_logit(x));
  size_t n_blocks = (x.size() + static_cast<size_t>(kSamplerBlock) - 1) / static_cast<size_t>(kSamplerBlock);
  if (ws->weights.size() < x.size()) ws->weights.resize(x.size());
  if (ws->block_sums.size() != n_blocks) ws->block_sums.resize(n_blocks);
  if (s.top_k > 0) return top_k_support(x, s, ws);
  if (s.top_p < 1.0) return top_p_support(x, s, ws);
  if (s.min_p > 0.0) return min_p_support(x, s, ws);
  return whole_vocab_support(x, s, ws);
}

int32_t draw_token(const Support& support, double u) {
  switch (support.kind) {
    case SupportKind::kArgmax:
      return support.argmax;
    case SupportKind::kCandidates:
      return draw_candidates(support.candidates, u * support.total);
    case SupportKind::kWholeVocab:
      return draw_whole_vocab(support, u * support.total);
  }
  return support.argmax;
}

}  // namespace dsv4

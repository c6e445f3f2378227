// Truncation of the next-token distribution (temperature, top-k, top-p, min-p) and the draw.
//
// Definitions, on the processed logits x (after bias, penalties and masks):
//   m = max x; weight w_i = e^((x_i - m) / T), evaluated by sampler_exp_nonpositive in
//   float on every path, so a token's weight never depends on which path kept it.
//   Rank order: higher logit first, ties to the lower id.
//   top-k keeps the k best by rank. top-p then keeps the shortest rank prefix whose weight
//   reaches top_p x the weight of what top-k kept (vLLM's order: top-p renormalizes after
//   top-k). min-p keeps tokens with x_i >= m + T ln(min_p), i.e. p_i >= min_p x p_max.
//   Each filter keeps a rank prefix, so the support is the shortest of the three.
// The support is found without sorting the vocabulary: top-k selects k tokens in one pass;
// top-p first sums every weight (one exponential pass), then gathers only tokens above a
// logit threshold chosen so the tokens left out cannot hold the nucleus's mass, and sorts
// that candidate set in growing batches until the prefix reaches the mass.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dsv4/request.h"
#include "runtime/sampler_kernels.h"

namespace dsv4 {

struct TruncationSettings {
  double temperature = 1.0;  // 0: argmax
  int64_t top_k = 0;         // 0: off; otherwise in [1, vocab)
  double top_p = 1.0;        // (0, 1]; 1: off
  double min_p = 0.0;        // [0, 1]; 0: off

  // Normalizes a validated request (top_k <= 0 or >= vocab becomes 0).
  static TruncationSettings from(const SamplingParams& params, int64_t vocab);
};

struct Candidate {
  float logit = 0.0f;
  int32_t token = 0;
  float weight = 0.0f;
};

enum class SupportKind : uint8_t {
  kArgmax,      // one token: greedy, or the fallback when the weights degenerate (+inf logits)
  kCandidates,  // the kept tokens in `candidates` (rank order after top-k / top-p, id order
                // for min-p alone)
  kWholeVocab,  // every token, in id order, weights in `vocab_weights`
};

// The distribution a draw walks, viewing buffers of the workspace that built it.
struct Support {
  SupportKind kind = SupportKind::kArgmax;
  int32_t argmax = 0;                   // kArgmax
  std::span<const Candidate> candidates;  // kCandidates
  std::span<const float> vocab_weights;   // kWholeVocab: [vocab]
  std::span<const double> block_sums;     // kWholeVocab: [ceil(vocab / kSamplerBlock)]
  double total = 0.0;                     // sum of the weights, in walk order
};

// Scratch reused across calls; one per sampling thread.
struct TruncationWorkspace {
  std::vector<float> weights;       // [vocab]
  std::vector<double> block_sums;   // [ceil(vocab / kSamplerBlock)]
  std::vector<Candidate> candidates;
  std::vector<ScoredToken> selected;
  std::vector<ScoredToken> select_scratch;
};

Support build_support(std::span<const float> x, const TruncationSettings& settings, TruncationWorkspace* ws);

// The token at u in [0, 1) of the support's cumulative weight, walking in its order (the
// first token whose running sum exceeds u x total).
int32_t draw_token(const Support& support, double u);

}  // namespace dsv4

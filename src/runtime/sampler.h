// Sampler: one sequence's fp32 logits row -> its next token, with logprobs.
//
// Processing order (each step sees the previous one's output):
//   1. logit_bias          x[t] += bias[t]
//   2. repetition penalty  for t in prompt ∪ generated: x > 0 ? x / r : x * r (CTRL, vLLM)
//   3. frequency/presence  for t generated c > 0 times: x -= c * frequency + presence (OpenAI;
//                          generated tokens only, the prompt does not count)
//   4. min_tokens mask     while n_generated < min_tokens: x = -inf for the stop token ids and
//                          for EOS unless ignore_eos (as vLLM: with ignore_eos, EOS is not a
//                          stop, so there is nothing to hold off)
//   5. temperature         T = 0: argmax, ties to the lowest id; steps 6-8 do not apply
//   6. top-k  7. top-p  8. min-p   (exact definitions in sampler_truncation.h)
//   9. draw                one uniform from the sequence's SamplerRng at step n_generated,
//                          inverse CDF over the kept tokens (none is drawn for greedy)
// Logprobs (when params.logprobs >= 0) are the log-softmax of the RAW logits, before step 1
// (see sampler_logprobs.h); with logprobs = -1, GeneratedToken::logprob stays 0.
//
// Cost: steps 1-4 touch only the listed tokens (plus one copy of the row when any applies);
// greedy is a max pass and a find pass; top-k is one selection pass; top-p adds one
// exponential pass and sorts only the candidates near the top; no path sorts the vocabulary.
//
// A Sampler owns scratch buffers and is not thread-safe: use one per sampling thread. The
// result for a sequence depends only on (logits, params, state), never on the batch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dsv4/request.h"
#include "dsv4k/sampling.h"
#include "runtime/sampler_logprobs.h"
#include "runtime/sampler_state.h"
#include "runtime/sampler_truncation.h"

namespace dsv4 {

struct SamplerConfig {
  int64_t vocab = 0;                    // logits rows have exactly this many entries
  std::vector<int32_t> eos_token_ids;   // the model's end-of-sequence ids (masked by min_tokens)
};

// The distribution the next token is drawn from, for tests and debugging.
struct SamplingDistribution {
  std::vector<int32_t> tokens;       // the support, in the order the draw walks it
  std::vector<double> probabilities; // [tokens.size()], summing to 1
};

class Sampler {
 public:
  explicit Sampler(SamplerConfig config);

  // logits: [vocab], the raw model output for the sequence's next position. `params` must
  // have passed validate_sampling_params. Does not modify `state`: the caller appends the
  // token it accepts (state.append), which also advances the RNG step.
  GeneratedToken sample(std::span<const float> logits, const SamplingParams& params,
                        const SequenceSamplingState& state);

  // The support and probabilities sample() would draw from (a single token for greedy).
  SamplingDistribution distribution(std::span<const float> logits, const SamplingParams& params,
                                    const SequenceSamplingState& state);

  // The logits after steps 1-4, before temperature: a view of `logits` itself when no step
  // applies, else of the sampler's scratch (valid until the next call).
  std::span<const float> process_logits(std::span<const float> logits, const SamplingParams& params,
                                        const SequenceSamplingState& state);

  // The settings and draw with which a device sampler (dsv4k/sampling.h) gives the token
  // sample() would, for a row that needs none of steps 1-4 and no logprobs; nullopt for the
  // rows that must be sampled here.
  std::optional<dsv4k::SampleRowParams> device_row(const SamplingParams& params,
                                                   const SequenceSamplingState& state) const;

  const SamplerConfig& config() const { return config_; }

 private:
  bool min_tokens_mask_active(const SamplingParams& params, const SequenceSamplingState& state) const;
  bool needs_processing(const SamplingParams& params, const SequenceSamplingState& state) const;
  void apply_penalties(const SamplingParams& params, const SequenceSamplingState& state);
  void apply_min_tokens_mask(const SamplingParams& params);

  SamplerConfig config_;
  std::vector<float> processed_;  // [vocab]
  TruncationWorkspace truncation_;
  LogprobWorkspace logprobs_;
};

}  // namespace dsv4

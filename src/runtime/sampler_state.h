// Per-sequence state the sampler reads: which tokens the prompt contains, how often each
// token has been generated, how many tokens were generated, and the sequence's RNG.
//
// The state is incremental so that a decode step costs O(distinct tokens), never a rescan
// of the history: the engine calls append() once per accepted token. The prompt's token set
// is immutable and shared by the n choices of a request. A preempted sequence keeps its
// state (or rebuilds it by appending its generated tokens again), and because the RNG draw
// is keyed by n_generated(), recomputation reproduces the same tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "runtime/sampler_rng.h"

namespace dsv4 {

// The distinct token ids of a prompt, as a bitset over the vocabulary (16 KiB at
// V = 129,280) plus the sorted list, so both membership and iteration are cheap.
class PromptTokenSet {
 public:
  // Ids outside [0, vocab) are ignored: the engine rejects such prompts before sampling,
  // and no logit exists for them.
  PromptTokenSet(std::span<const int32_t> prompt, int64_t vocab);

  bool contains(int32_t token) const {
    if (token < 0 || token >= vocab_) return false;
    auto t = static_cast<uint64_t>(token);
    return ((bits_[t >> 6] >> (t & 63)) & 1u) != 0;
  }
  std::span<const int32_t> tokens() const { return tokens_; }  // ascending, distinct
  int64_t vocab() const { return vocab_; }

 private:
  int64_t vocab_;
  std::vector<uint64_t> bits_;   // [ceil(vocab / 64)]
  std::vector<int32_t> tokens_;  // [n distinct prompt tokens]
};

struct GeneratedTokenCount {
  int32_t token = 0;
  int32_t count = 0;
  bool in_prompt = false;  // so the repetition penalty visits prompt ∪ generated once each
};

class SequenceSamplingState {
 public:
  SequenceSamplingState(std::shared_ptr<const PromptTokenSet> prompt, SamplerRng rng);

  // Records a generated token (after sampling, or a token the engine forced).
  void append(int32_t token);

  int64_t n_generated() const { return n_generated_; }
  const SamplerRng& rng() const { return rng_; }
  const PromptTokenSet& prompt() const { return *prompt_; }
  // Distinct generated tokens in order of first appearance, with their counts.
  std::span<const GeneratedTokenCount> generated() const { return generated_; }
  int32_t count(int32_t token) const;

 private:
  std::shared_ptr<const PromptTokenSet> prompt_;
  SamplerRng rng_;
  int64_t n_generated_ = 0;
  std::vector<GeneratedTokenCount> generated_;
  std::unordered_map<int32_t, size_t> index_;  // token -> position in generated_
};

}  // namespace dsv4

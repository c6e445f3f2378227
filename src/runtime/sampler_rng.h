// SamplerRng: the random numbers behind sampling, one stream per (seed, choice).
//
// The draw for a sequence's i-th generated token is a pure function of (seed, choice, i):
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11, the
// generator behind cuRAND and PyTorch's CUDA RNG) keyed by the 64-bit seed, with the
// counter holding the step index and the choice index. Nothing is consumed or advanced, so
// the tokens a request gets cannot depend on which other sequences share its batch, on the
// order the engine samples them in, or on a preemption that recomputes the sequence.
#pragma once

#include <array>
#include <cstdint>

namespace dsv4 {

// The raw generator: Random123's philox4x32 with 10 rounds, so it can be checked against
// the published known-answer vectors. counter: 4 words, key: 2 words.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

class SamplerRng {
 public:
  // `choice` is the completion index (0 .. n-1) within the request, so the n completions of
  // one seeded request are different streams.
  SamplerRng(uint64_t seed, uint32_t choice) : seed_(seed), choice_(choice) {}

  // A uniform double in [0, 1) with 53 random bits for generation step `step` (the number
  // of tokens the sequence had generated before the one being sampled).
  double uniform(uint64_t step) const;

  uint64_t seed() const { return seed_; }
  uint32_t choice() const { return choice_; }

 private:
  uint64_t seed_;
  uint32_t choice_;
};

}  // namespace dsv4

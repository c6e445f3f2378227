// PromptTokenSet and SequenceSamplingState (see sampler_state.h).
#include "runtime/sampler_state.h"

#include <bit>
#include <utility>

#include "core/check.h"

namespace dsv4 {

PromptTokenSet::PromptTokenSet(std::span<const int32_t> prompt, int64_t vocab)
    : vocab_(vocab), bits_(static_cast<size_t>((vocab + 63) / 64), 0) {
  DSV4_CHECK(vocab > 0);
  for (int32_t token : prompt) {
    if (token < 0 || token >= vocab) continue;
    auto t = static_cast<uint64_t>(token);
    bits_[t >> 6] |= uint64_t{1} << (t & 63);
  }
  // Walking the bitset yields the distinct ids already sorted, in O(V / 64 + distinct).
  for (size_t w = 0; w < bits_.size(); ++w) {
    uint64_t word = bits_[w];
    while (word != 0) {
      int bit = std::countr_zero(word);
      tokens_.push_back(static_cast<int32_t>(w * 64 + static_cast<size_t>(bit)));
      word &= word - 1;
    }
  }
}

SequenceSamplingState::SequenceSamplingState(std::shared_ptr<const PromptTokenSet> prompt, SamplerRng rng)
    : prompt_(std::move(prompt)), rng_(rng) {
  DSV4_CHECK(prompt_ != nullptr);
}

void SequenceSamplingState::append(int32_t token) {
  // Sampled tokens are always in range; anything else is an engine bug that would make the
  // penalties write outside the logits row.
  DSV4_CHECK(token >= 0 && token < prompt_->vocab());
  ++n_generated_;
  auto [it, inserted] = index_.try_emplace(token, generated_.size());
  if (inserted) {
    generated_.push_back({token, 1, prompt_->contains(token)});
  } else {
    ++generated_[it->second].count;
  }
}

int32_t SequenceSamplingState::count(int32_t token) const {
  auto it = index_.find(token);
  return it == index_.end() ? 0 : generated_[it->second].count;
}

}  // namespace dsv4

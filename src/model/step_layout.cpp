#include "model/step_layout.h"

#include <unordered_set>

namespace dsv4 {

Result<StepLayout> make_step_layout(const ModelConfig& c, const std::vector<int32_t>& tokens,
                                    const std::vector<SequenceChunk>& chunks, const KvCache& cache,
                                    CacheStream stream) {
  StepLayout l;
  l.n_tokens = static_cast<int64_t>(tokens.size());
  l.tokens = tokens;
  std::unordered_set<int32_t> slots;
  int64_t begin = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const SequenceChunk& ch = chunks[i];
    const std::string where = "chunk " + std::to_string(i) + " (slot " + std::to_string(ch.slot) + ")";
    if (ch.n_tokens <= 0) return invalid_argument(where + " has no tokens");
    if (!slots.insert(ch.slot).second) return invalid_argument(where + ": a slot may appear once per batch");
    const int64_t cached = cache.length(ch.slot, stream);
    if (ch.start_pos != cached)
      return invalid_argument(where + " starts at position " + std::to_string(ch.start_pos) +
                              " but the cache holds " + std::to_string(cached) + " tokens of that sequence");
    if (ch.start_pos + ch.n_tokens > c.max_position_embeddings)
      return out_of_range(where + " reaches position " + std::to_string(ch.start_pos + ch.n_tokens) +
                          ", beyond the model's " + std::to_string(c.max_position_embeddings));
    l.seqs.push_back({ch.slot, begin, ch.n_tokens, ch.start_pos});
    for (int64_t t = 0; t < ch.n_tokens; ++t) l.positions.push_back(ch.start_pos + t);
    begin += ch.n_tokens;
  }
  if (begin != l.n_tokens)
    return invalid_argument("the chunks cover " + std::to_string(begin) + " tokens but the batch has " +
                            std::to_string(l.n_tokens));
  for (int64_t t = 0; t < l.n_tokens; ++t) {
    if (tokens[static_cast<size_t>(t)] < 0 || tokens[static_cast<size_t>(t)] >= c.vocab_size)
      return invalid_argument("token " + std::to_string(t) + " has id " + std::to_string(tokens[static_cast<size_t>(t)]) +
                              ", outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  }
  return l;
}

}  // namespace dsv4

// StepLayout: the per-token view of a validated ForwardBatch, built once per forward and
// read by every layer (positions, the owning chunk of each token).
#pragma once

#include <cstdint>
#include <vector>

#include "dsv4/status.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace dsv4 {

struct StepSeq {
  int32_t slot = 0;
  int64_t begin = 0;      // first token index in the batch
  int64_t n = 0;          // tokens in the chunk
  int64_t start_pos = 0;  // absolute position of the first token
  int64_t end_pos() const { return start_pos + n; }
};

struct StepLayout {
  int64_t n_tokens = 0;
  std::vector<int32_t> tokens;     // [n_tokens]
  std::vector<int64_t> positions;  // [n_tokens] absolute positions
  std::vector<StepSeq> seqs;
};

// Checks a batch against the config and the cache (token ids in range, chunks covering
// the tokens exactly, each slot at most once, start positions equal to cached lengths,
// positions within max_position_embeddings) and builds its layout.
Result<StepLayout> make_step_layout(const ModelConfig& c, const std::vector<int32_t>& tokens,
                                    const std::vector<SequenceChunk>& chunks, const KvCache& cache,
                                    CacheStream stream);

}  // namespace dsv4

// ForwardBatch: the one input of the forward pass — a ragged batch of sequence chunks.
//
// Each chunk is a run of new tokens of one sequence, at absolute positions that continue
// that sequence's cached state (start_pos must equal the cache's length for the slot). A
// single request is a batch of one; a decode step is a chunk of one token.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dsv4k/sampling.h"

namespace dsv4 {

struct SequenceChunk {
  int32_t slot = 0;       // the sequence's slot in the KvCache
  int64_t start_pos = 0;  // absolute position of the chunk's first token
  int64_t n_tokens = 0;
};

enum class LogitsMode : uint8_t {
  kNone,  // no logits (e.g. a prefill chunk that is not the last)
  kLast,  // the last token of each chunk
  kAll,   // every token (evaluation, parity tests)
};

struct ForwardBatch {
  std::vector<int32_t> tokens;        // [n_tokens]: chunks concatenated in order
  std::vector<SequenceChunk> chunks;  // token ranges follow each other in `tokens`
  LogitsMode logits = LogitsMode::kLast;
  bool keep_hidden = false;           // also return the final streams (input of MTP)
  // With kLast: which chunks want their last token's logits ([n_chunks]; empty: all).
  // A prefill chunk that does not end its prompt needs none, and the head is expensive.
  std::vector<uint8_t> logits_for_chunk;
  // With kLast: chunks whose next token the backend may sample itself ([n_chunks]; empty:
  // none), with the row's settings and draw (Sampler::device_row); nullopt for rows only the
  // host can sample. Then only the tokens cross to the host, not the [vocab] logits row. A
  // backend without a sampler of its own (the CPU's) leaves every row to the host.
  std::vector<std::optional<dsv4k::SampleRowParams>> sample_on_device;
};

struct ForwardResult {
  std::vector<float> logits;        // [n_logit_rows, vocab] fp32 (rows the backend sampled: unset)
  std::vector<int64_t> logit_rows;  // [n_logit_rows] batch token index of each row
  // [n_logit_rows] when the batch asked for sampling on the device: the token sampled there,
  // or -1 for a row left to the host (its logits are in `logits`). Empty otherwise.
  std::vector<int32_t> sampled;
  std::vector<float> hidden;        // [n_tokens, hc, d] when keep_hidden
};

// Input of the MTP draft block for a ragged batch: at each position i of a chunk it reads
// the main model's final streams X_i and the token x_{i+1} that follows (spec §2.7).
struct MtpBatch {
  std::vector<int32_t> next_tokens;   // [n_tokens]
  std::vector<float> hidden;          // [n_tokens, hc, d] from ForwardResult::hidden
  std::vector<SequenceChunk> chunks;  // positions on the MTP stream of the cache
  LogitsMode logits = LogitsMode::kLast;
};

}  // namespace dsv4

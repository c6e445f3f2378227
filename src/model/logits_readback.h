// LogitsReadback: how a step's logits reach the host — as the rows themselves, or, for rows
// the backend may sample, as the tokens it drew from them.
//
// On a device a logits row is vocab x 4 bytes (517 KB for DeepSeek-V4): a decode batch of 64
// would copy 33 MB per step and sample it on one host thread. Rows that need nothing but
// temperature / top-k / top-p / min-p and a draw are sampled where the logits are
// (Backend::sample_rows) and only their tokens come back; the rest (logprobs, penalties,
// biases, and the rows the device hands back as too wide to sample) are downloaded.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "backend/backend.h"
#include "backend/backend_array.h"
#include "model/batch.h"

namespace dsv4 {

class LogitsReadback {
 public:
  // logits [m, vocab] in the backend's memory. params: [m] settings of the rows the backend
  // may sample (nullopt: the host samples it), or empty (download every row). Fills
  // out->logits (the rows left to the host) and, when params is not empty, out->sampled.
  void read(Backend& be, const float* logits, int64_t m, int64_t vocab,
            const std::vector<std::optional<dsv4k::SampleRowParams>>& params, ForwardResult* out);

 private:
  // Samples the rows that have settings (none when the backend has no sampler of its own);
  // sets out->sampled.
  void sample(Backend& be, const float* logits, int64_t m, int64_t vocab,
              const std::vector<std::optional<dsv4k::SampleRowParams>>& params, ForwardResult* out);
  // Downloads every row not sampled (all when out->sampled is empty), one copy per run.
  static void download_unsampled(Backend& be, const float* logits, int64_t m, int64_t vocab, ForwardResult* out);

  std::vector<int32_t> rows_;                    // logits rows the backend samples
  std::vector<dsv4k::SampleRowParams> settings_;  // their settings, in that order
  std::vector<int32_t> tokens_, status_;         // what it drew
  BackendArray<int32_t> rows_dev_;
  BackendArray<float> picked_;                    // [rows, vocab] when they are not all rows
};

}  // namespace dsv4

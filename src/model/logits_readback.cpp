// Logits to the host, or tokens sampled on the backend (see logits_readback.h).
#include "model/logits_readback.h"

#include "core/check.h"

namespace dsv4 {

void LogitsReadback::read(Backend& be, const float* logits, int64_t m, int64_t vocab,
                          const std::vector<std::optional<dsv4k::SampleRowParams>>& params, ForwardResult* out) {
  out->sampled.clear();
  out->logits.resize(static_cast<size_t>(m * vocab));
  if (!params.empty()) sample(be, logits, m, vocab, params, out);
  download_unsampled(be, logits, m, vocab, out);
}

void LogitsReadback::sample(Backend& be, const float* logits, int64_t m, int64_t vocab,
                            const std::vector<std::optional<dsv4k::SampleRowParams>>& params, ForwardResult* out) {
  DSV4_CHECK_MSG(static_cast<int64_t>(params.size()) == m, "sampling settings for " + std::to_string(params.size()) +
                                                               " rows of " + std::to_string(m) + " logits rows");
  out->sampled.assign(static_cast<size_t>(m), -1);
  rows_.clear();
  settings_.clear();
  for (int64_t i = 0; i < m; ++i)
    if (params[static_cast<size_t>(i)]) {
      rows_.push_back(static_cast<int32_t>(i));
      settings_.push_back(*params[static_cast<size_t>(i)]);
    }
  const auto n = static_cast<int64_t>(rows_.size());
  if (n == 0) return;
  // The sampler reads rows ld apart: the logits themselves when every row is sampled (the
  // usual decode step), else the sampled rows gathered next to each other.
  const float* src = logits;
  if (n < m) {
    const size_t row_bytes = static_cast<size_t>(vocab) * sizeof(float);
    rows_dev_.assign(be, rows_);
    picked_.resize(be, static_cast<size_t>(n * vocab));
    be.gather_rows(logits, row_bytes, rows_dev_.data(), n, row_bytes, picked_.data(), row_bytes);
    src = picked_.data();
  }
  tokens_.assign(static_cast<size_t>(n), -1);
  status_.assign(static_cast<size_t>(n), 0);
  if (!be.sample_rows(src, n, vocab, vocab, settings_.data(), tokens_.data(), status_.data())) return;
  for (int64_t j = 0; j < n; ++j)
    if (status_[static_cast<size_t>(j)] == dsv4k::kSampleDone)
      out->sampled[static_cast<size_t>(rows_[static_cast<size_t>(j)])] = tokens_[static_cast<size_t>(j)];
}

void LogitsReadback::download_unsampled(Backend& be, const float* logits, int64_t m, int64_t vocab,
                                        ForwardResult* out) {
  const auto sampled = [&](int64_t i) { return !out->sampled.empty() && out->sampled[static_cast<size_t>(i)] >= 0; };
  int64_t i = 0;
  while (i < m) {
    if (sampled(i)) {
      ++i;
      continue;
    }
    int64_t end = i + 1;
    while (end < m && !sampled(end)) ++end;
    be.download(out->logits.data() + i * vocab, logits + i * vocab, static_cast<size_t>((end - i) * vocab) * sizeof(float));
    i = end;
  }
}

}  // namespace dsv4

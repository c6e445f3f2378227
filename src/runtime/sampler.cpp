// Sampler: logits processing (bias, penalties, min_tokens mask) and the orchestration of
// truncation, draw and logprobs (see sampler.h for the order and its reasons).
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/check.h"

namespace dsv4 {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

float repetition_penalized(float x, double penalty) {
  double v = static_cast<double>(x);
  return static_cast<float>(v > 0.0 ? v / penalty : v * penalty);
}

}  // namespace

Sampler::Sampler(SamplerConfig config) : config_(std::move(config)) {
  DSV4_CHECK(config_.vocab > 0);
  for (int32_t eos : config_.eos_token_ids) DSV4_CHECK(eos >= 0 && eos < config_.vocab);
  processed_.resize(static_cast<size_t>(config_.vocab));
}

bool Sampler::min_tokens_mask_active(const SamplingParams& params, const SequenceSamplingState& state) const {
  if (state.n_generated() >= params.min_tokens) return false;
  bool has_eos = !params.ignore_eos && !config_.eos_token_ids.empty();
  return has_eos || !params.stop_token_ids.empty();
}

bool Sampler::needs_processing(const SamplingParams& params, const SequenceSamplingState& state) const {
  bool has_history = !state.generated().empty() || !state.prompt().tokens().empty();
  bool repetition = params.repetition_penalty != 1.0 && has_history;
  bool openai = (params.frequency_penalty != 0.0 || params.presence_penalty != 0.0) &&
                !state.generated().empty();
  return !params.logit_bias.empty() || repetition || openai || min_tokens_mask_active(params, state);
}

void Sampler::apply_penalties(const SamplingParams& params, const SequenceSamplingState& state) {
  float* x = processed_.data();
  for (const auto& [token, bias] : params.logit_bias) {
    x[token] = static_cast<float>(static_cast<double>(x[token]) + static_cast<double>(bias));
  }
  if (params.repetition_penalty != 1.0) {
    // prompt ∪ generated, each token once: the prompt's set, then generated tokens outside it.
    for (int32_t token : state.prompt().tokens()) x[token] = repetition_penalized(x[token], params.repetition_penalty);
    for (const GeneratedTokenCount& g : state.generated()) {
      if (!g.in_prompt) x[g.token] = repetition_penalized(x[g.token], params.repetition_penalty);
    }
  }
  if (params.frequency_penalty != 0.0 || params.presence_penalty != 0.0) {
    for (const GeneratedTokenCount& g : state.generated()) {
      double penalty = params.frequency_penalty * g.count + params.presence_penalty;
      x[g.token] = static_cast<float>(static_cast<double>(x[g.token]) - penalty);
    }
  }
}

void Sampler::apply_min_tokens_mask(const SamplingParams& params) {
  if (!params.ignore_eos) {
    for (int32_t token : config_.eos_token_ids) processed_[static_cast<size_t>(token)] = kNegInf;
  }
  for (int32_t token : params.stop_token_ids) processed_[static_cast<size_t>(token)] = kNegInf;
}

std::span<const float> Sampler::process_logits(std::span<const float> logits, const SamplingParams& params,
                                               const SequenceSamplingState& state) {
  DSV4_CHECK_MSG(static_cast<int64_t>(logits.size()) == config_.vocab, "logits row is not [vocab]");
  if (!needs_processing(params, state)) return logits;
  std::copy(logits.begin(), logits.end(), processed_.begin());
  apply_penalties(params, state);
  if (min_tokens_mask_active(params, state)) apply_min_tokens_mask(params);
  return processed_;
}

GeneratedToken Sampler::sample(std::span<const float> logits, const SamplingParams& params,
                               const SequenceSamplingState& state) {
  std::span<const float> x = process_logits(logits, params, state);
  Support support = build_support(x, TruncationSettings::from(params, config_.vocab), &truncation_);
  GeneratedToken out;
  double u = support.kind == SupportKind::kArgmax ? 0.0 : state.rng().uniform(static_cast<uint64_t>(state.n_generated()));
  out.token = draw_token(support, u);
  if (params.logprobs >= 0) fill_logprobs(logits, params.logprobs, &out, &logprobs_);
  return out;
}

std::optional<dsv4k::SampleRowParams> Sampler::device_row(const SamplingParams& params,
                                                          const SequenceSamplingState& state) const {
  if (needs_processing(params, state) || params.logprobs >= 0) return std::nullopt;
  const TruncationSettings t = TruncationSettings::from(params, config_.vocab);
  dsv4k::SampleRowParams row;
  row.temperature = t.temperature;
  row.inv_t = t.temperature > 0.0 ? static_cast<float>(1.0 / t.temperature) : 0.0f;
  row.top_k = t.top_k;
  row.top_p = t.top_p;
  row.min_p = t.min_p;
  row.ln_min_p = t.min_p > 0.0 ? std::log(t.min_p) : 0.0;
  row.u = t.temperature > 0.0 ? state.rng().uniform(static_cast<uint64_t>(state.n_generated())) : 0.0;
  return row;
}

SamplingDistribution Sampler::distribution(std::span<const float> logits, const SamplingParams& params,
                                           const SequenceSamplingState& state) {
  std::span<const float> x = process_logits(logits, params, state);
  Support support = build_support(x, TruncationSettings::from(params, config_.vocab), &truncation_);
  SamplingDistribution d;
  switch (support.kind) {
    case SupportKind::kArgmax:
      d.tokens.push_back(support.argmax);
      d.probabilities.push_back(1.0);
      break;
    case SupportKind::kCandidates:
      for (const Candidate& c : support.candidates) {
        d.tokens.push_back(c.token);
        d.probabilities.push_back(static_cast<double>(c.weight) / support.total);
      }
      break;
    case SupportKind::kWholeVocab:
      for (size_t i = 0; i < support.vocab_weights.size(); ++i) {
        d.tokens.push_back(static_cast<int32_t>(i));
        d.probabilities.push_back(static_cast<double>(support.vocab_weights[i]) / support.total);
      }
      break;
  }
  return d;
}

}  // namespace dsv4

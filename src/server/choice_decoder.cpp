// Tokens -> reasoning / content / tool-call events for one choice (see choice_decoder.h).
#include "server/choice_decoder.h"

#include <algorithm>

namespace dsv4::server {

using text::OutputEvent;
using text::OutputEventKind;

ChoiceDecoder::ChoiceDecoder(const text::Tokenizer& tokenizer, int32_t think_end_id, ChoiceDecoderOptions options)
    : tokenizer_(&tokenizer),
      think_end_id_(think_end_id),
      options_(std::move(options)),
      detok_(tokenizer, options_.parse_chat ? false : options_.skip_special_tokens),
      in_reasoning_(options_.parse_chat && options_.thinking_mode == text::ThinkingMode::kThinking) {
  if (options_.parse_chat) {
    text::OutputParserOptions po;
    po.thinking_mode = options_.thinking_mode;
    po.call_id_seed = options_.call_id_seed;
    parser_.emplace(po);
    if (!options_.prefill.empty()) {
      std::vector<OutputEvent> ignored;  // a prefill completes no event on its own but a tool start
      parser_->feed(options_.prefill, &ignored);
      pending_prefill_events_ = std::move(ignored);
    }
  }
}

void ChoiceDecoder::filter(std::vector<OutputEvent>* events, size_t from) const {
  if (options_.max_tool_calls == SIZE_MAX) return;
  auto dropped = [&](const OutputEvent& e) {
    switch (e.kind) {
      case OutputEventKind::kReasoningDelta:
      case OutputEventKind::kContentDelta:
        return false;
      case OutputEventKind::kToolCallStart:
      case OutputEventKind::kToolCallArgumentsDelta:
      case OutputEventKind::kToolCallEnd:
        return e.tool_index >= options_.max_tool_calls;
    }
    return false;
  };
  events->erase(std::remove_if(events->begin() + static_cast<std::ptrdiff_t>(from), events->end(), dropped),
                events->end());
}

void ChoiceDecoder::feed(const std::string& text, std::vector<OutputEvent>* out) {
  if (text.empty()) return;
  fed_.append(text);
  if (!parser_) {
    OutputEvent e;
    e.kind = OutputEventKind::kContentDelta;
    e.text = text;
    out->push_back(std::move(e));
    return;
  }
  const size_t from = out->size();
  parser_->feed(text, out);
  filter(out, from);
}

void ChoiceDecoder::cut_at_stop(std::string* final_piece) const {
  if (finish_ != FinishReason::kStop) return;
  if (std::find(options_.stops.begin(), options_.stops.end(), stop_reason_) == options_.stops.end()) return;
  const std::string& stop = stop_reason_;
  // The match may begin in text already fed only if the engine released a token that could
  // start it; search the tail of that text too and cut as early as still possible.
  const size_t keep = std::min(fed_.size(), stop.size() - 1);
  const std::string joined = fed_.substr(fed_.size() - keep) + *final_piece;
  const size_t at = joined.find(stop);
  if (at == std::string::npos) return;
  final_piece->resize(at > keep ? at - keep : 0);
}

void ChoiceDecoder::push(const StreamEvent& event, std::vector<OutputEvent>* out) {
  if (finished()) return;
  if (!pending_prefill_events_.empty()) {
    const size_t from = out->size();
    out->insert(out->end(), pending_prefill_events_.begin(), pending_prefill_events_.end());
    filter(out, from);
    pending_prefill_events_.clear();
  }
  std::string piece;
  for (const GeneratedToken& t : event.tokens) {
    ++n_tokens_;
    if (in_reasoning_) {
      ++n_reasoning_tokens_;
      if (t.token == think_end_id_) in_reasoning_ = false;
    }
    detok_.push(t.token, &piece);
  }
  if (event.finish == FinishReason::kNone) {
    feed(piece, out);
    return;
  }
  finish_ = event.finish;
  stop_reason_ = event.stop_reason;
  error_ = event.error;
  detok_.finish(&piece);
  cut_at_stop(&piece);
  feed(piece, out);
  if (!parser_) {
    summary_.content = fed_;
    return;
  }
  const bool saw_eos = finish_ == FinishReason::kStop && tokenizer_->eos_id() >= 0 &&
                       stop_reason_ == "token " + std::to_string(tokenizer_->eos_id());
  const size_t from = out->size();
  summary_ = parser_->finish(out, saw_eos);
  filter(out, from);
  if (summary_.tool_calls.size() > options_.max_tool_calls) summary_.tool_calls.resize(options_.max_tool_calls);
}

}  // namespace dsv4::server

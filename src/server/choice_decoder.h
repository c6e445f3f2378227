// One choice's generated tokens -> the text and tool-call events a response is built from.
//
// Per choice the server keeps an incremental detokenizer and, for chat, the DSML output
// parser. This class owns the rules between them:
//  * Stop strings: the engine releases the tokens that complete a match (holding back
//    tokens that could start one), so the final event carries the whole match; the text
//    is cut where the stop string begins and nothing after it is ever emitted.
//  * The end-of-sentence and stop tokens are not released by the engine; a stop on EOS is
//    reported to the parser (which then treats a partial marker as finished text).
//  * A prefill (forced tool call) is fed to the parser before the generated text.
//  * Tool calls beyond `max_tool_calls` (0 for tool_choice "none", 1 without parallel
//    calls) are dropped from events and summary: never emitted, never leaked as text.
//  * Reasoning tokens are the tokens generated up to and including </think>.
// Raw mode (completions) skips the parser: every piece is a content delta.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsv4/request.h"
#include "text/detokenizer.h"
#include "text/output_parser.h"
#include "text/tokenizer.h"

namespace dsv4::server {

struct ChoiceDecoderOptions {
  bool parse_chat = true;
  text::ThinkingMode thinking_mode = text::ThinkingMode::kThinking;
  uint64_t call_id_seed = 0;
  size_t max_tool_calls = SIZE_MAX;
  std::string prefill;
  bool skip_special_tokens = false;  // raw mode only (the parser needs </think> and DSML)
  std::vector<std::string> stops;    // the request's stop strings
};

class ChoiceDecoder {
 public:
  // The tokenizer must outlive the decoder.
  ChoiceDecoder(const text::Tokenizer& tokenizer, int32_t think_end_id, ChoiceDecoderOptions options);

  // Appends the events the tokens of `event` complete; on the choice's final event also
  // flushes everything held back and computes the summary.
  void push(const StreamEvent& event, std::vector<text::OutputEvent>* out);

  bool finished() const { return finish_ != FinishReason::kNone; }
  FinishReason finish() const { return finish_; }
  const std::string& stop_reason() const { return stop_reason_; }
  const std::string& error() const { return error_; }
  // Complete once finished(). In raw mode only `content` is filled.
  const text::OutputSummary& summary() const { return summary_; }
  int64_t n_reasoning_tokens() const { return n_reasoning_tokens_; }
  int64_t n_tokens() const { return n_tokens_; }

 private:
  void feed(const std::string& text, std::vector<text::OutputEvent>* out);
  void filter(std::vector<text::OutputEvent>* events, size_t from) const;
  void cut_at_stop(std::string* final_piece) const;

  const text::Tokenizer* tokenizer_;
  int32_t think_end_id_;
  ChoiceDecoderOptions options_;
  text::IncrementalDetokenizer detok_;
  std::optional<text::OutputParser> parser_;
  std::string fed_;                                        // every byte given to the parser (or emitted in raw mode)
  std::vector<text::OutputEvent> pending_prefill_events_;  // the prefill's, sent with the first push
  bool in_reasoning_;
  int64_t n_reasoning_tokens_ = 0;
  int64_t n_tokens_ = 0;
  FinishReason finish_ = FinishReason::kNone;
  std::string stop_reason_;
  std::string error_;
  text::OutputSummary summary_;
};

}  // namespace dsv4::server

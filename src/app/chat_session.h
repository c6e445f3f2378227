// One chat turn on the engine: render the conversation with the DSV4 chat encoding,
// submit it, and stream the answer through the output parser (reasoning, content and
// tool calls kept apart, no DSML markup leaking). Shared by `dsv4 run` and `dsv4 chat`.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "dsv4/engine.h"
#include "text/chat_encoding.h"
#include "text/output_parser.h"
#include "text/tokenizer.h"

namespace dsv4 {

struct ChatTurnOptions {
  text::ChatEncodeOptions encode;
  SamplingParams sampling;
};

struct ChatTurnResult {
  text::OutputSummary output;
  FinishReason finish = FinishReason::kNone;
  Usage usage;
  double seconds = 0.0;
  double first_token_seconds = 0.0;
};

// Renders `messages`, runs the turn and calls `on_event` for every parser event as tokens
// arrive. `interrupt` (may be null) is polled: when it becomes true the request is
// cancelled and the turn returns with what was generated so far.
Result<ChatTurnResult> run_chat_turn(Engine& engine, const text::Tokenizer& tokenizer,
                                     const std::vector<text::ChatMessage>& messages, const ChatTurnOptions& options,
                                     const std::function<void(const text::OutputEvent&)>& on_event,
                                     const std::atomic<bool>* interrupt);

// The assistant message a finished turn adds to the conversation (reasoning and tool calls
// included, so that the next turn renders exactly what the model said).
text::ChatMessage assistant_message(const ChatTurnResult& turn);

// Terminal rendering of parser events: reasoning dimmed (on a terminal), content as is,
// tool calls as `[tool call name(args)]`.
class TerminalPrinter {
 public:
  explicit TerminalPrinter(bool color);
  void print(const text::OutputEvent& e);
  void end();

 private:
  bool color_;
  bool in_reasoning_ = false;
};

}  // namespace dsv4

#include "app/chat_session.h"

#include <chrono>
#include <cstdio>

namespace dsv4 {

Result<ChatTurnResult> run_chat_turn(Engine& engine, const text::Tokenizer& tokenizer,
                                     const std::vector<text::ChatMessage>& messages, const ChatTurnOptions& options,
                                     const std::function<void(const text::OutputEvent&)>& on_event,
                                     const std::atomic<bool>* interrupt) {
  DSV4_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, text::encode_chat_ids(tokenizer, messages, options.encode));
  GenerationRequest req;
  req.prompt = std::move(prompt);
  req.sampling = options.sampling;
  const auto t0 = std::chrono::steady_clock::now();
  DSV4_ASSIGN_OR_RETURN(std::shared_ptr<RequestStream> stream, engine.submit(std::move(req)));
  text::OutputParserOptions po;
  po.thinking_mode = options.encode.thinking_mode;
  po.call_id_seed = stream->id();
  text::TokenOutputParser parser(tokenizer, po);
  ChatTurnResult result;
  std::vector<text::OutputEvent> events;
  bool cancelled = false;
  StreamEvent ev;
  for (;;) {
    bool timed_out = false;
    if (!stream->next_for(&ev, std::chrono::milliseconds(50), &timed_out)) {
      if (!timed_out) break;  // the stream ended
      if (interrupt != nullptr && interrupt->load() && !cancelled) {
        stream->cancel();
        cancelled = true;
      }
      continue;
    }
    if (result.first_token_seconds == 0.0 && !ev.tokens.empty())
      result.first_token_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const GeneratedToken& t : ev.tokens) {
      events.clear();
      parser.push(t.token, &events);
      for (const text::OutputEvent& e : events) on_event(e);
    }
    if (ev.finish != FinishReason::kNone) result.finish = ev.finish;
    if (interrupt != nullptr && interrupt->load() && !cancelled) {
      stream->cancel();
      cancelled = true;
    }
  }
  events.clear();
  result.output = parser.finish(&events);
  for (const text::OutputEvent& e : events) on_event(e);
  result.usage = stream->usage();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

text::ChatMessage assistant_message(const ChatTurnResult& turn) {
  text::ChatMessage m;
  m.role = text::ChatRole::kAssistant;
  m.content = turn.output.content;
  if (!turn.output.reasoning.empty()) m.reasoning_content = turn.output.reasoning;
  for (const text::ParsedToolCall& c : turn.output.tool_calls) m.tool_calls.push_back({c.id, c.name, c.arguments});
  return m;
}

TerminalPrinter::TerminalPrinter(bool color) : color_(color) {}

void TerminalPrinter::print(const text::OutputEvent& e) {
  switch (e.kind) {
    case text::OutputEventKind::kReasoningDelta:
      if (!in_reasoning_ && color_) std::fputs("\033[2m", stdout);
      in_reasoning_ = true;
      std::fputs(e.text.c_str(), stdout);
      break;
    case text::OutputEventKind::kContentDelta:
      if (in_reasoning_) std::fputs(color_ ? "\033[0m\n\n" : "\n\n", stdout);
      in_reasoning_ = false;
      std::fputs(e.text.c_str(), stdout);
      break;
    case text::OutputEventKind::kToolCallStart:
      std::printf("\n[tool call %s(", e.name.c_str());
      break;
    case text::OutputEventKind::kToolCallArgumentsDelta:
      std::fputs(e.text.c_str(), stdout);
      break;
    case text::OutputEventKind::kToolCallEnd:
      std::fputs(")]\n", stdout);
      break;
  }
  std::fflush(stdout);
}

void TerminalPrinter::end() {
  if (in_reasoning_ && color_) std::fputs("\033[0m", stdout);
  in_reasoning_ = false;
  std::fputs("\n", stdout);
  std::fflush(stdout);
}

}  // namespace dsv4

// Streaming output parser: generated text -> reasoning, content and OpenAI tool calls.
//
// The model writes (thinking mode; the prompt ended with <think>)
//   reasoning </think> content [\n\n<｜DSML｜tool_calls> invokes </｜DSML｜tool_calls>] <EOS>
// and in chat mode the same without the reasoning part. The parser is fed text pieces as
// they are generated (any chunking) and emits events an OpenAI-compatible server turns
// into SSE deltas: reasoning / content deltas, tool-call start (id + name), argument
// deltas and tool-call end. The concatenated argument deltas of a call are its final
// `arguments` JSON: string="true" parameters become JSON strings, other values are kept
// as the model wrote them when they are valid JSON (else quoted as a string).
//
// Guarantees: text that could still turn out to be a marker (a partial "</think>",
// "<｜DSML｜", the "\n\n" before a tool block, an incomplete UTF-8 character) is held
// back until it is decided, so no DSML markup ever reaches content or reasoning,
// whatever the chunking. Any "｜DSML｜" outside a well-formed block ends content: the
// rest of the stream is the tool block, and if it is malformed or unfinished, finish()
// says so and hands back its raw text for error reporting instead of leaking it.
// Leniencies (the reference parser would reject): the "\n\n" before the block may be
// shorter, an <｜DSML｜invoke without the tool_calls wrapper opens a block, whitespace
// between tags is free, and a block may start inside unterminated reasoning.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/chat_encoding.h"
#include "text/detokenizer.h"

namespace dsv4::text {

enum class OutputEventKind : uint8_t {
  kReasoningDelta,
  kContentDelta,
  kToolCallStart,           // tool_index, id, name
  kToolCallArgumentsDelta,  // tool_index, text
  kToolCallEnd,             // tool_index
};

struct OutputEvent {
  OutputEventKind kind = OutputEventKind::kContentDelta;
  std::string text;
  size_t tool_index = 0;
  std::string id;
  std::string name;
};

enum class OutputEndState : uint8_t {
  kComplete,               // content (and any tool calls) ended cleanly
  kUnterminatedReasoning,  // the stream ended inside reasoning (no </think>)
  kUnfinishedToolCall,     // the stream ended inside a tool-call block
  kMalformedToolCall,      // the tool-call block broke the DSML grammar
};

struct ParsedToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON object text
};

struct OutputSummary {
  OutputEndState end_state = OutputEndState::kComplete;
  std::string reasoning;
  std::string content;
  std::vector<ParsedToolCall> tool_calls;  // completed calls only
  std::string raw_tool_text;               // the block's text when unfinished or malformed
  std::string error;                       // what was wrong, for those two states
  bool saw_eos = false;                    // the end-of-sentence text was seen
};

struct OutputParserOptions {
  ThinkingMode thinking_mode = ThinkingMode::kThinking;
  // Tool-call ids are "call_" + 24 characters derived from this seed and the call's
  // index; the server passes a random seed per request.
  uint64_t call_id_seed = 0;
};

class OutputParser {
 public:
  explicit OutputParser(const OutputParserOptions& options);

  // Appends the events this text piece completes. Text after the end-of-sentence text
  // is ignored.
  void feed(std::string_view text, std::vector<OutputEvent>* events);
  // Flushes held-back text and reports the end state. Call once, after the last feed.
  // `saw_eos`: the stream ended with the end-of-sentence token (fed as an id, not text).
  OutputSummary finish(std::vector<OutputEvent>* events, bool saw_eos = false);

 private:
  enum class Mode : uint8_t { kReasoning, kContent, kBlock, kMalformed, kStopped };
  enum class BlockStep : uint8_t { kOpen, kBetweenInvokes, kInvokeHeader, kInInvoke, kParamHeader, kParamValue };

  void run(std::vector<OutputEvent>* events);
  // Text mode (reasoning / content): returns false when it needs more text.
  bool step_text(std::vector<OutputEvent>* events);
  bool step_block(std::vector<OutputEvent>* events);
  bool step_open();
  bool step_between_invokes();
  bool step_invoke_header(std::vector<OutputEvent>* events);
  bool step_in_invoke(std::vector<OutputEvent>* events);
  bool step_param_header(std::vector<OutputEvent>* events);
  bool step_param_value(std::vector<OutputEvent>* events);
  bool expect_tag(std::string_view tag, bool* matched);
  void malformed(const std::string& what);
  void hand_over_partial_marker(std::vector<OutputEvent>* events);
  void emit_text(std::string_view text, std::vector<OutputEvent>* events);
  void emit_args(std::string_view text, std::vector<OutputEvent>* events);
  void consume(size_t n);
  std::string make_call_id(size_t index) const;

  OutputParserOptions options_;
  Mode mode_;
  BlockStep step_ = BlockStep::kOpen;
  std::string pending_;  // fed text not yet decided
  bool drop_leading_ws_ = false;
  bool implicit_block_ = false;  // opened by <｜DSML｜invoke without the tool_calls wrapper
  OutputSummary summary_;
  // The call being parsed.
  ParsedToolCall call_;
  bool call_open_ = false;
  std::vector<std::string> param_names_;
  bool param_is_string_ = false;
};

// Token-level front end: ids -> incremental detokenizer -> OutputParser. The
// end-of-sentence id ends the stream (the server stops there too).
class TokenOutputParser {
 public:
  TokenOutputParser(const Tokenizer& tokenizer, const OutputParserOptions& options);
  void push(int32_t id, std::vector<OutputEvent>* events);
  OutputSummary finish(std::vector<OutputEvent>* events);

 private:
  const Tokenizer* tokenizer_;
  IncrementalDetokenizer detok_;
  OutputParser parser_;
  bool ended_ = false;
  std::string piece_;
};

}  // namespace dsv4::text

// Streaming reasoning / content / DSML tool-call parser (see output_parser.h).
#include "text/output_parser.h"

#include <algorithm>

#include "text/chat_templates.h"
#include "text/json_dump.h"
#include "text/utf8.h"

namespace dsv4::text {
namespace {

constexpr std::string_view kBlockOpen = "<｜DSML｜tool_calls>";
constexpr std::string_view kBlockClose = "</｜DSML｜tool_calls>";
constexpr std::string_view kInvokeOpen = "<｜DSML｜invoke";
constexpr std::string_view kInvokeClose = "</｜DSML｜invoke>";
constexpr std::string_view kParamOpen = "<｜DSML｜parameter";
constexpr std::string_view kParamClose = "</｜DSML｜parameter>";
// A tag header (name="...") longer than this without its closing quote is malformed.
constexpr size_t kMaxHeaderBytes = 4096;

// Length of the longest proper prefix of `marker` that `s` ends with.
size_t partial_suffix(std::string_view s, std::string_view marker) {
  for (size_t k = std::min(s.size(), marker.size() - 1); k > 0; --k) {
    if (s.substr(s.size() - k) == marker.substr(0, k)) return k;
  }
  return 0;
}

// Bytes at the end of `s` that begin a UTF-8 character not yet complete.
size_t incomplete_utf8_tail(std::string_view s) {
  for (size_t k = 1; k <= std::min<size_t>(3, s.size()); ++k) {
    const auto b = static_cast<uint8_t>(s[s.size() - k]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back
    return utf8_sequence_length(b) > k ? k : 0;
  }
  return 0;
}

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

enum class Match : uint8_t { kYes, kNeedMore, kNo };

// Whether `s` starts with `tag`, or is too short to tell.
Match starts_with(std::string_view s, std::string_view tag) {
  if (s.substr(0, tag.size()) == tag) return Match::kYes;
  return tag.substr(0, s.size()) == s ? Match::kNeedMore : Match::kNo;
}

}  // namespace

OutputParser::OutputParser(const OutputParserOptions& options)
    : options_(options), mode_(options.thinking_mode == ThinkingMode::kThinking ? Mode::kReasoning : Mode::kContent) {}

std::string OutputParser::make_call_id(size_t index) const {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t x = options_.call_id_seed ^ (0x9E3779B97F4A7C15ULL * (index + 1));
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) {
    // splitmix64
    x += 0x9E3779B97F4A7C15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    id.push_back(kAlphabet[z % 62]);
  }
  return id;
}

void OutputParser::consume(size_t n) {
  if (mode_ == Mode::kBlock) summary_.raw_tool_text.append(pending_, 0, n);
  pending_.erase(0, n);
}

void OutputParser::emit_text(std::string_view raw, std::vector<OutputEvent>* events) {
  if (raw.empty()) return;
  // Every piece is made valid UTF-8 on its own (callers hold back a character that may still
  // be completed): a byte sequence cut by a marker or a tool block is replaced, so it can
  // never join bytes emitted later into a marker, and deltas are always valid JSON strings.
  const std::string text = to_valid_utf8(raw);
  const bool reasoning = mode_ == Mode::kReasoning;
  (reasoning ? summary_.reasoning : summary_.content).append(text);
  OutputEvent e;
  e.kind = reasoning ? OutputEventKind::kReasoningDelta : OutputEventKind::kContentDelta;
  e.text = text;
  events->push_back(std::move(e));
}

void OutputParser::emit_args(std::string_view text, std::vector<OutputEvent>* events) {
  if (text.empty()) return;
  call_.arguments.append(text);
  OutputEvent e;
  e.kind = OutputEventKind::kToolCallArgumentsDelta;
  e.tool_index = summary_.tool_calls.size();
  e.text = std::string(text);
  events->push_back(std::move(e));
}

void OutputParser::malformed(const std::string& what) {
  summary_.error = what;
  summary_.raw_tool_text.append(pending_);
  pending_.clear();
  mode_ = Mode::kMalformed;
}

bool OutputParser::step_text(std::vector<OutputEvent>* events) {
  if (drop_leading_ws_) {
    size_t n = 0;
    while (n < pending_.size() && is_ws(pending_[n])) ++n;
    pending_.erase(0, n);
    if (pending_.empty()) return false;
    drop_leading_ws_ = false;
  }
  const bool reasoning = mode_ == Mode::kReasoning;
  const size_t dsml = pending_.find(kDsmlText);
  const size_t think = reasoning ? pending_.find(kThinkEndText) : std::string::npos;
  const size_t eos = pending_.find(kEosText);
  const size_t first = std::min({dsml, think, eos});
  if (first == std::string::npos) {
    // Hold back what may still become a marker, the "\n\n" that may precede a tool
    // block, and a split character; emit the rest.
    size_t hold = 0;
    for (std::string_view m : {kDsmlText, std::string_view("<｜DSML｜"), std::string_view("</｜DSML｜"), kEosText}) {
      hold = std::max(hold, partial_suffix(pending_, m));
    }
    if (reasoning) hold = std::max(hold, partial_suffix(pending_, kThinkEndText));
    size_t cut = pending_.size() - hold;
    for (int k = 0; k < 2 && cut > 0 && pending_[cut - 1] == '\n'; ++k) --cut;
    cut -= incomplete_utf8_tail(std::string_view(pending_).substr(0, cut));
    emit_text(std::string_view(pending_).substr(0, cut), events);
    consume(cut);
    return false;
  }
  if (first == think) {
    emit_text(std::string_view(pending_).substr(0, think), events);
    consume(think + kThinkEndText.size());
    mode_ = Mode::kContent;
    return true;
  }
  if (first == eos) {
    emit_text(std::string_view(pending_).substr(0, eos), events);
    pending_.clear();
    summary_.saw_eos = true;
    if (reasoning) summary_.end_state = OutputEndState::kUnterminatedReasoning;
    mode_ = Mode::kStopped;
    return false;
  }
  // A DSML tag: the block starts at its '<' or '</'; up to two newlines before it belong
  // to the block separator, not to the text.
  size_t start = dsml;
  if (start >= 2 && pending_.compare(start - 2, 2, "</") == 0) start -= 2;
  else if (start >= 1 && pending_[start - 1] == '<') start -= 1;
  size_t text_end = start;
  for (int k = 0; k < 2 && text_end > 0 && pending_[text_end - 1] == '\n'; ++k) --text_end;
  emit_text(std::string_view(pending_).substr(0, text_end), events);
  pending_.erase(0, start);
  summary_.raw_tool_text.clear();
  mode_ = Mode::kBlock;
  step_ = BlockStep::kOpen;
  implicit_block_ = false;
  return true;
}

bool OutputParser::step_param_value(std::vector<OutputEvent>* events) {
  const size_t close = pending_.find(kParamClose);
  std::string out;
  if (param_is_string_) {
    size_t cut = close;
    if (close == std::string::npos) {
      cut = pending_.size() - partial_suffix(pending_, kParamClose);
      cut -= incomplete_utf8_tail(std::string_view(pending_).substr(0, cut));
    }
    append_python_json_escaped(std::string_view(pending_).substr(0, cut), &out);
    if (close != std::string::npos) out.push_back('"');
    emit_args(out, events);
    consume(close == std::string::npos ? cut : close + kParamClose.size());
  } else {
    if (close == std::string::npos) return false;  // non-string values are checked whole
    const std::string_view value = std::string_view(pending_).substr(0, close);
    if (parse_json(value).is_ok()) out.assign(value);
    else append_python_json_string(value, &out);  // not JSON: keep it, as a string
    emit_args(out, events);
    consume(close + kParamClose.size());
  }
  if (close == std::string::npos) return false;
  step_ = BlockStep::kInInvoke;
  return true;
}

bool OutputParser::step_block(std::vector<OutputEvent>* events) {
  if (step_ != BlockStep::kParamValue && step_ != BlockStep::kInvokeHeader && step_ != BlockStep::kParamHeader) {
    size_t n = 0;  // whitespace between tags is free
    while (n < pending_.size() && is_ws(pending_[n])) ++n;
    consume(n);
    if (pending_.empty()) return false;
  }
  switch (step_) {
    case BlockStep::kOpen: return step_open();
    case BlockStep::kBetweenInvokes: return step_between_invokes();
    case BlockStep::kInvokeHeader: return step_invoke_header(events);
    case BlockStep::kInInvoke: return step_in_invoke(events);
    case BlockStep::kParamHeader: return step_param_header(events);
    case BlockStep::kParamValue: return step_param_value(events);
  }
  return false;
}

bool OutputParser::step_open() {
  const Match open = starts_with(pending_, kBlockOpen);
  const Match invoke = starts_with(pending_, kInvokeOpen);
  if (open == Match::kYes) {
    consume(kBlockOpen.size());
    step_ = BlockStep::kBetweenInvokes;
    return true;
  }
  if (invoke == Match::kYes) {  // an invoke without the wrapper: repair
    implicit_block_ = true;
    step_ = BlockStep::kBetweenInvokes;
    return true;
  }
  if (open == Match::kNeedMore || invoke == Match::kNeedMore) return false;
  malformed("unexpected DSML markup outside a tool_calls block");
  return false;
}

bool OutputParser::step_between_invokes() {
  const Match invoke = starts_with(pending_, kInvokeOpen);
  const Match close = starts_with(pending_, kBlockClose);
  if (invoke == Match::kYes) {
    consume(kInvokeOpen.size());
    step_ = BlockStep::kInvokeHeader;
    return true;
  }
  if (close == Match::kYes) {
    consume(kBlockClose.size());
    summary_.raw_tool_text.clear();
    mode_ = Mode::kContent;
    drop_leading_ws_ = true;
    return true;
  }
  if (invoke == Match::kNeedMore || close == Match::kNeedMore) return false;
  malformed("expected <｜DSML｜invoke or </｜DSML｜tool_calls>");
  return false;
}

bool OutputParser::step_invoke_header(std::vector<OutputEvent>* events) {
  const size_t end = pending_.find("\">");
  if (end == std::string::npos) {
    if (pending_.size() > kMaxHeaderBytes) malformed("unterminated invoke header");
    return false;
  }
  size_t n = 0;
  while (n < end && is_ws(pending_[n])) ++n;
  if (pending_.compare(n, 6, "name=\"") != 0) {
    malformed("invoke without name=\"...\"");
    return false;
  }
  call_ = ParsedToolCall{make_call_id(summary_.tool_calls.size()), pending_.substr(n + 6, end - n - 6), ""};
  call_open_ = true;
  param_names_.clear();
  consume(end + 2);
  OutputEvent e;
  e.kind = OutputEventKind::kToolCallStart;
  e.tool_index = summary_.tool_calls.size();
  e.id = call_.id;
  e.name = call_.name;
  events->push_back(std::move(e));
  step_ = BlockStep::kInInvoke;
  return true;
}

bool OutputParser::step_in_invoke(std::vector<OutputEvent>* events) {
  const Match param = starts_with(pending_, kParamOpen);
  const Match close = starts_with(pending_, kInvokeClose);
  if (param == Match::kYes) {
    consume(kParamOpen.size());
    step_ = BlockStep::kParamHeader;
    return true;
  }
  if (close == Match::kYes) {
    consume(kInvokeClose.size());
    emit_args(param_names_.empty() ? "{}" : "}", events);
    OutputEvent e;
    e.kind = OutputEventKind::kToolCallEnd;
    e.tool_index = summary_.tool_calls.size();
    events->push_back(std::move(e));
    summary_.tool_calls.push_back(std::move(call_));
    call_open_ = false;
    step_ = BlockStep::kBetweenInvokes;
    return true;
  }
  if (param == Match::kNeedMore || close == Match::kNeedMore) return false;
  malformed("expected <｜DSML｜parameter or </｜DSML｜invoke>");
  return false;
}

bool OutputParser::step_param_header(std::vector<OutputEvent>* events) {
  const size_t sep = pending_.find("\" string=\"");
  if (sep == std::string::npos) {
    if (pending_.size() > kMaxHeaderBytes) malformed("unterminated parameter header");
    return false;
  }
  const std::string_view rest = std::string_view(pending_).substr(sep + 10);
  const Match t = starts_with(rest, "true\">");
  const Match f = starts_with(rest, "false\">");
  if (t == Match::kNeedMore || f == Match::kNeedMore) return false;
  size_t n = 0;
  while (n < sep && is_ws(pending_[n])) ++n;
  if ((t == Match::kNo && f == Match::kNo) || pending_.compare(n, 6, "name=\"") != 0) {
    malformed("parameter header is not name=\"...\" string=\"true|false\"");
    return false;
  }
  const std::string key = pending_.substr(n + 6, sep - n - 6);
  if (std::find(param_names_.begin(), param_names_.end(), key) != param_names_.end()) {
    malformed("duplicate parameter \"" + key + "\"");
    return false;
  }
  param_is_string_ = t == Match::kYes;
  std::string out = param_names_.empty() ? "{" : ", ";
  append_python_json_string(key, &out);
  out.append(param_is_string_ ? ": \"" : ": ");
  emit_args(out, events);
  param_names_.push_back(key);
  consume(sep + 10 + (param_is_string_ ? 6 : 7));
  step_ = BlockStep::kParamValue;
  return true;
}

void OutputParser::run(std::vector<OutputEvent>* events) {
  bool progressed = true;
  while (progressed) {
    switch (mode_) {
      case Mode::kReasoning:
      case Mode::kContent: progressed = step_text(events); break;
      case Mode::kBlock: progressed = step_block(events); break;
      case Mode::kMalformed:
        summary_.raw_tool_text.append(pending_);
        pending_.clear();
        progressed = false;
        break;
      case Mode::kStopped:
        pending_.clear();
        progressed = false;
        break;
    }
  }
}

void OutputParser::feed(std::string_view text, std::vector<OutputEvent>* events) {
  if (mode_ == Mode::kStopped) return;
  pending_.append(text);
  run(events);
}

void OutputParser::hand_over_partial_marker(std::vector<OutputEvent>* events) {
  // A stream cut inside a DSML tag ("...<｜DSM") ends in an unfinished block, not in
  // content; a bare "<" or "<｜" is ordinary text ("<｜User｜>" starts the same way).
  size_t partial = 0;
  for (std::string_view m : {kDsmlText, std::string_view("<｜DSML｜"), std::string_view("</｜DSML｜")}) {
    partial = std::max(partial, partial_suffix(pending_, m));
  }
  const size_t start = pending_.size() - partial;
  if (pending_.find("｜D", start) == std::string::npos) return;
  size_t text_end = start;
  for (int k = 0; k < 2 && text_end > 0 && pending_[text_end - 1] == '\n'; ++k) --text_end;
  emit_text(std::string_view(pending_).substr(0, text_end), events);
  pending_.erase(0, start);
  summary_.raw_tool_text.clear();
  mode_ = Mode::kBlock;
  step_ = BlockStep::kOpen;
}

OutputSummary OutputParser::finish(std::vector<OutputEvent>* events, bool saw_eos) {
  run(events);
  summary_.saw_eos = summary_.saw_eos || saw_eos;
  // After the end-of-sentence token a partial tag cannot be a cut-off one.
  if (!saw_eos && (mode_ == Mode::kReasoning || mode_ == Mode::kContent)) hand_over_partial_marker(events);
  switch (mode_) {
    case Mode::kReasoning:
      // Held-back text (a partial marker, newlines, a split character) is plain text now.
      emit_text(pending_, events);
      summary_.end_state = OutputEndState::kUnterminatedReasoning;
      break;
    case Mode::kContent:
      if (!drop_leading_ws_) emit_text(pending_, events);
      break;
    case Mode::kBlock:
      if (implicit_block_ && step_ == BlockStep::kBetweenInvokes && pending_.empty()) {
        summary_.raw_tool_text.clear();  // a wrapper-less block has no closing tag to wait for
        break;
      }
      summary_.raw_tool_text.append(pending_);
      summary_.end_state = OutputEndState::kUnfinishedToolCall;
      summary_.error = call_open_ ? "the stream ended inside tool call \"" + call_.name + "\""
                                  : "the stream ended before </｜DSML｜tool_calls>";
      break;
    case Mode::kMalformed: summary_.end_state = OutputEndState::kMalformedToolCall; break;
    case Mode::kStopped: break;
  }
  pending_.clear();
  mode_ = Mode::kStopped;
  return summary_;
}

TokenOutputParser::TokenOutputParser(const Tokenizer& tokenizer, const OutputParserOptions& options)
    : tokenizer_(&tokenizer), detok_(tokenizer, /*skip_special_tokens=*/false), parser_(options) {}

void TokenOutputParser::push(int32_t id, std::vector<OutputEvent>* events) {
  if (ended_) return;
  if (id == tokenizer_->eos_id()) {
    ended_ = true;
    return;
  }
  piece_.clear();
  detok_.push(id, &piece_);
  parser_.feed(piece_, events);
}

OutputSummary TokenOutputParser::finish(std::vector<OutputEvent>* events) {
  piece_.clear();
  detok_.finish(&piece_);
  parser_.feed(piece_, events);
  return parser_.finish(events, ended_);
}

}  // namespace dsv4::text

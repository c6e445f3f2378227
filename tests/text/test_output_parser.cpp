// Streaming output parser. Property test: random reasoning, content and tool calls are
// rendered with the chat encoder, tokenized, streamed through the parser in random
// chunkings, and must come back exactly with no DSML markup in content or reasoning.
// Then the defined end states for truncated and malformed tool blocks.
#include <gtest/gtest.h>

#include <random>

#include "test_support.h"
#include "text/json_dump.h"
#include "text/output_parser.h"
#include "text/utf8.h"

namespace dsv4::text {
namespace {

using testing::real_tokenizer;

struct Generated {
  std::string reasoning;
  std::string content;
  std::vector<ChatToolCall> calls;  // arguments are Python-JSON objects
  ThinkingMode mode = ThinkingMode::kThinking;
};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string text(int max_words) {
    static const char* kPieces[] = {"hello", " world", "\n", "\n\n", "数据", "東京", "😀", "👨‍👩‍👧", " <", "</", ">",
                                    "\"quoted\"", "\\", "\t", "{", "}", "a < b", "<think>", "｜", "DSML", "<｜User｜>",
                                    " ", "  ", "x=1;", "é", "\r\n", "<tool_result>"};
    while (true) {
      std::string s;
      const int n = pick(0, max_words);
      for (int i = 0; i < n; ++i) s += kPieces[pick(0, static_cast<int>(std::size(kPieces)) - 1)];
      // Generated text is what a client would send back: it holds no DSML markup.
      if (s.find("｜DSML｜") == std::string::npos) return s;
    }
  }

  JsonValue value(int depth) {
    switch (pick(0, depth < 2 ? 6 : 4)) {
      case 0: return JsonValue::string(text(6));
      case 1: return JsonValue::number(std::to_string(pick(-1000, 100000)));
      case 2: return JsonValue::number(pick(0, 1) ? "2.5" : "-1e-07");
      case 3: return pick(0, 2) == 0 ? JsonValue::null() : JsonValue::boolean(pick(0, 1) == 1);
      case 4: return JsonValue::string("");
      case 5: {
        JsonValue a = JsonValue::array();
        for (int i = pick(0, 3); i > 0; --i) a.push_back(value(depth + 1));
        return a;
      }
      default: {
        JsonValue o = JsonValue::object();
        for (int i = pick(0, 3); i > 0; --i) o.set("k" + std::to_string(i), value(depth + 1));
        return o;
      }
    }
  }

  Generated case_() {
    static const char* kKeys[] = {"location", "query", "n", "flag", "路径", "a b", "x_1", "items"};
    static const char* kNames[] = {"get_weather", "search", "calc.add", "send-email", "查询"};
    Generated g;
    g.mode = pick(0, 3) == 0 ? ThinkingMode::kChat : ThinkingMode::kThinking;
    if (g.mode == ThinkingMode::kThinking) g.reasoning = text(30);
    g.content = text(30);
    for (int c = pick(0, 3) == 0 ? pick(1, 3) : 0; c > 0; --c) {
      JsonValue args = JsonValue::object();
      for (int k = pick(0, 4); k > 0; --k) args.set(kKeys[pick(0, 7)], value(0));
      g.calls.push_back({"call_" + std::to_string(c), kNames[pick(0, 4)], to_python_json(args)});
    }
    return g;
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  std::mt19937 rng_;
};

// The assistant turn as the model would write it after the generation prefix.
std::string render_completion(const Generated& g) {
  ChatMessage user;
  user.content = "q";
  ChatMessage assistant;
  assistant.role = ChatRole::kAssistant;
  assistant.content = g.content;
  assistant.reasoning_content = g.reasoning;
  assistant.tool_calls = g.calls;
  ChatEncodeOptions opts;
  opts.thinking_mode = g.mode;
  const std::string prefix = *encode_chat({user}, opts);
  const std::string full = *encode_chat({user, assistant}, opts);
  EXPECT_EQ(full.compare(0, prefix.size(), prefix), 0);
  return full.substr(prefix.size());
}

struct Collected {
  std::string reasoning;
  std::string content;
  std::vector<ParsedToolCall> calls;
  int n_open = 0;
};

// Folds events the way a server builds its response, checking their order.
Collected collect(const std::vector<OutputEvent>& events) {
  Collected c;
  for (const OutputEvent& e : events) {
    switch (e.kind) {
      case OutputEventKind::kReasoningDelta: c.reasoning += e.text; break;
      case OutputEventKind::kContentDelta: c.content += e.text; break;
      case OutputEventKind::kToolCallStart:
        EXPECT_EQ(e.tool_index, c.calls.size());
        EXPECT_EQ(c.n_open, 0);
        c.calls.push_back({e.id, e.name, ""});
        ++c.n_open;
        break;
      case OutputEventKind::kToolCallArgumentsDelta:
        EXPECT_EQ(e.tool_index + 1, c.calls.size());
        c.calls.back().arguments += e.text;
        break;
      case OutputEventKind::kToolCallEnd:
        EXPECT_EQ(e.tool_index + 1, c.calls.size());
        --c.n_open;
        break;
    }
    if (e.kind == OutputEventKind::kReasoningDelta || e.kind == OutputEventKind::kContentDelta) {
      EXPECT_TRUE(is_valid_utf8(e.text)) << "a delta split a character";
    }
  }
  return c;
}

void expect_round_trip(const Generated& g, const std::vector<OutputEvent>& events, const OutputSummary& s,
                       const std::string& how) {
  const Collected c = collect(events);
  EXPECT_EQ(s.end_state, OutputEndState::kComplete) << how << " " << s.error;
  EXPECT_TRUE(s.saw_eos) << how;
  EXPECT_EQ(c.reasoning, g.reasoning) << how;
  EXPECT_EQ(c.content, g.content) << how;
  EXPECT_EQ(s.reasoning, g.reasoning) << how;
  EXPECT_EQ(s.content, g.content) << how;
  EXPECT_EQ(c.reasoning.find("｜DSML｜"), std::string::npos) << how;
  EXPECT_EQ(c.content.find("｜DSML｜"), std::string::npos) << how;
  ASSERT_EQ(c.calls.size(), g.calls.size()) << how;
  ASSERT_EQ(s.tool_calls.size(), g.calls.size()) << how;
  for (size_t i = 0; i < g.calls.size(); ++i) {
    EXPECT_EQ(c.calls[i].name, g.calls[i].name) << how;
    EXPECT_EQ(c.calls[i].arguments, g.calls[i].arguments) << how;
    EXPECT_EQ(s.tool_calls[i].arguments, g.calls[i].arguments) << how;
    EXPECT_EQ(s.tool_calls[i].id, c.calls[i].id);
    EXPECT_EQ(c.calls[i].id.size(), 29u);
    if (i > 0) {
      EXPECT_NE(c.calls[i].id, c.calls[i - 1].id);
    }
  }
}

TEST(OutputParser, RoundTripThroughEncoderTokenizerAndRandomChunkings) {
  const Tokenizer* tok = real_tokenizer();
  ASSERT_NE(tok, nullptr);
  Generator gen(7);
  int n_with_calls = 0;
  for (int iter = 0; iter < 600; ++iter) {
    const Generated g = gen.case_();
    n_with_calls += g.calls.empty() ? 0 : 1;
    const std::string completion = render_completion(g);
    const OutputParserOptions opts{g.mode, static_cast<uint64_t>(iter)};

    // Token by token, as the server streams.
    {
      TokenOutputParser p(*tok, opts);
      std::vector<OutputEvent> events;
      for (int32_t id : tok->encode(completion)) p.push(id, &events);
      const OutputSummary s = p.finish(&events);
      expect_round_trip(g, events, s, "tokens");
    }
    // Text cut at random byte offsets (mid-character included), and one byte at a time.
    for (int variant = 0; variant < 2; ++variant) {
      OutputParser p(opts);
      std::vector<OutputEvent> events;
      size_t pos = 0;
      while (pos < completion.size()) {
        const size_t n = variant == 0 ? static_cast<size_t>(gen.pick(1, 12)) : 1;
        p.feed(std::string_view(completion).substr(pos, n), &events);
        pos += n;
      }
      const OutputSummary s = p.finish(&events);
      expect_round_trip(g, events, s, variant == 0 ? "random chunks" : "bytes");
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "first failing completion: " << completion;
      return;
    }
  }
  EXPECT_GE(n_with_calls, 100);
}

TEST(OutputParser, TruncatedStreamsEndInADefinedStateWithoutLeaking) {
  Generator gen(11);
  int n_unfinished = 0;
  for (int iter = 0; iter < 400; ++iter) {
    Generated g = gen.case_();
    if (g.calls.empty()) continue;
    const std::string completion = render_completion(g);
    const size_t block = completion.find("<｜DSML｜tool_calls>");
    // From "<｜D" on: a cut before that leaves only text that may be ordinary ("\n\n<｜").
    const size_t cut = static_cast<size_t>(gen.pick(static_cast<int>(block) + 5, static_cast<int>(completion.size()) - 30));
    OutputParser p({g.mode, 1});
    std::vector<OutputEvent> events;
    p.feed(std::string_view(completion).substr(0, cut), &events);
    const OutputSummary s = p.finish(&events);
    const Collected c = collect(events);
    EXPECT_EQ(c.content.find("｜DSML｜"), std::string::npos);
    EXPECT_EQ(c.reasoning.find("｜DSML｜"), std::string::npos);
    EXPECT_EQ(s.end_state, OutputEndState::kUnfinishedToolCall) << completion.substr(0, cut);
    EXPECT_EQ(s.content, g.content);
    EXPECT_FALSE(s.raw_tool_text.empty());
    EXPECT_EQ(s.raw_tool_text.rfind("<｜D", 0), 0u) << s.raw_tool_text;
    EXPECT_LE(s.tool_calls.size(), g.calls.size());
    ++n_unfinished;
  }
  EXPECT_GE(n_unfinished, 50);
}

OutputSummary parse_text(std::string_view text, ThinkingMode mode, std::vector<OutputEvent>* events) {
  OutputParser p({mode, 3});
  p.feed(text, events);
  return p.finish(events);
}

TEST(OutputParser, MalformedBlocksAreReportedWithTheirRawText) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"answer <｜DSML｜bogus>x", "outside a tool_calls block"},
      {"answer ｜DSML｜ stray", "outside a tool_calls block"},
      {"\n\n<｜DSML｜tool_calls>\nhello", "expected <｜DSML｜invoke"},
      {"\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke nme=\"f\">\n", "invoke without name"},
      {"\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"f\">\n<｜DSML｜parameter name=\"a\" string=\"maybe\">1</｜DSML｜parameter>",
       "parameter header"},
      {"\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"f\">\n<｜DSML｜parameter name=\"a\" string=\"true\">1</｜DSML｜parameter>\n"
       "<｜DSML｜parameter name=\"a\" string=\"true\">2</｜DSML｜parameter>",
       "duplicate parameter \"a\""},
  };
  for (const Case& c : cases) {
    std::vector<OutputEvent> events;
    const OutputSummary s = parse_text(c.text, ThinkingMode::kChat, &events);
    EXPECT_EQ(s.end_state, OutputEndState::kMalformedToolCall) << c.text;
    EXPECT_NE(s.error.find(c.error), std::string::npos) << s.error;
    EXPECT_EQ(s.content.find("DSML"), std::string::npos) << s.content;
    EXPECT_NE(s.raw_tool_text.find("DSML"), std::string::npos);
  }
}

TEST(OutputParser, ModesAndLeniencies) {
  std::vector<OutputEvent> events;
  // Thinking mode starts in reasoning; chat mode in content.
  OutputSummary s = parse_text("why</think>because<｜end▁of▁sentence｜>ignored", ThinkingMode::kThinking, &events);
  EXPECT_EQ(s.reasoning, "why");
  EXPECT_EQ(s.content, "because");
  EXPECT_TRUE(s.saw_eos);
  EXPECT_EQ(s.end_state, OutputEndState::kComplete);
  s = parse_text("plain</think>text", ThinkingMode::kChat, &events);
  EXPECT_EQ(s.content, "plain</think>text");
  // The stream stopped (length) inside the reasoning.
  s = parse_text("still thinking\n", ThinkingMode::kThinking, &events);
  EXPECT_EQ(s.end_state, OutputEndState::kUnterminatedReasoning);
  EXPECT_EQ(s.reasoning, "still thinking\n");
  // An invoke without the wrapper, after a single newline; a non-JSON non-string value.
  s = parse_text("ok\n<｜DSML｜invoke name=\"f\">\n<｜DSML｜parameter name=\"n\" string=\"false\">12 apples</｜DSML｜parameter>\n"
                 "</｜DSML｜invoke>",
                 ThinkingMode::kChat, &events);
  EXPECT_EQ(s.end_state, OutputEndState::kComplete) << s.error;
  EXPECT_EQ(s.content, "ok");
  ASSERT_EQ(s.tool_calls.size(), 1u);
  EXPECT_EQ(s.tool_calls[0].arguments, "{\"n\": \"12 apples\"}");
  // Tool calls straight out of unterminated reasoning.
  s = parse_text("hmm\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"g\">\n</｜DSML｜invoke>\n</｜DSML｜tool_calls>",
                 ThinkingMode::kThinking, &events);
  EXPECT_EQ(s.reasoning, "hmm");
  ASSERT_EQ(s.tool_calls.size(), 1u);
  EXPECT_EQ(s.tool_calls[0].arguments, "{}");
}

TEST(OutputParser, MarkerSplitAtEveryByteNeverLeaks) {
  const std::string text = "before\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"f\">\n"
                           "<｜DSML｜parameter name=\"q\" string=\"true\">v</｜DSML｜parameter>\n</｜DSML｜invoke>\n"
                           "</｜DSML｜tool_calls>";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    OutputParser p({ThinkingMode::kChat, 0});
    std::vector<OutputEvent> events;
    p.feed(std::string_view(text).substr(0, cut), &events);
    for (const OutputEvent& e : events) {
      if (e.kind == OutputEventKind::kContentDelta) {
        EXPECT_EQ(e.text.find("｜"), std::string::npos) << cut;
      }
    }
    p.feed(std::string_view(text).substr(cut), &events);
    const OutputSummary s = p.finish(&events);
    EXPECT_EQ(s.content, "before") << cut;
    ASSERT_EQ(s.tool_calls.size(), 1u) << cut;
    EXPECT_EQ(s.tool_calls[0].arguments, "{\"q\": \"v\"}");
  }
}

// Found by fuzz_output_parser: invalid UTF-8 around a tool block. Content ended in the first
// two bytes of "｜" just before the block and resumed with its last byte just after it, so the
// concatenated content spelled "<｜DSML｜invoke" although the model never wrote the marker
// there. Every delta is now valid UTF-8 on its own: the cut bytes become U+FFFD.
TEST(OutputParser, BytesCutByAToolBlockNeverJoinIntoAMarker) {
  const std::string text = std::string("see <\xEF\xBD") +
                           "<｜DSML｜invoke name=\"f\">\n</｜DSML｜invoke>\n</｜DSML｜tool_calls>" + "\x9C" +
                           "DSML｜invoke> tail \xFF";
  for (size_t chunk : {1, 2, 3, 4, 7, 1000}) {
    OutputParser p({ThinkingMode::kChat, 0});
    std::vector<OutputEvent> events;
    for (size_t pos = 0; pos < text.size(); pos += chunk) p.feed(std::string_view(text).substr(pos, chunk), &events);
    const OutputSummary s = p.finish(&events);
    std::string content;
    for (const OutputEvent& e : events) {
      if (e.kind != OutputEventKind::kContentDelta) continue;
      EXPECT_EQ(to_valid_utf8(e.text), e.text) << "chunk " << chunk;
      content += e.text;
    }
    EXPECT_EQ(content, s.content);
    EXPECT_EQ(content.find("｜DSML｜"), std::string::npos) << "chunk " << chunk << ": " << content;
  }
}

}  // namespace
}  // namespace dsv4::text

// libFuzzer target: the streaming DSML / reasoning parser on arbitrary text in arbitrary
// chunks. Checks that the deltas add up to the summary and that no DSML markup reaches
// content or reasoning.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "text/output_parser.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  using namespace dsv4::text;
  OutputParser parser({(data[0] & 1) ? ThinkingMode::kThinking : ThinkingMode::kChat, data[0]});
  const size_t chunk = 1 + data[1] % 16;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  std::vector<OutputEvent> events;
  for (size_t pos = 0; pos < text.size(); pos += chunk) parser.feed(text.substr(pos, chunk), &events);
  const OutputSummary s = parser.finish(&events, (data[0] & 2) != 0);
  std::string reasoning;
  std::string content;
  size_t n_arg_bytes = 0;
  for (const OutputEvent& e : events) {
    if (e.kind == OutputEventKind::kReasoningDelta) reasoning += e.text;
    if (e.kind == OutputEventKind::kContentDelta) content += e.text;
    if (e.kind == OutputEventKind::kToolCallArgumentsDelta) n_arg_bytes += e.text.size();
  }
  check(reasoning == s.reasoning && content == s.content, "deltas add up to the summary");
  // Only text the model wrote can hold the marker; content and reasoning never do.
  check(content.find("｜DSML｜") == std::string::npos, "no DSML in content");
  check(reasoning.find("｜DSML｜") == std::string::npos, "no DSML in reasoning");
  size_t n_final = 0;
  for (const ParsedToolCall& c : s.tool_calls) n_final += c.arguments.size();
  check(n_final <= n_arg_bytes, "completed arguments come from deltas");
  return 0;
}

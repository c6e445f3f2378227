// libFuzzer target: the chat encoder's JSON input (parser, validation, rendering) and the
// Python-compatible JSON writer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "text/chat_encoding.h"
#include "text/json_dump.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace dsv4::text;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto json = parse_json(text);
  if (json.is_ok()) {
    // Writing and re-reading must be stable.
    const std::string once = to_python_json(*json);
    auto again = parse_json(once);
    if (!again.is_ok() || to_python_json(*again) != once) {
      std::fprintf(stderr, "python JSON round trip broke\n");
      std::abort();
    }
  }
  auto messages = parse_chat_request(text);
  if (!messages.is_ok()) return 0;
  ChatEncodeOptions opts;
  opts.thinking_mode = (data[0] & 1) ? ThinkingMode::kThinking : ThinkingMode::kChat;
  opts.reasoning_effort = static_cast<ReasoningEffort>((data[0] >> 1) % 3);
  opts.drop_thinking = (data[0] & 8) != 0;
  opts.add_bos = (data[0] & 16) != 0;
  auto prompt = encode_chat(*messages, opts);
  if (!prompt.is_ok()) {
    std::fprintf(stderr, "validated messages failed to render: %s\n", prompt.status().to_string().c_str());
    std::abort();
  }
  return 0;
}

// The fixed texts of the DeepSeek-V4 prompt format (encoding/encoding_dsv4.py).
//
// These strings are part of the model's input format: the model was trained on them byte
// for byte. They are kept here, apart from the rendering logic, and a test checks each
// against the SHA-256 recorded in spec/dsv4-architecture.md §5.2.
#pragma once

#include <string_view>

namespace dsv4::text {

// Special-token texts used by the format.
inline constexpr std::string_view kBosText = "<｜begin▁of▁sentence｜>";
inline constexpr std::string_view kEosText = "<｜end▁of▁sentence｜>";
inline constexpr std::string_view kUserText = "<｜User｜>";
inline constexpr std::string_view kAssistantText = "<｜Assistant｜>";
inline constexpr std::string_view kLatestReminderText = "<｜latest_reminder｜>";
inline constexpr std::string_view kThinkStartText = "<think>";
inline constexpr std::string_view kThinkEndText = "</think>";
inline constexpr std::string_view kDsmlText = "｜DSML｜";

// REASONING_EFFORT_MAX: 476 bytes, goes right after BOS in thinking mode with effort max.
extern const std::string_view kReasoningEffortMaxText;
// response_format_template: 88 bytes before its "{schema}" is replaced.
extern const std::string_view kResponseFormatTemplate;
// TOOLS_TEMPLATE: 1,075 bytes before substitution of {dsml_token},
// {thinking_start_token}, {thinking_end_token} and {tool_schemas}.
extern const std::string_view kToolsTemplate;

}  // namespace dsv4::text

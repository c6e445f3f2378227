// The fixed texts of the DeepSeek-V4 prompt format. Copied byte-exactly from the
// reference encoder; tests/text/test_chat_templates.cpp checks their SHA-256.
#include "text/chat_templates.h"

namespace dsv4::text {

const std::string_view kReasoningEffortMaxText =
    "Reasoning Effort: Absolute maximum with no shortcuts permitted.\n"
    "You MUST be very thorough in your thinking and comprehensively decompose the problem to resolve the root cause, rigorously stress-testing your logic against all potential paths, edge cases, and adversarial scenarios.\n"
    "Explicitly write out your entire deliberation process, documenting every intermediate step, considered alternative, and rejected hypothesis to ensure absolutely no assumption is left unchecked.\n"
    "\n";

const std::string_view kResponseFormatTemplate =
    "## Response Format:\n"
    "\n"
    "You MUST strictly adhere to the following schema to reply:\n"
    "{schema}";

const std::string_view kToolsTemplate =
    "## Tools\n"
    "\n"
    "You have access to a set of tools to help answer the user's question. You can invoke tools by writing a \"<{dsml_token}tool_calls>\" block like the following:\n"
    "\n"
    "<{dsml_token}tool_calls>\n"
    "<{dsml_token}invoke name=\"$TOOL_NAME\">\n"
    "<{dsml_token}parameter name=\"$PARAMETER_NAME\" string=\"true|false\">$PARAMETER_VALUE</{dsml_token}parameter>\n"
    "...\n"
    "</{dsml_token}invoke>\n"
    "<{dsml_token}invoke name=\"$TOOL_NAME2\">\n"
    "...\n"
    "</{dsml_token}invoke>\n"
    "</{dsml_token}tool_calls>\n"
    "\n"
    "String parameters should be specified as is and set `string=\"true\"`. For all other types (numbers, booleans, arrays, objects), pass the value in JSON format and set `string=\"false\"`.\n"
    "\n"
    "If thinking_mode is enabled (triggered by {thinking_start_token}), you MUST output your complete reasoning inside {thinking_start_token}...{thinking_end_token} BEFORE any tool calls or final response.\n"
    "\n"
    "Otherwise, output directly after {thinking_end_token} with tool calls or final response.\n"
    "\n"
    "### Available Tool Schemas\n"
    "\n"
    "{tool_schemas}\n"
    "\n"
    "You MUST strictly follow the above defined tool name and parameter schemas to invoke tool calls.\n";

}  // namespace dsv4::text

// DeepSeek-V4 prompt rendering (see chat_encoding.h and spec §5.2).
#include "text/chat_encoding.h"

#include <algorithm>
#include <map>

#include "text/chat_templates.h"
#include "text/json_dump.h"

namespace dsv4::text {
namespace {

// One block of a user turn after tool messages are folded in.
struct Block {
  bool is_tool_result = false;
  const ChatMessage* source = nullptr;  // the user or tool message it came from
};

// A message as the reference renders it: tool messages folded into user turns, and the
// reasoning of early turns possibly dropped.
struct Turn {
  ChatRole role = ChatRole::kUser;
  const ChatMessage* source = nullptr;
  std::vector<Block> blocks;  // user turns only
  ChatTask task = ChatTask::kNone;
  bool keep_reasoning = true;
};

// Python str.format for the {name} placeholders of a fixed template (single pass, so
// substituted text containing braces is left alone).
std::string fill(std::string_view tmpl, const std::map<std::string_view, std::string_view>& values) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    const size_t open = tmpl.find('{', i);
    if (open == std::string_view::npos) break;
    const size_t close = tmpl.find('}', open);
    out.append(tmpl.substr(i, open - i));
    const auto it = values.find(tmpl.substr(open + 1, close - open - 1));
    out.append(it != values.end() ? it->second : tmpl.substr(open, close - open + 1));
    i = close + 1;
  }
  out.append(tmpl.substr(i));
  return out;
}

// merge_tool_messages: every user message opens a block list; tool results and plain
// user messages that follow join the previous user turn unless it carries a task.
std::vector<Turn> fold_tool_messages(const std::vector<ChatMessage>& messages) {
  std::vector<Turn> turns;
  for (const ChatMessage& m : messages) {
    const bool after_user = !turns.empty() && turns.back().role == ChatRole::kUser;
    if (m.role == ChatRole::kTool) {
      if (!after_user) turns.push_back(Turn{ChatRole::kUser, nullptr, {}, ChatTask::kNone, true});
      turns.back().blocks.push_back({true, &m});
    } else if (m.role == ChatRole::kUser) {
      // The reference checks the task of the turn it would join, not of this message,
      // whose task (and wo_eos) is then lost; reproduced as is.
      if (after_user && turns.back().task == ChatTask::kNone) {
        turns.back().blocks.push_back({false, &m});
      } else {
        turns.push_back(Turn{ChatRole::kUser, &m, {{false, &m}}, m.task, true});
      }
    } else {
      turns.push_back(Turn{m.role, &m, {}, m.task, true});
    }
  }
  return turns;
}

// sort_tool_results_by_call_order: tool results of a user turn follow the order of the
// latest assistant tool calls (stable; unknown ids sort as position 0).
void sort_tool_results(std::vector<Turn>* turns) {
  std::map<std::string, size_t> order;
  for (Turn& t : *turns) {
    if (t.role == ChatRole::kAssistant && !t.source->tool_calls.empty()) {
      order.clear();
      for (size_t i = 0; i < t.source->tool_calls.size(); ++i) {
        if (!t.source->tool_calls[i].id.empty()) order.emplace(t.source->tool_calls[i].id, i);
      }
      continue;
    }
    if (t.role != ChatRole::kUser || order.empty()) continue;
    std::vector<Block> results;
    for (const Block& b : t.blocks) {
      if (b.is_tool_result) results.push_back(b);
    }
    if (results.size() < 2) continue;
    auto rank = [&](const Block& b) {
      const auto it = order.find(b.source->tool_call_id);
      return it == order.end() ? size_t{0} : it->second;
    };
    std::stable_sort(results.begin(), results.end(), [&](const Block& a, const Block& b) { return rank(a) < rank(b); });
    size_t next = 0;
    for (Block& b : t.blocks) {
      if (b.is_tool_result) b = results[next++];
    }
  }
}

bool is_user_like(ChatRole role) { return role == ChatRole::kUser || role == ChatRole::kDeveloper; }

int last_user_index(const std::vector<Turn>& turns) {
  for (int i = static_cast<int>(turns.size()) - 1; i >= 0; --i) {
    if (is_user_like(turns[static_cast<size_t>(i)].role)) return i;
  }
  return -1;
}

// _drop_thinking_messages: before the last user turn, assistants lose their reasoning
// and developer turns disappear.
std::vector<Turn> drop_thinking(const std::vector<Turn>& turns) {
  const int last_user = last_user_index(turns);
  std::vector<Turn> out;
  for (size_t i = 0; i < turns.size(); ++i) {
    Turn t = turns[i];
    const bool kept_role = t.role == ChatRole::kUser || t.role == ChatRole::kSystem || t.role == ChatRole::kLatestReminder;
    if (kept_role || static_cast<int>(i) >= last_user) {
      out.push_back(std::move(t));
    } else if (t.role == ChatRole::kAssistant) {
      t.keep_reasoning = false;
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::string task_token(ChatTask task) {
  switch (task) {
    case ChatTask::kNone: return {};
    case ChatTask::kAction: return "<｜action｜>";
    case ChatTask::kQuery: return "<｜query｜>";
    case ChatTask::kAuthority: return "<｜authority｜>";
    case ChatTask::kDomain: return "<｜domain｜>";
    case ChatTask::kTitle: return "<｜title｜>";
    case ChatTask::kReadUrl: return "<｜read_url｜>";
  }
  return {};
}

// Python truthiness: the reference renders the response format only `if response_format`.
bool python_truthy(const JsonValue& v) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull: return false;
    case JsonValue::Kind::kBool: return v.as_bool();
    case JsonValue::Kind::kNumber: return python_number_text(v.text()).find_first_not_of("-0.") != std::string::npos;
    case JsonValue::Kind::kString:
    case JsonValue::Kind::kArray:
    case JsonValue::Kind::kObject: return v.is_string() ? !v.text().empty() : v.size() > 0;
  }
  return false;
}

void append_system_extras(const ChatMessage& m, std::string* out) {
  if (!m.tools.empty()) out->append("\n\n").append(render_tools_block(m.tools));
  if (m.response_format && python_truthy(*m.response_format)) {
    const std::string schema = to_python_json(*m.response_format);
    out->append("\n\n").append(fill(kResponseFormatTemplate, {{"schema", schema}}));
  }
}

void append_user_turn(const Turn& t, std::string* out) {
  out->append(kUserText);
  for (size_t i = 0; i < t.blocks.size(); ++i) {
    if (i > 0) out->append("\n\n");
    const ChatMessage& m = *t.blocks[i].source;
    if (!t.blocks[i].is_tool_result) {
      out->append(m.content);
      continue;
    }
    out->append("<tool_result>");
    if (m.content_parts) {
      for (size_t k = 0; k < m.content_parts->size(); ++k) {
        const ToolResultPart& p = (*m.content_parts)[k];
        if (k > 0) out->append("\n\n");
        if (p.type == "text") out->append(p.text);
        else out->append("[Unsupported " + p.type + "]");
      }
    } else {
      out->append(m.content);
    }
    out->append("</tool_result>");
  }
}

struct RenderContext {
  const std::vector<Turn>& turns;
  const ChatEncodeOptions& options;
  bool drop_thinking;
  int last_user;
};

void append_assistant_turn(const RenderContext& ctx, size_t index, std::string* out) {
  const ChatMessage& m = *ctx.turns[index].source;
  const bool thinking = ctx.options.thinking_mode == ThinkingMode::kThinking;
  const bool prev_has_task = index > 0 && ctx.turns[index - 1].task != ChatTask::kNone;
  if (thinking && !prev_has_task && (!ctx.drop_thinking || static_cast<int>(index) > ctx.last_user)) {
    if (ctx.turns[index].keep_reasoning && m.reasoning_content) out->append(*m.reasoning_content);
    out->append(kThinkEndText);
  }
  out->append(m.content);
  if (!m.tool_calls.empty()) out->append(render_dsml_tool_calls(m.tool_calls));
  if (!m.wo_eos) out->append(kEosText);
}

// What follows a turn: nothing if the next turn is not an assistant / latest_reminder;
// else the task tokens, or the generation prefix after a user / developer turn.
void append_transition(const RenderContext& ctx, size_t index, std::string* out) {
  const std::vector<Turn>& turns = ctx.turns;
  if (index + 1 < turns.size() && turns[index + 1].role != ChatRole::kAssistant &&
      turns[index + 1].role != ChatRole::kLatestReminder) {
    return;
  }
  const bool thinking = ctx.options.thinking_mode == ThinkingMode::kThinking;
  const Turn& t = turns[index];
  if (t.task == ChatTask::kAction) {
    out->append(kAssistantText).append(thinking ? kThinkStartText : kThinkEndText).append(task_token(t.task));
  } else if (t.task != ChatTask::kNone) {
    out->append(task_token(t.task));
  } else if (is_user_like(t.role)) {
    out->append(kAssistantText);
    const bool open_think = thinking && (!ctx.drop_thinking || static_cast<int>(index) >= ctx.last_user);
    out->append(open_think ? kThinkStartText : kThinkEndText);
  }
}

void append_turn(const RenderContext& ctx, size_t index, std::string* out) {
  const Turn& t = ctx.turns[index];
  if (index == 0 && ctx.options.thinking_mode == ThinkingMode::kThinking &&
      ctx.options.reasoning_effort == ReasoningEffort::kMax) {
    out->append(kReasoningEffortMaxText);
  }
  switch (t.role) {
    case ChatRole::kSystem:
      out->append(t.source->content);
      append_system_extras(*t.source, out);
      break;
    case ChatRole::kDeveloper:
      out->append(kUserText).append(t.source->content);
      append_system_extras(*t.source, out);
      break;
    case ChatRole::kUser: append_user_turn(t, out); break;
    case ChatRole::kLatestReminder: out->append(kLatestReminderText).append(t.source->content); break;
    case ChatRole::kAssistant: append_assistant_turn(ctx, index, out); break;
    case ChatRole::kTool: break;  // folded into user turns before rendering
  }
  append_transition(ctx, index, out);
}

void append_parameter(std::string_view key, const JsonValue& value, std::string* out) {
  out->append("<").append(kDsmlText).append("parameter name=\"").append(key).append("\" string=\"");
  if (value.is_string()) {
    out->append("true\">").append(value.text());
  } else {
    out->append("false\">");
    append_python_json(value, out);
  }
  out->append("</").append(kDsmlText).append("parameter>");
}

}  // namespace

std::string render_tools_block(const std::vector<JsonValue>& functions) {
  std::string schemas;
  for (size_t i = 0; i < functions.size(); ++i) {
    if (i > 0) schemas.push_back('\n');
    append_python_json(functions[i], &schemas);
  }
  return fill(kToolsTemplate, {{"tool_schemas", schemas},
                               {"dsml_token", kDsmlText},
                               {"thinking_start_token", kThinkStartText},
                               {"thinking_end_token", kThinkEndText}});
}

std::string render_dsml_tool_calls(const std::vector<ChatToolCall>& calls) {
  std::string out = "\n\n<";
  out.append(kDsmlText).append("tool_calls>\n");
  for (size_t i = 0; i < calls.size(); ++i) {
    if (i > 0) out.push_back('\n');
    out.append("<").append(kDsmlText).append("invoke name=\"").append(calls[i].name).append("\">\n");
    Result<JsonValue> args = parse_json(calls[i].arguments);
    if (args.is_ok() && args->is_object()) {
      for (size_t k = 0; k < args->size(); ++k) {
        if (k > 0) out.push_back('\n');
        append_parameter(args->keys()[k], args->items()[k], &out);
      }
    } else {
      // The reference's fallback for arguments that are not JSON.
      append_parameter("arguments", JsonValue::string(calls[i].arguments), &out);
    }
    out.append("\n</").append(kDsmlText).append("invoke>");
  }
  out.append("\n</").append(kDsmlText).append("tool_calls>");
  return out;
}

Result<std::string> encode_chat(const std::vector<ChatMessage>& messages, const ChatEncodeOptions& options) {
  DSV4_RETURN_IF_ERROR(validate_chat_messages(messages));
  std::vector<Turn> turns = fold_tool_messages(messages);
  sort_tool_results(&turns);
  const bool any_tools = std::any_of(messages.begin(), messages.end(), [](const ChatMessage& m) { return !m.tools.empty(); });
  const bool drop = options.drop_thinking && !any_tools;
  if (drop && options.thinking_mode == ThinkingMode::kThinking) turns = drop_thinking(turns);
  const RenderContext ctx{turns, options, drop, last_user_index(turns)};
  std::string prompt;
  if (options.add_bos) prompt.append(kBosText);
  for (size_t i = 0; i < turns.size(); ++i) append_turn(ctx, i, &prompt);
  return prompt;
}

Result<std::vector<int32_t>> encode_chat_ids(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages,
                                             const ChatEncodeOptions& options) {
  DSV4_ASSIGN_OR_RETURN(std::string prompt, encode_chat(messages, options));
  return tokenizer.encode(prompt, /*add_special_tokens=*/false);
}

}  // namespace dsv4::text

// Chat request body -> ChatPlan (see chat_request.h for the decisions).
#include "server/chat_request.h"

#include "server/request_fields.h"
#include "server/sampling_request.h"

namespace dsv4::server {
namespace {

using text::ChatMessage;
using text::ChatRole;
using text::JsonValue;
using text::ReasoningEffort;
using text::ThinkingMode;

constexpr const char* kDsml = "｜DSML｜";

Result<ReasoningEffort> effort_from_name(const std::string& name, const std::string& path, bool* thinking_off) {
  if (name == "none") {
    *thinking_off = true;
    return ReasoningEffort::kHigh;
  }
  if (name == "minimal" || name == "low" || name == "medium" || name == "high") return ReasoningEffort::kHigh;
  if (name == "xhigh" || name == "max") return ReasoningEffort::kMax;
  return invalid_argument(path + ": unknown effort \"" + name + "\" (expected none, low, medium, high, xhigh or max)");
}

Status read_thinking(const FieldReader& f, bool default_thinking, text::ChatEncodeOptions* enc) {
  bool thinking = default_thinking;
  ReasoningEffort effort = ReasoningEffort::kHigh;
  // Weakest first, so that stronger controls overwrite.
  std::optional<std::string> effort_name;
  DSV4_RETURN_IF_ERROR(f.read_string("reasoning_effort", &effort_name));
  if (effort_name) {
    bool off = false;
    DSV4_ASSIGN_OR_RETURN(effort, effort_from_name(*effort_name, "reasoning_effort", &off));
    if (off) thinking = false;
  }
  if (const JsonValue* kw = f.get("chat_template_kwargs")) {
    if (!kw->is_object()) return type_error("chat_template_kwargs", "an object", *kw);
    const FieldReader k(*kw, "chat_template_kwargs");
    std::optional<std::string> kw_effort;
    DSV4_RETURN_IF_ERROR(k.read_string("reasoning_effort", &kw_effort));
    if (kw_effort) {
      bool off = false;
      DSV4_ASSIGN_OR_RETURN(effort, effort_from_name(*kw_effort, "chat_template_kwargs.reasoning_effort", &off));
      if (off) thinking = false;
    }
    std::optional<bool> on;
    DSV4_RETURN_IF_ERROR(k.read_bool("enable_thinking", &on));
    DSV4_RETURN_IF_ERROR(k.read_bool("thinking", &on));
    if (on) thinking = *on;
  }
  if (const JsonValue* t = f.get("thinking")) {
    if (!t->is_object()) return type_error("thinking", "an object like {\"type\": \"enabled\"}", *t);
    std::optional<std::string> type;
    DSV4_RETURN_IF_ERROR(FieldReader(*t, "thinking").read_string("type", &type));
    if (!type || (*type != "enabled" && *type != "disabled")) {
      return invalid_argument("thinking.type: expected \"enabled\" or \"disabled\"");
    }
    thinking = *type == "enabled";
  }
  enc->thinking_mode = thinking ? ThinkingMode::kThinking : ThinkingMode::kChat;
  enc->reasoning_effort = effort;
  return Status::ok();
}

bool tool_listed(const std::vector<ChatMessage>& messages, const std::string& name) {
  for (const ChatMessage& m : messages) {
    for (const JsonValue& fn : m.tools) {
      const JsonValue* n = fn.find("name");
      if (n != nullptr && n->is_string() && n->text() == name) return true;
    }
  }
  return false;
}

Status read_tool_choice(const FieldReader& f, ChatPlan* plan) {
  const JsonValue* v = f.get("tool_choice");
  if (v == nullptr) return Status::ok();
  if (v->is_string()) {
    const std::string& s = v->text();
    if (s == "auto")
      plan->tool_choice = ToolChoice::kAuto;
    else if (s == "none")
      plan->tool_choice = ToolChoice::kNone;
    else if (s == "required")
      plan->tool_choice = ToolChoice::kRequired;
    else
      return invalid_argument("tool_choice: unknown value \"" + s + "\" (expected auto, none, required or a function)");
  } else if (v->is_object()) {
    const JsonValue* type = v->find("type");
    const JsonValue* fn = v->find("function");
    const JsonValue* name = fn != nullptr && fn->is_object() ? fn->find("name") : nullptr;
    if (type == nullptr || !type->is_string() || type->text() != "function") {
      return invalid_argument("tool_choice.type: expected \"function\"");
    }
    if (name == nullptr || !name->is_string() || name->text().empty()) {
      return invalid_argument("tool_choice.function.name: expected a non-empty string");
    }
    plan->tool_choice = ToolChoice::kNamed;
    plan->tool_name = name->text();
  } else {
    return type_error("tool_choice", "a string or an object", *v);
  }
  const bool forced = plan->tool_choice == ToolChoice::kRequired || plan->tool_choice == ToolChoice::kNamed;
  if (forced && !plan->has_tools) return invalid_argument("tool_choice: forcing a tool call needs `tools`");
  if (plan->tool_choice == ToolChoice::kNamed && !tool_listed(plan->messages, plan->tool_name)) {
    return invalid_argument("tool_choice.function.name: \"" + plan->tool_name + "\" is not one of the tools");
  }
  if (forced && plan->encode.thinking_mode == ThinkingMode::kThinking) {
    return invalid_argument(
        "tool_choice: \"required\" and named functions need thinking disabled (send \"thinking\": {\"type\": "
        "\"disabled\"} or \"reasoning_effort\": \"none\"), as in DeepSeek's API: a call can only be forced once the "
        "reasoning is over. Use tool_choice \"auto\" in thinking mode.");
  }
  if (plan->tool_choice == ToolChoice::kNone) {
    for (ChatMessage& m : plan->messages) m.tools.clear();
  }
  if (forced) {
    plan->prefill = std::string("\n\n<") + kDsml + "tool_calls>\n<" + kDsml + "invoke name=\"";
    if (plan->tool_choice == ToolChoice::kNamed) plan->prefill += plan->tool_name + "\">\n";
  }
  return Status::ok();
}

// The response format is rendered as the DeepSeek-V4 format does for a system message that
// carries one: attached to the first message, a system message inserted if there is none.
Status read_response_format(const FieldReader& f, ChatPlan* plan) {
  const JsonValue* v = f.get("response_format");
  if (v == nullptr) return Status::ok();
  if (!v->is_object()) return type_error("response_format", "an object", *v);
  std::optional<std::string> type;
  DSV4_RETURN_IF_ERROR(FieldReader(*v, "response_format").read_string("type", &type));
  if (!type) return invalid_argument("response_format.type: missing (expected text or json_object)");
  if (*type == "text") return Status::ok();
  if (*type == "json_schema") {
    return invalid_argument(
        "response_format.type: json_schema is not supported yet (no constrained decoding); use json_object, which "
        "asks for JSON in the prompt and checks the reply");
  }
  if (*type != "json_object") {
    return invalid_argument("response_format.type: unknown type \"" + *type + "\" (expected text or json_object)");
  }
  std::vector<ChatMessage>& m = plan->messages;
  if (m.empty() || m[0].role != ChatRole::kSystem) {
    ChatMessage system;
    system.role = ChatRole::kSystem;
    m.insert(m.begin(), std::move(system));
  } else if (m[0].response_format) {
    return invalid_argument("response_format: given both on the request and on messages[0]");
  }
  m[0].response_format = *v;
  plan->json_object = true;
  return Status::ok();
}

Status read_stream_options(const FieldReader& f, ChatPlan* plan) {
  std::optional<bool> stream;
  DSV4_RETURN_IF_ERROR(f.read_bool("stream", &stream));
  plan->stream = stream.value_or(false);
  if (const JsonValue* so = f.get("stream_options")) {
    if (!so->is_object()) return type_error("stream_options", "an object", *so);
    std::optional<bool> usage;
    DSV4_RETURN_IF_ERROR(FieldReader(*so, "stream_options").read_bool("include_usage", &usage));
    plan->include_usage = usage.value_or(false);
  }
  return Status::ok();
}

Status read_logprobs(const FieldReader& f, ChatPlan* plan) {
  std::optional<bool> lp;
  DSV4_RETURN_IF_ERROR(f.read_bool("logprobs", &lp));
  plan->logprobs = lp.value_or(false);
  std::optional<int64_t> top;
  DSV4_RETURN_IF_ERROR(f.read_int("top_logprobs", 0, 20, &top));
  if (top && !plan->logprobs) return invalid_argument("top_logprobs: needs \"logprobs\": true");
  plan->top_logprobs = static_cast<int32_t>(top.value_or(0));
  plan->sampling.logprobs = plan->logprobs ? plan->top_logprobs : -1;
  return Status::ok();
}

}  // namespace

Result<ChatPlan> parse_chat_plan(const JsonValue& body, bool default_thinking) {
  ChatPlan plan;
  const FieldReader f(body);
  DSV4_ASSIGN_OR_RETURN(plan.messages, text::parse_chat_request(body));
  for (const ChatMessage& m : plan.messages) plan.has_tools = plan.has_tools || !m.tools.empty();
  DSV4_RETURN_IF_ERROR(read_thinking(f, default_thinking, &plan.encode));
  DSV4_RETURN_IF_ERROR(read_tool_choice(f, &plan));
  std::optional<bool> parallel;
  DSV4_RETURN_IF_ERROR(f.read_bool("parallel_tool_calls", &parallel));
  plan.parallel_tool_calls = parallel.value_or(true);
  DSV4_RETURN_IF_ERROR(read_response_format(f, &plan));
  DSV4_RETURN_IF_ERROR(read_stream_options(f, &plan));
  DSV4_ASSIGN_OR_RETURN(SamplingFields s, read_sampling_fields(body, /*chat=*/true));
  plan.sampling = std::move(s.params);
  plan.max_tokens = s.max_tokens;
  DSV4_RETURN_IF_ERROR(read_logprobs(f, &plan));
  return plan;
}

}  // namespace dsv4::server

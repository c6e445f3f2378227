// OpenAI chat request JSON -> ChatMessage structs, and the cross-message checks.
#include "text/chat_message.h"

#include <set>

#include "core/log.h"

namespace dsv4::text {

const char* chat_role_name(ChatRole role) {
  switch (role) {
    case ChatRole::kSystem: return "system";
    case ChatRole::kUser: return "user";
    case ChatRole::kAssistant: return "assistant";
    case ChatRole::kTool: return "tool";
    case ChatRole::kDeveloper: return "developer";
    case ChatRole::kLatestReminder: return "latest_reminder";
  }
  return "?";
}

namespace {

Status type_error(const std::string& path, const char* expected, const JsonValue& got) {
  return invalid_argument(path + ": expected " + expected + ", got " + JsonValue::kind_name(got.kind()));
}

std::optional<ChatRole> role_from_name(std::string_view name) {
  for (ChatRole r : {ChatRole::kSystem, ChatRole::kUser, ChatRole::kAssistant, ChatRole::kTool, ChatRole::kDeveloper,
                     ChatRole::kLatestReminder}) {
    if (name == chat_role_name(r)) return r;
  }
  return std::nullopt;
}

Result<ChatTask> task_from_json(const JsonValue& v, const std::string& path) {
  if (v.is_null()) return ChatTask::kNone;
  if (!v.is_string()) return type_error(path, "a string", v);
  const std::string& t = v.text();
  if (t == "action") return ChatTask::kAction;
  if (t == "query") return ChatTask::kQuery;
  if (t == "authority") return ChatTask::kAuthority;
  if (t == "domain") return ChatTask::kDomain;
  if (t == "title") return ChatTask::kTitle;
  if (t == "read_url") return ChatTask::kReadUrl;
  return invalid_argument(path + ": unknown task \"" + t + "\" (expected action, query, authority, domain, title or read_url)");
}

// Text content: a string, an array of text parts, or (when allowed) null for "".
Status read_text_content(const JsonValue* v, bool null_ok, const std::string& path, std::string* out) {
  if (v == nullptr || v->is_null()) {
    if (null_ok) return Status::ok();
    return invalid_argument(path + ": this message needs text content (a string or an array of text parts)");
  }
  if (v->is_string()) {
    *out = v->text();
    return Status::ok();
  }
  if (!v->is_array()) return type_error(path, "a string or an array of text parts", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    const JsonValue& part = v->items()[i];
    const std::string p = path + "[" + std::to_string(i) + "]";
    const JsonValue* type = part.find("type");
    const JsonValue* text = part.find("text");
    if (!part.is_object() || type == nullptr || !type->is_string()) return invalid_argument(p + ": expected a content part with a \"type\"");
    if (type->text() != "text") {
      return invalid_argument(p + ": content parts of type \"" + type->text() + "\" are not supported (DeepSeek-V4 reads text only)");
    }
    if (text == nullptr || !text->is_string()) return invalid_argument(p + ".text: expected a string");
    if (i > 0) out->append("\n\n");
    out->append(text->text());
  }
  return Status::ok();
}

// Tool results keep array parts: the encoder renders non-text parts as the reference does.
Status read_tool_content(const JsonValue* v, const std::string& path, ChatMessage* m) {
  if (v == nullptr || !v->is_array()) return read_text_content(v, false, path, &m->content);
  std::vector<ToolResultPart> parts;
  for (size_t i = 0; i < v->size(); ++i) {
    const JsonValue& part = v->items()[i];
    const std::string p = path + "[" + std::to_string(i) + "]";
    const JsonValue* type = part.find("type");
    if (!part.is_object() || type == nullptr || !type->is_string()) return invalid_argument(p + ": expected a content part with a \"type\"");
    ToolResultPart r;
    r.type = type->text();
    if (r.type == "text") {
      const JsonValue* text = part.find("text");
      if (text == nullptr || !text->is_string()) return invalid_argument(p + ".text: expected a string");
      r.text = text->text();
    }
    parts.push_back(std::move(r));
  }
  m->content_parts = std::move(parts);
  return Status::ok();
}

// The "function" object of an OpenAI tool or tool call ({"type": "function", "function": {...}}).
Result<const JsonValue*> function_of(const JsonValue& item, const std::string& path, const char* what) {
  if (!item.is_object()) return type_error(path, "an object", item);
  const JsonValue* type = item.find("type");
  if (type != nullptr && !(type->is_string() && type->text() == "function")) {
    return invalid_argument(path + ".type: only \"function\" " + what + " are supported");
  }
  const JsonValue* function = item.find("function");
  if (function == nullptr || !function->is_object()) return invalid_argument(path + ".function: expected an object");
  return function;
}

Status read_tools(const JsonValue& v, const std::string& path, std::vector<JsonValue>* out) {
  if (v.is_null()) return Status::ok();
  if (!v.is_array()) return type_error(path, "an array", v);
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    DSV4_ASSIGN_OR_RETURN(const JsonValue* function, function_of(v.items()[i], p, "tools"));
    const JsonValue* name = function->find("name");
    if (name == nullptr || !name->is_string() || name->text().empty()) {
      return invalid_argument(p + ".function.name: expected a non-empty string");
    }
    out->push_back(*function);
  }
  return Status::ok();
}

Status read_tool_calls(const JsonValue& v, const std::string& path, std::vector<ChatToolCall>* out) {
  if (v.is_null()) return Status::ok();
  if (!v.is_array()) return type_error(path, "an array", v);
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const JsonValue& call = v.items()[i];
    DSV4_ASSIGN_OR_RETURN(const JsonValue* function, function_of(call, p, "tool calls"));
    ChatToolCall c;
    if (const JsonValue* id = call.find("id"); id != nullptr && !id->is_null()) {
      if (!id->is_string()) return type_error(p + ".id", "a string", *id);
      c.id = id->text();
    }
    const JsonValue* name = function->find("name");
    if (name == nullptr || !name->is_string()) return invalid_argument(p + ".function.name: expected a string");
    const JsonValue* arguments = function->find("arguments");
    if (arguments == nullptr || !arguments->is_string()) {
      return invalid_argument(p + ".function.arguments: expected a string holding a JSON object");
    }
    c.name = name->text();
    c.arguments = arguments->text();
    out->push_back(std::move(c));
  }
  return Status::ok();
}

// Fields that only some roles may carry.
Status check_role_fields(const JsonValue& msg, ChatRole role, const std::string& path) {
  auto present = [&](const char* key) {
    const JsonValue* v = msg.find(key);
    return v != nullptr && !v->is_null();
  };
  const bool sys_like = role == ChatRole::kSystem || role == ChatRole::kDeveloper;
  if (present("tools") && !sys_like) return invalid_argument(path + ".tools: only system and developer messages carry tools");
  if (present("response_format") && !sys_like) {
    return invalid_argument(path + ".response_format: only system and developer messages carry a response format");
  }
  if (present("tool_calls") && role != ChatRole::kAssistant) return invalid_argument(path + ".tool_calls: only assistant messages carry tool calls");
  if (present("wo_eos") && role != ChatRole::kAssistant) return invalid_argument(path + ".wo_eos: only for assistant messages");
  return Status::ok();
}

Status read_role_content(const JsonValue& msg, ChatRole role, const std::string& path, ChatMessage* m) {
  const JsonValue* content = msg.find("content");
  const std::string cpath = path + ".content";
  switch (role) {
    case ChatRole::kSystem:
    case ChatRole::kAssistant: return read_text_content(content, true, cpath, &m->content);
    case ChatRole::kUser:
    case ChatRole::kLatestReminder: return read_text_content(content, false, cpath, &m->content);
    case ChatRole::kDeveloper:
      DSV4_RETURN_IF_ERROR(read_text_content(content, false, cpath, &m->content));
      // The reference asserts non-empty developer content.
      if (m->content.empty()) return invalid_argument(cpath + ": a developer message needs non-empty content");
      return Status::ok();
    case ChatRole::kTool: {
      const JsonValue* id = msg.find("tool_call_id");
      if (id == nullptr || !id->is_string() || id->text().empty()) {
        return invalid_argument(path + ".tool_call_id: a tool message needs the id of the call it answers");
      }
      m->tool_call_id = id->text();
      return read_tool_content(content, cpath, m);
    }
  }
  return Status::ok();
}

Result<ChatMessage> read_message(const JsonValue& msg, const std::string& path) {
  if (!msg.is_object()) return type_error(path, "an object", msg);
  const JsonValue* role_json = msg.find("role");
  if (role_json == nullptr || !role_json->is_string()) return invalid_argument(path + ".role: expected a string");
  const std::optional<ChatRole> role = role_from_name(role_json->text());
  if (!role) {
    return invalid_argument(path + ".role: unknown role \"" + role_json->text() +
                            "\" (expected system, user, assistant, tool, developer or latest_reminder)");
  }
  DSV4_RETURN_IF_ERROR(check_role_fields(msg, *role, path));
  ChatMessage m;
  m.role = *role;
  DSV4_RETURN_IF_ERROR(read_role_content(msg, *role, path, &m));
  if (const JsonValue* rc = msg.find("reasoning_content"); rc != nullptr && !rc->is_null() && *role == ChatRole::kAssistant) {
    if (!rc->is_string()) return type_error(path + ".reasoning_content", "a string", *rc);
    m.reasoning_content = rc->text();
  }
  if (const JsonValue* v = msg.find("tool_calls")) DSV4_RETURN_IF_ERROR(read_tool_calls(*v, path + ".tool_calls", &m.tool_calls));
  if (const JsonValue* v = msg.find("tools")) DSV4_RETURN_IF_ERROR(read_tools(*v, path + ".tools", &m.tools));
  if (const JsonValue* v = msg.find("response_format"); v != nullptr && !v->is_null()) m.response_format = *v;
  if (const JsonValue* v = msg.find("task")) {
    DSV4_ASSIGN_OR_RETURN(m.task, task_from_json(*v, path + ".task"));
  }
  if (const JsonValue* v = msg.find("wo_eos"); v != nullptr && !v->is_null()) {
    if (v->kind() != JsonValue::Kind::kBool) return type_error(path + ".wo_eos", "a boolean", *v);
    m.wo_eos = v->as_bool();
  }
  return m;
}

}  // namespace

Result<std::vector<ChatMessage>> parse_chat_request(const JsonValue& request) {
  if (!request.is_object()) return type_error("request", "an object", request);
  const JsonValue* messages = request.find("messages");
  if (messages == nullptr) return invalid_argument("messages: missing");
  if (!messages->is_array()) return type_error("messages", "an array", *messages);
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages->size(); ++i) {
    DSV4_ASSIGN_OR_RETURN(ChatMessage m, read_message(messages->items()[i], "messages[" + std::to_string(i) + "]"));
    out.push_back(std::move(m));
  }
  std::vector<JsonValue> tools;
  if (const JsonValue* t = request.find("tools")) DSV4_RETURN_IF_ERROR(read_tools(*t, "tools", &tools));
  if (!tools.empty()) {
    if (out.empty() || out[0].role != ChatRole::kSystem) {
      ChatMessage system;
      system.role = ChatRole::kSystem;
      out.insert(out.begin(), std::move(system));
    } else if (!out[0].tools.empty()) {
      return invalid_argument("tools: given both on the request and on messages[0]");
    }
    out[0].tools = std::move(tools);
  }
  DSV4_RETURN_IF_ERROR(validate_chat_messages(out));
  return out;
}

Result<std::vector<ChatMessage>> parse_chat_request(std::string_view request_json) {
  DSV4_ASSIGN_OR_RETURN(JsonValue request, parse_json(request_json));
  return parse_chat_request(request);
}

namespace {

// The tool-call ids a tool message at `index` may answer: those of the assistant message
// before the run of tool messages it belongs to.
Status check_tool_message(const std::vector<ChatMessage>& messages, size_t index, std::set<std::string>* answered) {
  size_t a = index;
  while (a > 0 && messages[a - 1].role == ChatRole::kTool) --a;
  const std::string path = "messages[" + std::to_string(index) + "]";
  if (a == 0 || messages[a - 1].role != ChatRole::kAssistant || messages[a - 1].tool_calls.empty()) {
    return invalid_argument(path + ": a tool message must follow an assistant message with tool_calls");
  }
  if (a == index) answered->clear();
  const std::vector<ChatToolCall>& calls = messages[a - 1].tool_calls;
  std::string ids;
  for (const ChatToolCall& c : calls) {
    if (c.id == messages[index].tool_call_id) {
      if (!answered->insert(c.id).second) {
        return invalid_argument(path + ".tool_call_id: call \"" + c.id + "\" already has a result");
      }
      return Status::ok();
    }
    ids += (ids.empty() ? "\"" : ", \"") + c.id + "\"";
  }
  return invalid_argument(format("%s.tool_call_id: \"%s\" matches no tool call of messages[%zu] (ids: %s)", path.c_str(),
                                 messages[index].tool_call_id.c_str(), a - 1, ids.c_str()));
}

Status check_arguments(const ChatToolCall& call, const std::string& path) {
  Result<JsonValue> args = parse_json(call.arguments);
  // Text that is not JSON is allowed: it renders as one "arguments" parameter.
  if (args.is_ok() && !args->is_object()) {
    return invalid_argument(path + ".function.arguments: expected a JSON object, got " +
                            JsonValue::kind_name(args->kind()));
  }
  return Status::ok();
}

}  // namespace

Status validate_chat_messages(const std::vector<ChatMessage>& messages) {
  if (messages.empty()) return invalid_argument("messages: at least one message is required");
  std::set<std::string> answered;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    const std::string path = "messages[" + std::to_string(i) + "]";
    if (m.role == ChatRole::kTool) DSV4_RETURN_IF_ERROR(check_tool_message(messages, i, &answered));
    std::set<std::string> ids;
    for (size_t k = 0; k < m.tool_calls.size(); ++k) {
      const std::string p = path + ".tool_calls[" + std::to_string(k) + "]";
      DSV4_RETURN_IF_ERROR(check_arguments(m.tool_calls[k], p));
      if (!m.tool_calls[k].id.empty() && !ids.insert(m.tool_calls[k].id).second) {
        return invalid_argument(p + ".id: \"" + m.tool_calls[k].id + "\" is used by two calls of this message");
      }
    }
    if (m.role == ChatRole::kDeveloper && m.content.empty()) {
      return invalid_argument(path + ".content: a developer message needs non-empty content");
    }
  }
  return Status::ok();
}

}  // namespace dsv4::text

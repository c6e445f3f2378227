// An order-preserving JSON value with Python `json.loads` semantics.
//
// The DeepSeek-V4 prompt embeds client JSON (tool schemas, tool-call arguments,
// response formats) re-serialized by Python's json.dumps. Byte-exact prompts need the
// client's key order, Python's duplicate-key rule (the last value wins, at the first
// key's position), integers of any size and the literal number text; a general JSON
// library keeps none of these reliably, so the chat path parses with this one. Numbers
// keep their source text; json_dump.h turns them into Python's spelling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsv4/status.h"

namespace dsv4::text {

class JsonValue {
 public:
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  JsonValue() = default;
  static JsonValue null() { return {}; }
  static JsonValue boolean(bool v);
  static JsonValue string(std::string v);
  // `text` must be a JSON number literal or NaN / Infinity / -Infinity.
  static JsonValue number(std::string text);
  static JsonValue array() { return JsonValue(Kind::kArray); }
  static JsonValue object() { return JsonValue(Kind::kObject); }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool as_bool() const { return bool_; }
  // The string value, or the number's source text.
  const std::string& text() const { return text_; }
  // True for numbers without fraction or exponent (Python int).
  bool is_integer() const;

  // Array items, or object values (parallel to keys()).
  const std::vector<JsonValue>& items() const { return items_; }
  const std::vector<std::string>& keys() const { return keys_; }
  size_t size() const { return items_.size(); }

  // Object member lookup; nullptr if absent or not an object.
  const JsonValue* find(std::string_view key) const;

  // An object with these members; `keys` must be unique (the parser guarantees it).
  static JsonValue object_from(std::vector<std::string> keys, std::vector<JsonValue> values);

  void push_back(JsonValue v) { items_.push_back(std::move(v)); }
  // Python dict assignment: replaces the value of an existing key in place.
  void set(std::string key, JsonValue v);

  // "null", "boolean", "number", "string", "array" or "object" (for error messages).
  static const char* kind_name(Kind kind);

 private:
  explicit JsonValue(Kind kind) : kind_(kind) {}

  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<std::string> keys_;
  std::vector<JsonValue> items_;
};

// Parses one JSON document the way Python's json.loads does (NaN, Infinity and
// -Infinity accepted; control characters inside strings rejected). Errors name the
// byte offset. Lone surrogate escapes are rejected (they have no UTF-8 form), and
// nesting deeper than kMaxJsonDepth is refused rather than recursing without bound.
inline constexpr int kMaxJsonDepth = 512;
Result<JsonValue> parse_json(std::string_view text);

}  // namespace dsv4::text

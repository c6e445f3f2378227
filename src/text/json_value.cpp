// Recursive-descent JSON parser with Python json.loads semantics.
#include "text/json_value.h"

#include <unordered_map>

#include "core/log.h"
#include "text/utf8.h"

namespace dsv4::text {

JsonValue JsonValue::boolean(bool v) {
  JsonValue j(Kind::kBool);
  j.bool_ = v;
  return j;
}

JsonValue JsonValue::string(std::string v) {
  JsonValue j(Kind::kString);
  j.text_ = std::move(v);
  return j;
}

JsonValue JsonValue::number(std::string text) {
  JsonValue j(Kind::kNumber);
  j.text_ = std::move(text);
  return j;
}

JsonValue JsonValue::object_from(std::vector<std::string> keys, std::vector<JsonValue> values) {
  JsonValue j(Kind::kObject);
  j.keys_ = std::move(keys);
  j.items_ = std::move(values);
  return j;
}

bool JsonValue::is_integer() const {
  return kind_ == Kind::kNumber && text_.find_first_of(".eEIN") == std::string::npos;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

void JsonValue::set(std::string key, JsonValue v) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      items_[i] = std::move(v);
      return;
    }
  }
  keys_.push_back(std::move(key));
  items_.push_back(std::move(v));
}

const char* JsonValue::kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "boolean";
    case Kind::kNumber: return "number";
    case Kind::kString: return "string";
    case Kind::kArray: return "array";
    case Kind::kObject: return "object";
  }
  return "?";
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<JsonValue> parse_document() {
    if (!is_valid_utf8(s_)) return invalid_argument("invalid JSON: the text is not valid UTF-8");
    JsonValue v;
    DSV4_RETURN_IF_ERROR(parse_value(0, &v));
    skip_ws();
    if (pos_ != s_.size()) return error("extra data after the JSON value");
    return v;
  }

 private:
  Status error(const std::string& what) const {
    return invalid_argument(format("invalid JSON at byte %zu: %s", pos_, what.c_str()));
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool consume_literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }

  Status parse_value(int depth, JsonValue* out) {
    if (depth > kMaxJsonDepth) return error(format("nesting deeper than %d levels", kMaxJsonDepth));
    skip_ws();
    if (pos_ >= s_.size()) return error("expected a value, found the end of the text");
    const char c = s_[pos_];
    if (c == '{') return parse_object(depth, out);
    if (c == '[') return parse_array(depth, out);
    if (c == '"') {
      std::string str;
      DSV4_RETURN_IF_ERROR(parse_string(&str));
      *out = JsonValue::string(std::move(str));
      return Status::ok();
    }
    if (consume_literal("null")) {
      *out = JsonValue::null();
      return Status::ok();
    }
    if (consume_literal("true")) {
      *out = JsonValue::boolean(true);
      return Status::ok();
    }
    if (consume_literal("false")) {
      *out = JsonValue::boolean(false);
      return Status::ok();
    }
    // Python accepts these three non-standard constants.
    for (std::string_view lit : {"NaN", "Infinity", "-Infinity"}) {
      if (consume_literal(lit)) {
        *out = JsonValue::number(std::string(lit));
        return Status::ok();
      }
    }
    return parse_number(out);
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  Status parse_number(JsonValue* out) {
    const size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !is_digit(s_[pos_])) {
      pos_ = start;
      return error("expected a value");
    }
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    // Like Python's scanner, a fraction or exponent without digits ends the number
    // before the '.' / 'e' (which then fails as extra data).
    if (pos_ + 1 < s_.size() && s_[pos_] == '.' && is_digit(s_[pos_ + 1])) {
      pos_ += 1;
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
      if (p < s_.size() && is_digit(s_[p])) {
        while (p < s_.size() && is_digit(s_[p])) ++p;
        pos_ = p;
      }
    }
    *out = JsonValue::number(std::string(s_.substr(start, pos_ - start)));
    return Status::ok();
  }

  Status parse_hex4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return error("truncated \\u escape");
    uint32_t x = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_ + static_cast<size_t>(k)];
      uint32_t d = 0;
      if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
      else return error("invalid \\u escape");
      x = x * 16 + d;
    }
    pos_ += 4;
    *v = x;
    return Status::ok();
  }

  Status parse_unicode_escape(std::string* out) {
    uint32_t cp = 0;
    DSV4_RETURN_IF_ERROR(parse_hex4(&cp));
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (s_.substr(pos_, 2) != "\\u") return error("lone surrogate in \\u escape");
      pos_ += 2;
      uint32_t lo = 0;
      DSV4_RETURN_IF_ERROR(parse_hex4(&lo));
      if (lo < 0xDC00 || lo > 0xDFFF) return error("lone surrogate in \\u escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return error("lone surrogate in \\u escape");
    }
    append_utf8(static_cast<char32_t>(cp), out);
    return Status::ok();
  }

  Status parse_string(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      const size_t run = pos_;
      while (pos_ < s_.size() && s_[pos_] != '"' && s_[pos_] != '\\' && static_cast<uint8_t>(s_[pos_]) >= 0x20) ++pos_;
      out->append(s_.substr(run, pos_ - run));
      if (pos_ >= s_.size()) return error("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return Status::ok();
      }
      if (c != '\\') return error("control character inside a string");
      ++pos_;
      if (pos_ >= s_.size()) return error("unterminated string");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': DSV4_RETURN_IF_ERROR(parse_unicode_escape(out)); break;
        default: --pos_; return error("invalid escape in a string");
      }
    }
  }

  Status parse_array(int depth, JsonValue* out) {
    ++pos_;
    *out = JsonValue::array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Status::ok();
    }
    while (true) {
      JsonValue item;
      DSV4_RETURN_IF_ERROR(parse_value(depth + 1, &item));
      out->push_back(std::move(item));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return Status::ok();
      }
      return error("expected ',' or ']' in an array");
    }
  }

  Status parse_object(int depth, JsonValue* out) {
    ++pos_;
    *out = JsonValue::object();
    // Index of keys for Python's duplicate rule without quadratic scans on big objects.
    std::unordered_map<std::string, size_t> index;
    std::vector<std::string> keys;
    std::vector<JsonValue> values;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Status::ok();
    }
    while (true) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return error("expected a string key in an object");
      std::string key;
      DSV4_RETURN_IF_ERROR(parse_string(&key));
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return error("expected ':' after an object key");
      ++pos_;
      JsonValue value;
      DSV4_RETURN_IF_ERROR(parse_value(depth + 1, &value));
      auto [it, inserted] = index.try_emplace(key, keys.size());
      if (inserted) {
        keys.push_back(std::move(key));
        values.push_back(std::move(value));
      } else {
        values[it->second] = std::move(value);
      }
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        break;
      }
      return error("expected ',' or '}' in an object");
    }
    *out = JsonValue::object_from(std::move(keys), std::move(values));
    return Status::ok();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<JsonValue> parse_json(std::string_view text) { return Parser(text).parse_document(); }

}  // namespace dsv4::text

// Typed reading of request fields from the parsed body, with errors that name the field.
//
// Request bodies are parsed once with the text layer's JSON parser (Python json.loads
// semantics: the chat path needs the client's key order and literal numbers). These
// readers turn members of such an object into C++ values. A member that is absent or null
// leaves the output untouched (OpenAI treats null as "not given"); a member of the wrong
// type or out of range is refused with "<field>: expected ..., got ...", which
// openai_errors.h turns into a 400 with `param` = the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dsv4/status.h"
#include "text/json_value.h"

namespace dsv4::server {

class FieldReader {
 public:
  // `object` must outlive the reader; `path` prefixes field names in errors ("" at top level).
  FieldReader(const text::JsonValue& object, std::string path = {});

  // The member, or nullptr when absent or null.
  const text::JsonValue* get(std::string_view key) const;
  std::string path_of(std::string_view key) const;

  Status read_bool(std::string_view key, std::optional<bool>* out) const;
  Status read_string(std::string_view key, std::optional<std::string>* out) const;
  // Integers in [min, max]; an integral number written with a fraction or exponent (5.0,
  // 1e3) is accepted, as Python's pydantic does.
  Status read_int(std::string_view key, int64_t min, int64_t max, std::optional<int64_t>* out) const;
  // Finite numbers in [min, max].
  Status read_number(std::string_view key, double min, double max, std::optional<double>* out) const;

 private:
  const text::JsonValue* object_;
  std::string path_;
};

// The value of a number literal as a double (NaN / Infinity included).
double number_value(const text::JsonValue& v);
// An integer in [min, max], or an error naming `path`.
Result<int64_t> integer_value(const text::JsonValue& v, const std::string& path, int64_t min, int64_t max);

// "<path>: expected <what>, got <kind>".
Status type_error(const std::string& path, std::string_view what, const text::JsonValue& got);

}  // namespace dsv4::server

// JSON serialization byte-identical to Python's json.dumps(value, ensure_ascii=False).
//
// The prompt format embeds JSON written by the reference encoder with Python's default
// separators (", " and ": "), non-ASCII text left as is, only '"', '\\' and control
// characters escaped, integers in full and floats in repr() spelling. dsv4 must write
// the same bytes or the model sees a prompt it was not trained on.
#pragma once

#include <string>
#include <string_view>

#include "text/json_value.h"

namespace dsv4::text {

// Appends json.dumps(value, ensure_ascii=False).
void append_python_json(const JsonValue& value, std::string* out);
std::string to_python_json(const JsonValue& value);

// Appends json.dumps(str, ensure_ascii=False): the quoted, escaped string.
void append_python_json_string(std::string_view s, std::string* out);

// Appends the characters of a JSON string's body (escaped, without quotes); used when a
// string value is streamed in pieces.
void append_python_json_escaped(std::string_view s, std::string* out);

// Python's spelling of a number literal that json.loads read: int(literal) for
// integers, repr(float(literal)) otherwise ("Infinity", "-Infinity", "NaN" for those).
std::string python_number_text(std::string_view literal);

// repr(x) of a Python float, e.g. 1.0, 0.0001, 1e-05, 1e+16, -0.0, 1.7976931348623157e+308.
std::string python_float_repr(double x);

}  // namespace dsv4::text

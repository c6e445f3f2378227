// Python-compatible JSON writer (json.dumps with ensure_ascii=False, default separators).
#include "text/json_dump.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>

namespace dsv4::text {
namespace {

// Parses a JSON float literal as Python's float() does (correctly rounded; overflow
// gives an infinity and underflow a zero, without error).
double parse_float_literal(std::string_view literal) {
  double value = 0.0;
  const char* first = literal.data();
  const char* last = first + literal.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range) {
    const bool negative = !literal.empty() && literal[0] == '-';
    const size_t e = literal.find_first_of("eE");
    // Out of range means |x| overflowed (positive exponent) or underflowed to zero.
    const bool huge = e != std::string_view::npos && literal.substr(e + 1, 1) != "-";
    value = huge ? std::numeric_limits<double>::infinity() : 0.0;
    return negative ? -value : value;
  }
  (void)ptr;
  return value;
}

}  // namespace

std::string python_float_repr(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  // Shortest round-trip digits, as Python's repr (David Gay's mode 0) chooses them.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  std::string out;
  if (!sci.empty() && sci[0] == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::from_chars(sci.data() + e_pos + 1 + (sci[e_pos + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exponent);
  const int n_digits = static_cast<int>(digits.size());
  const int decpt = exponent + 1;  // value = 0.<digits> * 10^decpt
  if (decpt <= -4 || decpt > 16) {
    out.push_back(digits[0]);
    if (n_digits > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out.append(exp_buf);
  } else if (decpt <= 0) {
    out.append("0.");
    out.append(static_cast<size_t>(-decpt), '0');
    out.append(digits);
  } else if (decpt < n_digits) {
    out.append(digits, 0, static_cast<size_t>(decpt));
    out.push_back('.');
    out.append(digits, static_cast<size_t>(decpt), std::string::npos);
  } else {
    out.append(digits);
    out.append(static_cast<size_t>(decpt - n_digits), '0');
    out.append(".0");
  }
  return out;
}

std::string python_number_text(std::string_view literal) {
  if (literal == "NaN" || literal == "Infinity" || literal == "-Infinity") return std::string(literal);
  if (literal.find_first_of(".eE") != std::string_view::npos) return python_float_repr(parse_float_literal(literal));
  // JSON integers have no leading zeros, so only "-0" differs from int()'s spelling.
  if (literal == "-0") return "0";
  return std::string(literal);
}

void append_python_json_escaped(std::string_view s, std::string* out) {
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out->append(buf);
      }
    }
  }
  out->append(s.substr(run));
}

void append_python_json_string(std::string_view s, std::string* out) {
  out->push_back('"');
  append_python_json_escaped(s, out);
  out->push_back('"');
}

void append_python_json(const JsonValue& value, std::string* out) {
  switch (value.kind()) {
    case JsonValue::Kind::kNull: out->append("null"); return;
    case JsonValue::Kind::kBool: out->append(value.as_bool() ? "true" : "false"); return;
    case JsonValue::Kind::kNumber: out->append(python_number_text(value.text())); return;
    case JsonValue::Kind::kString: append_python_json_string(value.text(), out); return;
    case JsonValue::Kind::kArray: {
      out->push_back('[');
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out->append(", ");
        append_python_json(value.items()[i], out);
      }
      out->push_back(']');
      return;
    }
    case JsonValue::Kind::kObject: {
      out->push_back('{');
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out->append(", ");
        append_python_json_string(value.keys()[i], out);
        out->append(": ");
        append_python_json(value.items()[i], out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string to_python_json(const JsonValue& value) {
  std::string out;
  append_python_json(value, &out);
  return out;
}

}  // namespace dsv4::text

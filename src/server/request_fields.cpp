// Typed request field readers (see request_fields.h).
#include "server/request_fields.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace dsv4::server {

using text::JsonValue;

Status type_error(const std::string& path, std::string_view what, const JsonValue& got) {
  return invalid_argument(path + ": expected " + std::string(what) + ", got " + JsonValue::kind_name(got.kind()));
}

double number_value(const JsonValue& v) {
  const std::string& t = v.text();
  if (t == "NaN") return std::nan("");
  if (t == "Infinity") return HUGE_VAL;
  if (t == "-Infinity") return -HUGE_VAL;
  return std::strtod(t.c_str(), nullptr);  // overflow gives +-HUGE_VAL, which range checks refuse
}

namespace {

std::string range_text(int64_t min, int64_t max) {
  return "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

std::string text_of_bound(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

std::string short_literal(const std::string& text) { return text.size() <= 40 ? text : text.substr(0, 37) + "..."; }

}  // namespace

Result<int64_t> integer_value(const JsonValue& v, const std::string& path, int64_t min, int64_t max) {
  if (v.kind() != JsonValue::Kind::kNumber) return type_error(path, "an integer", v);
  const std::string& t = v.text();
  int64_t value = 0;
  if (v.is_integer()) {
    errno = 0;
    char* end = nullptr;
    const long long parsed = std::strtoll(t.c_str(), &end, 10);
    if (errno == ERANGE || end == t.c_str()) {
      return invalid_argument(path + ": " + short_literal(t) + " is out of range " + range_text(min, max));
    }
    value = static_cast<int64_t>(parsed);
  } else {
    const double d = number_value(v);
    if (!std::isfinite(d) || d != std::floor(d)) {
      return invalid_argument(path + ": expected an integer, got " + short_literal(t));
    }
    // 2^63 as a double: anything at or beyond it cannot be an int64.
    if (!(d > -9.2233720368547758e18 && d < 9.2233720368547758e18)) {
      return invalid_argument(path + ": " + short_literal(t) + " is out of range " + range_text(min, max));
    }
    value = static_cast<int64_t>(d);
  }
  if (value < min || value > max) {
    return invalid_argument(path + ": " + short_literal(t) + " is out of range " + range_text(min, max));
  }
  return value;
}

FieldReader::FieldReader(const JsonValue& object, std::string path) : object_(&object), path_(std::move(path)) {}

const JsonValue* FieldReader::get(std::string_view key) const {
  const JsonValue* v = object_->find(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::string FieldReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

Status FieldReader::read_bool(std::string_view key, std::optional<bool>* out) const {
  const JsonValue* v = get(key);
  if (v == nullptr) return Status::ok();
  if (v->kind() != JsonValue::Kind::kBool) return type_error(path_of(key), "a boolean", *v);
  *out = v->as_bool();
  return Status::ok();
}

Status FieldReader::read_string(std::string_view key, std::optional<std::string>* out) const {
  const JsonValue* v = get(key);
  if (v == nullptr) return Status::ok();
  if (!v->is_string()) return type_error(path_of(key), "a string", *v);
  *out = v->text();
  return Status::ok();
}

Status FieldReader::read_int(std::string_view key, int64_t min, int64_t max, std::optional<int64_t>* out) const {
  const JsonValue* v = get(key);
  if (v == nullptr) return Status::ok();
  DSV4_ASSIGN_OR_RETURN(*out, integer_value(*v, path_of(key), min, max));
  return Status::ok();
}

Status FieldReader::read_number(std::string_view key, double min, double max, std::optional<double>* out) const {
  const JsonValue* v = get(key);
  if (v == nullptr) return Status::ok();
  if (v->kind() != JsonValue::Kind::kNumber) return type_error(path_of(key), "a number", *v);
  const double d = number_value(*v);
  if (!std::isfinite(d) || d < min || d > max) {
    return invalid_argument(path_of(key) + ": " + short_literal(v->text()) + " is out of range [" + text_of_bound(min) +
                            ", " + text_of_bound(max) + "]");
  }
  *out = d;
  return Status::ok();
}

}  // namespace dsv4::server

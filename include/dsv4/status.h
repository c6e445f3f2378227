// Status and Result<T>: how every fallible dsv4 API reports failure.
//
// No exception crosses a library boundary. Functions that can fail on bad input
// (a corrupt checkpoint, a malformed request) return a Status or a Result<T>
// whose message names what was wrong precisely enough for a user to fix it.
// Internal invariants that only a bug can break use DSV4_CHECK (src/core/check.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace dsv4 {

enum class StatusCode : uint8_t {
  kOk,
  kInvalidArgument,     // the caller passed something malformed
  kNotFound,            // a named file, tensor or key does not exist
  kDataLoss,            // a file is corrupt or truncated
  kOutOfRange,          // a value is outside its allowed range
  kFailedPrecondition,  // the system is not in a state to do this
  kResourceExhausted,   // memory, pages or queue slots ran out
  kUnavailable,         // a device or service is not present
  kIoError,             // the operating system refused an operation
  kInternal,            // a bug
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", or "ok".
  std::string to_string() const;

  // Prefixes context ("loading shard 3: ") to the message, keeping the code.
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status failed_precondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status resource_exhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}     // NOLINT(google-explicit-constructor)

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return is_ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

inline const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid argument";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kDataLoss: return "data loss";
    case StatusCode::kOutOfRange: return "out of range";
    case StatusCode::kFailedPrecondition: return "failed precondition";
    case StatusCode::kResourceExhausted: return "resource exhausted";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kIoError: return "I/O error";
    case StatusCode::kInternal: return "internal error";
  }
  return "unknown";
}

inline std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

}  // namespace dsv4

#define DSV4_STATUS_CONCAT_INNER(a, b) a##b
#define DSV4_STATUS_CONCAT(a, b) DSV4_STATUS_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function if it is not ok.
#define DSV4_RETURN_IF_ERROR(expr)                   \
  do {                                               \
    ::dsv4::Status dsv4_status_tmp_ = (expr);        \
    if (!dsv4_status_tmp_.is_ok()) return dsv4_status_tmp_; \
  } while (0)

// Evaluates a Result<T> expression; on error returns its Status, else moves the value into `lhs`.
#define DSV4_ASSIGN_OR_RETURN(lhs, expr)                                          \
  auto DSV4_STATUS_CONCAT(dsv4_result_, __LINE__) = (expr);                       \
  if (!DSV4_STATUS_CONCAT(dsv4_result_, __LINE__).is_ok())                        \
    return DSV4_STATUS_CONCAT(dsv4_result_, __LINE__).status();                   \
  lhs = std::move(DSV4_STATUS_CONCAT(dsv4_result_, __LINE__)).value()

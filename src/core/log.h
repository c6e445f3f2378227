// Leveled logging to stderr. The level is part of the typed configuration that
// src/app builds; nothing here reads the environment.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

namespace dsv4 {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_message(LogLevel level, const std::string& message);

template <class... Args>
std::string format(const char* fmt, Args&&... args) {
  int n = std::snprintf(nullptr, 0, fmt, args...);
  if (n <= 0) return {};
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), fmt, args...);
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace dsv4

#define DSV4_LOG(level, ...)                                                   \
  do {                                                                         \
    if (static_cast<int>(level) >= static_cast<int>(::dsv4::log_level()))     \
      ::dsv4::log_message(level, ::dsv4::format(__VA_ARGS__));                 \
  } while (0)
#define DSV4_LOG_DEBUG(...) DSV4_LOG(::dsv4::LogLevel::kDebug, __VA_ARGS__)
#define DSV4_LOG_INFO(...) DSV4_LOG(::dsv4::LogLevel::kInfo, __VA_ARGS__)
#define DSV4_LOG_WARNING(...) DSV4_LOG(::dsv4::LogLevel::kWarning, __VA_ARGS__)
#define DSV4_LOG_ERROR(...) DSV4_LOG(::dsv4::LogLevel::kError, __VA_ARGS__)

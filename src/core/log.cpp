#include "core/log.h"

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <mutex>

#include "core/check.h"

namespace dsv4 {
namespace {

// The one process-wide logging knob: set once by src/app from the typed config.
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mutex;

const char* level_tag(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "?";
}

}  // namespace

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void log_message(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "[dsv4 %s] %s\n", level_tag(level), message.c_str());
}

void check_failed(const char* file, int line, const char* expr, const std::string& message) {
  std::fprintf(stderr, "dsv4: internal check failed at %s:%d: %s%s%s\n", file, line, expr,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace dsv4

// DSV4_CHECK: invariants that only a bug can break.
//
// Bad input is never checked with these (it gets a Status with a precise message);
// a failed check means dsv4 itself is wrong, so it prints where and aborts.
#pragma once

#include <string>

namespace dsv4 {

[[noreturn]] void check_failed(const char* file, int line, const char* expr, const std::string& message);

}  // namespace dsv4

#define DSV4_CHECK(cond)                                              \
  do {                                                                \
    if (!(cond)) ::dsv4::check_failed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define DSV4_CHECK_MSG(cond, message)                                      \
  do {                                                                     \
    if (!(cond)) ::dsv4::check_failed(__FILE__, __LINE__, #cond, (message)); \
  } while (0)

// Response JSON helpers (see json_out.h).
#include "server/json_out.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace dsv4::server {

std::string dump_json(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json float_json(float value) {
  if (!std::isfinite(value)) {
    // JSON has no infinities; a logprob of -inf (impossible token) is sent as the most
    // negative float, as vLLM does with -9999.0-style sentinels.
    return value < 0 ? Json(-9999.0) : Json(0.0);
  }
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  // The double nearest to the float's shortest decimal prints as that decimal.
  return Json(std::strtod(std::string(buf, r.ptr).c_str(), nullptr));
}

Json usd_json(double value) { return Json(std::round(value * 1e12) / 1e12); }

std::string usd_text(double value) {
  // Fixed-point for a header ("0.00000126", not "1.26e-06"), trailing zeros trimmed.
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.12f", std::round(value * 1e12) / 1e12);
  std::string s = buf;
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

namespace {

std::mt19937_64& thread_rng() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    const uint64_t hi = rd();
    return (hi << 32) ^ rd() ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }());
  return rng;
}

}  // namespace

std::string random_id(std::string_view prefix) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string id(prefix);
  std::mt19937_64& rng = thread_rng();
  for (int i = 0; i < 24; ++i) id.push_back(kAlphabet[rng() % 62]);
  return id;
}

uint64_t random_u64() { return thread_rng()(); }

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace dsv4::server

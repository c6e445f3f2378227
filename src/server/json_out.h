// Response JSON: the ordered JSON type, compact dumping, float spelling and response ids.
//
// Responses keep OpenAI's field order (ordered_json) and are written compactly, as OpenAI
// writes them. Text reaching a response has been through the UTF-8-safe detokenizer, but
// dumping still replaces invalid bytes instead of throwing, so no input can make a response
// fail to serialize.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dsv4::server {

using Json = nlohmann::ordered_json;

// Compact JSON; invalid UTF-8 in strings becomes U+FFFD.
std::string dump_json(const Json& value);

// A float (logprob) as the shortest decimal that reads back as the same float, so that
// -0.1f prints as -0.1 and not as its double expansion -0.10000000149011612.
Json float_json(float value);
// USD amounts, rounded to 1e-12 so that sums like 0.1 + 0.2 print cleanly: a JSON number
// for bodies, fixed-point text ("0.00000126") for the cost header.
Json usd_json(double value);
std::string usd_text(double value);

// "<prefix>" + 24 random alphanumerics ("chatcmpl-", "cmpl-").
std::string random_id(std::string_view prefix);
// 64 random bits (tool-call id seeds).
uint64_t random_u64();

int64_t unix_seconds_now();

}  // namespace dsv4::server

// UTF-8 validation and maximal-subpart lossy conversion (Unicode §3.9, Table 3-7).
#include "text/utf8.h"

namespace dsv4::text {
namespace {

// Well-formed sequences (Table 3-7): the lead byte fixes the length and the allowed
// range of the second byte; later bytes are always 80..BF.
struct LeadInfo {
  uint8_t length;  // 0: not a valid lead byte
  uint8_t second_lo;
  uint8_t second_hi;
};

LeadInfo lead_info(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

enum class Step : uint8_t { kValid, kInvalid, kIncomplete };

// Classifies the sequence at `s[i]`. kValid / kInvalid set *n to the bytes that form
// the character / the maximal invalid subpart.
Step classify(std::string_view s, size_t i, size_t* n) {
  const auto b = static_cast<uint8_t>(s[i]);
  const LeadInfo info = lead_info(b);
  if (info.length == 0) {
    *n = 1;
    return Step::kInvalid;
  }
  for (size_t k = 1; k < info.length; ++k) {
    if (i + k >= s.size()) return Step::kIncomplete;
    const auto c = static_cast<uint8_t>(s[i + k]);
    const uint8_t lo = k == 1 ? info.second_lo : 0x80;
    const uint8_t hi = k == 1 ? info.second_hi : 0xBF;
    if (c < lo || c > hi) {
      *n = k;
      return Step::kInvalid;
    }
  }
  *n = info.length;
  return Step::kValid;
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    // ASCII fast path: most input is ASCII-heavy.
    if (static_cast<uint8_t>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    if (classify(bytes, i, &n) != Step::kValid) return false;
    i += n;
  }
  return true;
}

size_t append_lossy_utf8(std::string_view bytes, bool final, std::string* out) {
  size_t i = 0;
  size_t run_start = 0;  // start of the pending run of valid bytes, copied in one go
  while (i < bytes.size()) {
    if (static_cast<uint8_t>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    const Step step = classify(bytes, i, &n);
    if (step == Step::kValid) {
      i += n;
      continue;
    }
    out->append(bytes.substr(run_start, i - run_start));
    if (step == Step::kIncomplete) {
      if (!final) return i;
      out->append(kReplacementChar);
      return bytes.size();
    }
    out->append(kReplacementChar);
    i += n;
    run_start = i;
  }
  out->append(bytes.substr(run_start, i - run_start));
  return i;
}

std::string to_valid_utf8(std::string_view bytes) {
  if (is_valid_utf8(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  append_lossy_utf8(bytes, /*final=*/true, &out);
  return out;
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace dsv4::text

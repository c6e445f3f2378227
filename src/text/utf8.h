// UTF-8 validity and lossy conversion.
//
// Every text path in dsv4 meets bytes that may not be valid UTF-8: client input
// before tokenization, and token byte strings that split a character. Invalid bytes
// are replaced by U+FFFD with the "maximal subpart" policy of Unicode §3.9 (the one
// Python's errors="replace" and Rust's from_utf8_lossy use), so that dsv4's output
// equals what the Hugging Face reference produces for the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dsv4::text {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

bool is_valid_utf8(std::string_view bytes);

// Appends the lossy conversion of `bytes` to `out`. With `final` false a trailing
// sequence that is a valid but incomplete prefix of a character is left unconsumed
// (more bytes may complete it); with `final` true it becomes one U+FFFD. Returns the
// number of bytes consumed. Appending the outputs of successive calls gives exactly
// the one-shot conversion of the concatenated input.
size_t append_lossy_utf8(std::string_view bytes, bool final, std::string* out);

// One-shot lossy conversion; returns `bytes` unchanged when it is valid.
std::string to_valid_utf8(std::string_view bytes);

// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for invalid leads).
inline size_t utf8_sequence_length(uint8_t lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return lead < 0xF8 ? 4 : 1;
}

// Appends the UTF-8 encoding of `cp` (must be a Unicode scalar value).
void append_utf8(char32_t cp, std::string* out);

}  // namespace dsv4::text

// The GPT-2 byte <-> character map of byte-level BPE.
//
// tokenizer.json spells every vocabulary entry with one printable character per raw
// byte (0x21..0x7E, 0xA1..0xAC and 0xAE..0xFF map to themselves, the other 68 bytes to
// U+0100..U+0143). dsv4 converts the vocabulary to raw bytes once at load and runs BPE on
// bytes, so this map is only used while loading and for HF-compatible decoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dsv4::text {

// The character that stands for `byte`.
char32_t byte_level_char(uint8_t byte);

// Converts a byte-level spelled token (UTF-8) to the raw bytes it stands for and
// appends them to `out`. Returns false, leaving `out` unchanged, if some character is
// not one of the 256 byte characters (or the text is not valid UTF-8).
bool byte_level_to_bytes(std::string_view spelled, std::string* out);

// The byte-level spelling (UTF-8) of raw bytes.
std::string bytes_to_byte_level(std::string_view bytes);

}  // namespace dsv4::text

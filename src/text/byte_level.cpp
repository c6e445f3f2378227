// GPT-2 byte <-> character map (bytes_to_unicode of the original GPT-2 encoder).
#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace dsv4::text {
namespace {

bool maps_to_itself(uint32_t b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteTables {
  std::array<char32_t, 256> byte_to_char{};
  std::array<int16_t, 0x144> char_to_byte{};  // every byte character is below U+0144

  ByteTables() {
    char_to_byte.fill(-1);
    char32_t next = 0x100;
    for (uint32_t b = 0; b < 256; ++b) {
      const char32_t c = maps_to_itself(b) ? static_cast<char32_t>(b) : next++;
      byte_to_char[b] = c;
      char_to_byte[c] = static_cast<int16_t>(b);
    }
  }
};

const ByteTables& tables() {
  static const ByteTables kTables;  // immutable after construction: safe to share
  return kTables;
}

}  // namespace

char32_t byte_level_char(uint8_t byte) { return tables().byte_to_char[byte]; }

bool byte_level_to_bytes(std::string_view spelled, std::string* out) {
  const ByteTables& t = tables();
  const size_t old_size = out->size();
  size_t i = 0;
  while (i < spelled.size()) {
    const auto b0 = static_cast<uint8_t>(spelled[i]);
    char32_t cp = 0;
    if (b0 < 0x80) {
      cp = b0;
      i += 1;
    } else if (b0 >= 0xC2 && b0 < 0xE0 && i + 1 < spelled.size()) {
      // Every byte character is below U+0800, so only 1- and 2-byte forms can map.
      const auto b1 = static_cast<uint8_t>(spelled[i + 1]);
      if ((b1 & 0xC0) != 0x80) {
        out->resize(old_size);
        return false;
      }
      cp = (static_cast<char32_t>(b0 & 0x1F) << 6) | (b1 & 0x3F);
      i += 2;
    } else {
      out->resize(old_size);
      return false;
    }
    if (cp >= t.char_to_byte.size() || t.char_to_byte[cp] < 0) {
      out->resize(old_size);
      return false;
    }
    out->push_back(static_cast<char>(t.char_to_byte[cp]));
  }
  return true;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(byte_level_char(static_cast<uint8_t>(c)), &out);
  return out;
}

}  // namespace dsv4::text

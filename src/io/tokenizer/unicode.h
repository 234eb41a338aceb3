// UTF-8 helpers and the Unicode character classes the pre-tokenizers need.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace as::tok {

// Character class bits.
enum : uint8_t {
  kLetter = 1,   // \p{L}
  kNumber = 2,   // \p{N}
  kSpace = 4,    // \s (Unicode White_Space)
  kNewline = 8,  // \r or \n
  kBlank = 16,   // U+0020
  kApos = 32,    // U+0027
};

// Decodes the code point starting at s[0] (n > 0 bytes available). Returns its length in bytes.
// A malformed or truncated sequence decodes as one byte with cp = U+FFFD.
inline int utf8_decode(const unsigned char* s, size_t n, uint32_t* cp) {
  const uint32_t c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  int len;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    *cp = 0xFFFD;
    return 1;
  }
  if (n < static_cast<size_t>(len)) {
    *cp = 0xFFFD;
    return 1;
  }
  for (int i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = 0xFFFD;
      return 1;
    }
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    *cp = 0xFFFD;
    return 1;
  }
  *cp = v;
  return len;
}

inline void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Class bits of a code point (see the enum above).
uint8_t char_class(uint32_t cp);

// True when every byte is ASCII.
bool is_ascii(std::string_view s);

// Unicode NFC normalization of UTF-8 text (malformed bytes become U+FFFD).
std::string nfc(std::string_view s);

}  // namespace as::tok

#include "io/tokenizer/unicode.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include <array>
#include <cstring>
#include <vector>

#include "common/error.h"

namespace as::tok {
namespace {

uint8_t classify(uint32_t cp) {
  uint8_t c = 0;
  switch (u_charType(static_cast<UChar32>(cp))) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      c |= kLetter;
      break;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
      c |= kNumber;
      break;
    default:
      break;
  }
  if (u_isUWhiteSpace(static_cast<UChar32>(cp))) c |= kSpace;
  if (cp == '\r' || cp == '\n') c |= kNewline;
  if (cp == ' ') c |= kBlank;
  if (cp == '\'') c |= kApos;
  return c;
}

// Classes of the Basic Multilingual Plane, computed once; other planes ask ICU directly.
const std::vector<uint8_t>& bmp_table() {
  static const std::vector<uint8_t> table = [] {
    std::vector<uint8_t> t(0x10000);
    for (uint32_t cp = 0; cp < 0x10000; ++cp) t[cp] = classify(cp);
    return t;
  }();
  return table;
}

}  // namespace

uint8_t char_class(uint32_t cp) {
  if (cp < 0x10000) return bmp_table()[cp];
  return classify(cp);
}

bool is_ascii(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0, n = s.size();
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) return false;
  }
  for (; i < n; ++i)
    if (p[i] & 0x80) return false;
  return true;
}

std::string nfc(std::string_view s) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* norm = icu::Normalizer2::getNFCInstance(err);
  if (U_FAILURE(err))
    throw Error(std::string("ICU NFC normalizer unavailable: ") + u_errorName(err));
  std::string out;
  out.reserve(s.size());
  icu::StringByteSink<std::string> sink(&out);
  norm->normalizeUTF8(0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink, nullptr,
                      err);
  if (U_FAILURE(err)) throw Error(std::string("NFC normalization failed: ") + u_errorName(err));
  return out;
}

}  // namespace as::tok

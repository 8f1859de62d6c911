#include "shared/base/text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace suite {
namespace {

// Decodes the code point at `s[i]`; returns its length in bytes, or 0 when the bytes there
// are not valid UTF-8 (truncated, overlong, surrogate or beyond U+10FFFF).
size_t Decode(absl::string_view s, size_t i, uint32_t* cp) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, *cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, *cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, *cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// Unicode's White_Space property.
bool IsWhiteSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

std::string CodePointName(uint32_t cp) { return absl::StrFormat("U+%04X", cp); }

}  // namespace

absl::optional<std::string> Utf8Problem(absl::string_view value) {
  uint32_t cp;
  for (size_t i = 0; i < value.size();) {
    const size_t len = Decode(value, i, &cp);
    if (len == 0) return absl::StrCat("is not valid UTF-8 at byte ", i);
    i += len;
  }
  return absl::nullopt;
}

absl::optional<std::string> TextProblem(absl::string_view value, TextKind kind, size_t max_chars,
                                        bool required) {
  // A cheap bound first, so a huge value is not scanned: no code point is over 4 bytes.
  if (value.size() > 4 * max_chars) {
    return absl::StrCat("must be at most ", max_chars, " characters (has more than ", 4 * max_chars,
                        " bytes)");
  }
  size_t chars = 0;
  bool blank = true;
  uint32_t cp;
  for (size_t i = 0; i < value.size(); ++chars) {
    const size_t len = Decode(value, i, &cp);
    if (len == 0) return absl::StrCat("is not valid UTF-8 at byte ", i);
    if (cp == 0) return absl::StrCat("must not contain U+0000 at byte ", i);
    const bool allowed_break = kind == TextKind::kProse && (cp == '\t' || cp == '\n' || cp == '\r');
    if (IsControl(cp) && !allowed_break) {
      return absl::StrCat("must not contain the control character ", CodePointName(cp), " at byte ",
                          i);
    }
    if (!IsWhiteSpace(cp)) blank = false;
    i += len;
  }
  if (chars > max_chars) {
    return absl::StrCat("must be at most ", max_chars, " characters (has ", chars, ")");
  }
  if (required && blank) {
    return std::string(value.empty() ? "must not be empty" : "must not be only white space");
  }
  return absl::nullopt;
}

size_t CharCount(absl::string_view value) {
  size_t n = 0;
  for (unsigned char c : value) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsBlank(absl::string_view value) {
  uint32_t cp;
  for (size_t i = 0; i < value.size();) {
    const size_t len = Decode(value, i, &cp);
    if (len == 0 || !IsWhiteSpace(cp)) return false;
    i += len;
  }
  return true;
}

std::string DescribeByteAt(absl::string_view value, size_t at) {
  if (at >= value.size()) return absl::StrCat("the end at byte ", at);
  uint32_t cp;
  if (Decode(value, at, &cp) == 0) {
    return absl::StrFormat("byte 0x%02X at byte %d", static_cast<unsigned char>(value[at]), at);
  }
  return absl::StrCat(CodePointName(cp), " at byte ", at);
}

}  // namespace suite

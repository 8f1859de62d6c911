#include "services/identity/domain/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/identity/errors.h"
#include "shared/base/uuid.h"
#include "shared/rpc/page_size.h"

namespace suite::identity {
namespace {

// CodePoints counts UTF-8 code points; -1 when `s` is not valid UTF-8 or holds a control
// character (below U+0020 or U+007F) and `allow_control` is false.
long CodePoints(absl::string_view s, bool allow_control) {
  long count = 0;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    if (c < 0x80) {
      if (!allow_control && (c < 0x20 || c == 0x7f)) return -1;
      len = 1;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      len = 4;
    } else {
      return -1;
    }
    if (i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return -1;
    }
    i += len;
    ++count;
  }
  return count;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

absl::StatusOr<std::string> NormalizeEmail(absl::string_view field, absl::string_view email) {
  std::string e = absl::AsciiStrToLower(absl::StripAsciiWhitespace(email));
  if (e.empty()) return errors::Invalid(field, "must not be empty");
  if (e.size() > kMaxEmailLength) return errors::Invalid(field, "must be at most 254 characters");
  if (CodePoints(e, /*allow_control=*/false) < 0) {
    return errors::Invalid(field, "must be valid UTF-8 without control characters");
  }
  const size_t at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos) {
    return errors::Invalid(field, "must be an e-mail address");
  }
  const absl::string_view domain = absl::string_view(e).substr(at + 1);
  const size_t dot = domain.find('.');
  if (domain.empty() || dot == absl::string_view::npos || dot == 0 ||
      domain.back() == '.' || e.find(' ') != std::string::npos) {
    return errors::Invalid(field, "must be an e-mail address");
  }
  return e;
}

absl::Status ValidateNewPassword(absl::string_view field, absl::string_view password) {
  if (password.size() > 4 * kMaxPasswordLength) {
    return errors::Invalid(field, "must be at most 128 characters");
  }
  const long n = CodePoints(password, /*allow_control=*/true);
  if (n < 0) return errors::Invalid(field, "must be valid UTF-8");
  if (n < static_cast<long>(kMinPasswordLength)) {
    return errors::Invalid(field, "must be at least 12 characters");
  }
  if (n > static_cast<long>(kMaxPasswordLength)) {
    return errors::Invalid(field, "must be at most 128 characters");
  }
  return absl::OkStatus();
}

absl::Status ValidatePresentedPassword(absl::string_view field, absl::string_view password) {
  if (password.empty()) return errors::Invalid(field, "must not be empty");
  if (password.size() > 4 * kMaxPasswordLength) {
    return errors::Invalid(field, "must be at most 128 characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateUuid(absl::string_view field, absl::string_view id) {
  if (id.empty()) return errors::Invalid(field, "must not be empty");
  if (!suite::IsUuid(id)) return errors::Invalid(field, "must be a UUID");
  return absl::OkStatus();
}

absl::Status ValidateText(absl::string_view field, absl::string_view text, size_t max_chars,
                          bool required) {
  if (required && text.empty()) return errors::Invalid(field, "must not be empty");
  if (text.size() > 4 * max_chars) {
    return errors::Invalid(field, absl::StrCat("must be at most ", max_chars, " characters"));
  }
  const long n = CodePoints(text, /*allow_control=*/false);
  if (n < 0) return errors::Invalid(field, "must be valid UTF-8 without control characters");
  if (n > static_cast<long>(max_chars)) {
    return errors::Invalid(field, absl::StrCat("must be at most ", max_chars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateIp(absl::string_view field, absl::string_view ip) {
  if (ip.empty()) return errors::Invalid(field, "must not be empty");
  if (ip.size() > kMaxIpLength) return errors::Invalid(field, "must be at most 64 characters");
  for (char c : ip) {
    if (!(IsHex(c) || c == '.' || c == ':')) return errors::Invalid(field, "must be an IP address");
  }
  return absl::OkStatus();
}

absl::Status ValidateRoleKey(absl::string_view field, absl::string_view key) {
  bool ok = !key.empty() && key.size() <= 64 && key[0] >= 'a' && key[0] <= 'z';
  for (size_t i = 0; ok && i < key.size(); ++i) {
    const char c = key[i];
    ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  }
  if (!ok) return errors::Invalid(field, "must match ^[a-z][a-z0-9_]{0,63}$");
  return absl::OkStatus();
}

absl::StatusOr<int> ValidatePageSize(int page_size) {
  return suite::rpc::PageLimit(page_size, /*default_size=*/50, /*max_size=*/100);
}

absl::StatusOr<int> ValidateUnpagedListPageSize(int page_size) {
  return suite::rpc::PageLimit(page_size, /*default_size=*/1000, /*max_size=*/1000);
}

}  // namespace suite::identity

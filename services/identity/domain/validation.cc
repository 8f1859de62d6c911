#include "services/identity/domain/validation.h"

#include "absl/strings/ascii.h"
#include "services/identity/domain/errors.h"
#include "shared/api/page_size.h"
#include "shared/base/text.h"

namespace suite::identity {
namespace {

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

absl::StatusOr<std::string> NormalizeEmail(absl::string_view field, absl::string_view email) {
  std::string e = absl::AsciiStrToLower(absl::StripAsciiWhitespace(email));
  // Characters, as the proto and the database's char_length check count them.
  if (auto problem = suite::TextProblem(e, suite::TextKind::kLine, kMaxEmailLength,
                                        /*required=*/true)) {
    return errors::Invalid(field, *problem);
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

// A password is not text the suite stores: it is hashed with its length (NUL and control
// characters included, none of them cut anything) and never shown, so any valid UTF-8 is
// allowed (NIST 800-63B: no composition rules).
absl::Status ValidateNewPassword(absl::string_view field, absl::string_view password) {
  if (password.size() > 4 * kMaxPasswordLength) {
    return errors::Invalid(field, "must be at most 128 characters");
  }
  if (auto problem = suite::Utf8Problem(password)) return errors::Invalid(field, *problem);
  const size_t n = suite::CharCount(password);
  if (n < kMinPasswordLength) return errors::Invalid(field, "must be at least 12 characters");
  if (n > kMaxPasswordLength) return errors::Invalid(field, "must be at most 128 characters");
  return absl::OkStatus();
}

absl::Status ValidatePresentedPassword(absl::string_view field, absl::string_view password) {
  if (password.empty()) return errors::Invalid(field, "must not be empty");
  if (password.size() > 4 * kMaxPasswordLength) {
    return errors::Invalid(field, "must be at most 128 characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateText(absl::string_view field, absl::string_view text, size_t max_chars,
                          bool required) {
  // Names, phone numbers, labels and user agents are one line: every control character is
  // refused (shared/base/text.h says why), NUL first of all, which PostgreSQL cannot store.
  if (auto problem = suite::TextProblem(text, suite::TextKind::kLine, max_chars, required)) {
    return errors::Invalid(field, *problem);
  }
  return absl::OkStatus();
}

absl::Status ValidateIp(absl::string_view field, absl::string_view ip) {
  if (ip.empty()) return errors::Invalid(field, "must not be empty");
  // Characters before length: only once they are all ASCII is a character a byte.
  for (char c : ip) {
    if (!(IsHex(c) || c == '.' || c == ':')) return errors::Invalid(field, "must be an IP address");
  }
  if (ip.size() > kMaxIpLength) return errors::Invalid(field, "must be at most 64 characters");
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
  return suite::api::PageLimit(page_size, /*default_size=*/50, /*max_size=*/100);
}

absl::StatusOr<int> ValidateUnpagedListPageSize(int page_size) {
  return suite::api::PageLimit(page_size, /*default_size=*/1000, /*max_size=*/1000);
}

}  // namespace suite::identity

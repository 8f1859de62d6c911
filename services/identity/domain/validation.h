// Input rules of the identity service, checked before anything touches the database. Each
// returns INVALID_ARGUMENT naming `field` (the request field, e.g. "email") on bad input.
//
//   SUITE_ASSIGN_OR_RETURN(std::string email, NormalizeEmail("email", request.email));
//   SUITE_RETURN_IF_ERROR(ValidateNewPassword("password", request.password));
#ifndef SUITE_SERVICES_IDENTITY_DOMAIN_VALIDATION_H_
#define SUITE_SERVICES_IDENTITY_DOMAIN_VALIDATION_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace suite::identity {

inline constexpr size_t kMaxEmailLength = 254;
inline constexpr size_t kMinPasswordLength = 12;   // NIST 800-63B floor (we ask more than 8)
inline constexpr size_t kMaxPasswordLength = 128;
inline constexpr size_t kMaxNameLength = 100;
inline constexpr size_t kMaxPhoneLength = 32;
inline constexpr size_t kMaxUserAgentLength = 512;
inline constexpr size_t kMaxIpLength = 64;
inline constexpr size_t kMaxAccountNameLength = 200;
inline constexpr size_t kMaxRoleLabelLength = 200;

// NormalizeEmail trims white space and lower-cases; requires one '@' with a non-empty local
// part and a domain containing a dot, no spaces or control characters, at most 254
// characters (code points, as the database's check counts them).
absl::StatusOr<std::string> NormalizeEmail(absl::string_view field, absl::string_view email);
// ValidateNewPassword: 12..128 characters (Unicode code points), valid UTF-8, no other rule
// (control characters included: the password is hashed with its length, never stored as text).
absl::Status ValidateNewPassword(absl::string_view field, absl::string_view password);
// ValidatePresentedPassword: non-empty and at most 128 characters' worth of bytes (4 × 128).
absl::Status ValidatePresentedPassword(absl::string_view field, absl::string_view password);
// ValidateText: one line of text under the suite's rule (shared/base/text.h, TextKind::kLine):
// valid UTF-8 without any control character (C0, DEL, C1; NUL above all), at most
// `max_chars` code points; empty allowed unless `required` (then only white space is refused
// too). The description names what is wrong and where: "must not contain U+0000 at byte 3".
absl::Status ValidateText(absl::string_view field, absl::string_view text, size_t max_chars,
                          bool required = false);
// ValidateIp: an IPv4 or IPv6 literal (digits, hex, '.', ':'), at most 64 characters.
absl::Status ValidateIp(absl::string_view field, absl::string_view ip);
// ValidateRoleKey: ^[a-z][a-z0-9_]{0,63}$.
absl::Status ValidateRoleKey(absl::string_view field, absl::string_view key);
// ValidatePageSize returns the rows to serve for a request's page_size: 0 means 50, more than
// 100 means 100; INVALID_ARGUMENT (page_size) when negative.
absl::StatusOr<int> ValidatePageSize(int page_size);
// ValidateUnpagedListPageSize is ValidatePageSize for the lists that returned up to 1000
// rows before they were paged (ListSessions, ListRoleAssignments): 0 and more than 1000 mean
// 1000, so a caller that never sends page_size sees what it saw before (AIP-158: adding
// pagination must not shrink an unpaged response).
absl::StatusOr<int> ValidateUnpagedListPageSize(int page_size);

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_DOMAIN_VALIDATION_H_

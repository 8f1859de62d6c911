// The rules of ListAuditEvents' request (protos/audit/v1/audit.proto), for the question bank:
// the page size, the filters, and the fingerprint that binds a page token to them.
//
//   SUITE_ASSIGN_OR_RETURN(int limit, AuditPageLimit(page_size));
//   SUITE_RETURN_IF_ERROR(ValidateAuditQuery(query));
//   const std::string scope = absl::StrCat("audit|", AuditQueryFingerprint(query));
//
// Every service serves the same messages with the same rules; this is the question bank's copy
// until a shared one exists (then this unit is replaced by it, the callers unchanged).
// Thread-safe: pure functions.
#ifndef SUITE_SERVICES_QUESTIONS_DOMAIN_AUDIT_QUERY_H_
#define SUITE_SERVICES_QUESTIONS_DOMAIN_AUDIT_QUERY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/questions/domain/model.h"

namespace suite::questions {

// Page sizes: 0 is the default; 1..kMaxAuditPageSize are served as asked.
inline constexpr int kDefaultAuditPageSize = 50;
inline constexpr int kMaxAuditPageSize = 100;
// The longest action or target id a filter may name (the stored ones are far shorter).
inline constexpr size_t kMaxAuditFilterChars = 200;

// AuditPageLimit returns the rows to serve: 50 for 0, page_size for 1..100; INVALID_ARGUMENT
// naming `page_size` otherwise (a size beyond the maximum is refused, not clamped).
absl::StatusOr<int> AuditPageLimit(int page_size);

// ValidateAuditQuery returns INVALID_ARGUMENT naming the first bad field: actor_user_id not a
// UUID; action or target_id not one line of text (shared/base/text.h) or too long; end_time
// not after start_time.
absl::Status ValidateAuditQuery(const AuditQuery& query);

// AuditQueryFingerprint is a digest of every filter, so a page token works only with the
// filters it was issued for.
std::string AuditQueryFingerprint(const AuditQuery& query);

// The keyset position in a page token: the seq of the last event served, as text, and back
// (INVALID_ARGUMENT page_token when the verified key is not a positive number).
std::string AuditCursorKey(int64_t seq);
absl::StatusOr<int64_t> AuditCursorSeq(absl::string_view key);

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_DOMAIN_AUDIT_QUERY_H_

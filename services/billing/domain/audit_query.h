// How billing reads ListAuditEvents' request (protos/audit/v1/audit.proto): what is refused,
// with the field named, and what a page token is bound to. Every service serves its audit
// trail with the same rules; this is billing's copy of them until the suite's shared audit
// API package takes its place.
//
//   AuditListRequest request = ...;  // from the proto (grpc/converters.h)
//   SUITE_ASSIGN_OR_RETURN(int limit, ValidateAuditListRequest(request));
//   std::string scope = AuditPageScope(request.filter);
//
// Thread-safe: pure functions.
#ifndef SUITE_SERVICES_BILLING_DOMAIN_AUDIT_QUERY_H_
#define SUITE_SERVICES_BILLING_DOMAIN_AUDIT_QUERY_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/billing/domain/model.h"

namespace suite::billing {

inline constexpr int kDefaultAuditPageSize = 50;
inline constexpr int kMaxAuditPageSize = 100;
// action and target_id are one-line text (shared/base/text.h) of at most this many characters.
inline constexpr size_t kMaxAuditFilterChars = 255;

struct AuditListRequest {
  int page_size = 0;
  std::string page_token;
  AuditFilter filter;
};

// ValidateAuditListRequest returns how many rows to serve (page_size 0 → 50), or
// INVALID_ARGUMENT naming the field: page_size outside 0..100, actor_user_id not a UUID,
// action or target_id not one-line text or too long, end_time not after start_time.
absl::StatusOr<int> ValidateAuditListRequest(const AuditListRequest& request);

// AuditPageScope is what a page token of this listing is bound to: every filter, so that a
// token cannot continue a listing with other filters.
std::string AuditPageScope(const AuditFilter& filter);

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_DOMAIN_AUDIT_QUERY_H_

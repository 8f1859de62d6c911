// The rules of every service's ListAuditEvents (protos/audit/v1/audit.proto) in plain C++, so
// that identity, billing and questions validate, page and bind their page tokens the same way
// from their domain layer (Abseil only: no protobuf, no gRPC, no libpqxx):
//
//   AuditQuery query = ...;                      // from the request (audit_proto.h) or a test
//   SUITE_ASSIGN_OR_RETURN(AuditPage page, ListAuditPage(query, page_tokens_,
//       "identity.audit_events", [&](const AuditFilter& f, int64_t before_seq, int limit) {
//         return store_->ListAuditEvents(f, before_seq, limit);
//       }));
//
// Paging is keyset by the chain's seq, newest first: appends only ever take a higher seq, so
// rows appended while a client pages never shift the pages it has not read yet (no duplicate,
// no gap). The page token is the shared signed token (shared/api/page_token.h) whose scope
// binds the listing and every filter, so a token reused with other filters is refused.
//
// Thread-safe: pure functions.
#ifndef SUITE_SHARED_AUDIT_API_AUDIT_QUERY_H_
#define SUITE_SHARED_AUDIT_API_AUDIT_QUERY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/api/page_token.h"
#include "shared/db/audit/audit_event.h"

namespace suite::audit_api {

using suite::db::audit::AuditEvent;
using suite::db::audit::AuditFilter;

inline constexpr int kDefaultAuditPageSize = 50;
inline constexpr int kMaxAuditPageSize = 100;
// Actions are "<noun>.<verb>" and target ids are UUIDs or external ids (a Stripe event id);
// anything longer can match no row, and is refused rather than sent to the database.
inline constexpr size_t kMaxAuditActionLength = 100;
inline constexpr size_t kMaxAuditTargetIdLength = 200;

// One ListAuditEvents request in plain C++: the filter (the request's actor_user_id, action,
// target_id, start_time, end_time) and the paging fields as the caller sent them.
struct AuditQuery {
  AuditFilter filter;
  int page_size = 0;
  std::string page_token;
};

struct AuditPage {
  std::vector<AuditEvent> events;  // newest first
  std::string next_page_token;     // empty on the last page
};

// AuditPageLimit: 0 means 50, 1..100 as asked; INVALID_ARGUMENT naming page_size otherwise
// (more than 100 is refused, not cut, so a client never mistakes a short page for the end).
absl::StatusOr<int> AuditPageLimit(int page_size);

// ValidateAuditFilter: INVALID_ARGUMENT naming the field — actor_user_id not a UUID; action
// or target_id not one line of text (shared/base/text.h: no control character, valid UTF-8)
// or too long; end_time not after start_time.
absl::Status ValidateAuditFilter(const AuditFilter& filter);

// AuditFilterFingerprint is the filter as an unambiguous string (each value length-prefixed),
// for binding a page token to it.
std::string AuditFilterFingerprint(const AuditFilter& filter);

// FetchAuditEvents reads up to `limit` events matching the filter with seq below `before_seq`
// (0: from the newest), newest first — suite::db::audit::ListAuditEvents behind a store.
using FetchAuditEvents = std::function<absl::StatusOr<std::vector<AuditEvent>>(
    const AuditFilter& filter, int64_t before_seq, int limit)>;

// ListAuditPage validates `query` (page_size, the filter, then page_token: INVALID_ARGUMENT
// naming the field, before anything is read), reads one page through `fetch` and returns it
// with the token of the next one. `listing` names the trail in the token's scope (e.g.
// "identity.audit_events"), so a token of another listing is refused too.
absl::StatusOr<AuditPage> ListAuditPage(const AuditQuery& query,
                                        const suite::api::PageTokenCodec& codec,
                                        absl::string_view listing, const FetchAuditEvents& fetch);

}  // namespace suite::audit_api

#endif  // SUITE_SHARED_AUDIT_API_AUDIT_QUERY_H_

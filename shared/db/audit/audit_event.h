// The audit trail's value types (docs/audit.md), apart from the code that reads and writes
// them (audit_log.h, which needs libpqxx), so that code far from the database — a domain
// layer, the shared ListAuditEvents conversion in shared/audit_api — can name them with
// Abseil alone.
//
//   suite::db::audit::AuditFilter filter;
//   filter.action = "role.assign";
//
// Plain structs; thread-compatible.
#ifndef SUITE_SHARED_DB_AUDIT_AUDIT_EVENT_H_
#define SUITE_SHARED_DB_AUDIT_AUDIT_EVENT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace suite::db::audit {

struct AuditEvent {
  int64_t seq = 0;
  absl::Time occurred_at;
  std::string actor_id;  // empty: the system
  std::string action, target_type, target_id, request_id, outcome;
  std::string before_json, after_json;  // empty when null
  std::string hash;
};

struct AuditFilter {
  std::string actor_id, action, target_id;  // empty: any
  absl::Time since = absl::InfinitePast();  // occurred_at >= since
  absl::Time until = absl::InfiniteFuture();  // occurred_at < until
};

}  // namespace suite::db::audit

#endif  // SUITE_SHARED_DB_AUDIT_AUDIT_EVENT_H_

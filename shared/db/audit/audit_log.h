// A service's audit trail (docs/audit.md): append-only, hash-chained rows of privileged
// actions in the service's own schema (<schema>.audit_log, <schema>.audit_chain_head and the
// function <schema>.audit_hash, created by that service's migration). The service's storage
// code appends a row inside the very transaction that makes the change:
//
//   SUITE_RETURN_IF_ERROR(suite::db::audit::AppendAudit(
//       tx, "identity", {"user.set_status", "user", user_id, {{"status", "active"}},
//                        {{"status", "suspended"}}}));
//
// The actor and request id come from the thread's suite::ScopedAuditActor. An append locks
// the chain head row until the transaction ends, so appends of concurrent transactions are
// serialised into one chain (a change and its row commit or roll back together; a rolled
// back append leaves no gap, since the head rolls back with it).
#ifndef SUITE_SHARED_DB_AUDIT_AUDIT_LOG_H_
#define SUITE_SHARED_DB_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "shared/db/audit/audit_event.h"
#include "shared/db/pool.h"
#include "shared/db/retention/purger.h"
#include "shared/db/transaction.h"

namespace suite::db::audit {

struct AuditEntry {
  std::string action;       // "<noun>.<verb>", e.g. "role.assign"
  std::string target_type;  // "user", "role_assignment", ...
  std::string target_id;
  nlohmann::json before;  // null when nothing is worth keeping
  nlohmann::json after;
};

// RegisterAuditStatements registers the statements of `schema`'s audit log with `pool`.
absl::Status RegisterAuditStatements(ConnectionPool& pool, absl::string_view schema);

// AppendAudit appends `entry` to `schema`'s chain inside `tx` (registered statements
// required). Any error aborts the caller's transaction, and so its change.
absl::Status AppendAudit(Transaction& tx, absl::string_view schema, const AuditEntry& entry);

// ListAuditEvents returns up to `limit` events matching `filter`, newest first, with seq below
// `before_seq` (0: from the newest).
absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(ConnectionPool& pool,
                                                        absl::string_view schema,
                                                        const AuditFilter& filter,
                                                        int64_t before_seq, int limit);

struct ChainReport {
  int64_t rows = 0;       // rows checked
  int64_t first_seq = 0;  // the oldest row left (earlier ones purged); 0 when empty
  int64_t last_seq = 0;
  // The first row that breaks the chain, and why; nullopt when the chain is whole.
  absl::optional<int64_t> broken_seq;
  std::string problem;
};

// VerifyAuditChain walks `schema`'s chain from its oldest row, in pages, recomputing each
// row's hash and checking it links to its predecessor and that the head names the last row.
// The oldest row left is trusted as the start (older rows are removed by retention).
absl::StatusOr<ChainReport> VerifyAuditChain(ConnectionPool& pool, absl::string_view schema);

// AuditPurgeRule is the retention rule of `schema`'s audit log: rows older than `keep` are
// deleted oldest first (a prefix of the chain, as occurred_at ascends with seq), in batches
// through audit_log_occurred_at_idx. Without FOR UPDATE: the retention role has no UPDATE
// privilege on an audit log, and no one else ever locks its rows.
retention::PurgeRule AuditPurgeRule(absl::string_view schema, absl::Duration keep);

}  // namespace suite::db::audit

#endif  // SUITE_SHARED_DB_AUDIT_AUDIT_LOG_H_

// What identity keeps and for how long (docs/retention.md), as purge rules for the retention
// runner (shared/db/retention/purger.h). Identity owns these tables, so their purge
// statements live here, next to the store's own; the retention job runs them as the role
// suite_retention, which may delete from exactly these three tables.
#ifndef SUITE_SERVICES_IDENTITY_STORAGE_RETENTION_H_
#define SUITE_SERVICES_IDENTITY_STORAGE_RETENTION_H_

#include <vector>

#include "absl/time/time.h"
#include "shared/db/retention/purger.h"

namespace suite::identity {

struct IdentityRetention {
  // Login attempts, by created_at: long enough to investigate an account takeover after the
  // fact; far longer than the login throttle's window (15 minutes by default), which counts them.
  absl::Duration login_attempts = absl::Hours(24 * 90);
  // Sessions, after they ended (the earlier of revocation and idle expiry): a dead session
  // authenticates nothing; it stays a while for "where was I signed in" and investigations.
  absl::Duration sessions_after_end = absl::Hours(24 * 30);
  // E-mail verification tokens, after use or expiry (the earlier): a used or expired token
  // verifies nothing; kept a week for support questions.
  absl::Duration email_verifications_after_end = absl::Hours(24 * 7);
  // The audit trail (identity.audit_log), by occurred_at: two years for investigations and
  // compliance; at least one (the rule's minimum).
  absl::Duration audit_log = absl::Hours(24 * 730);
};

// The rules: delete login attempts, ended sessions and ended e-mail verifications older than
// their period, then the oldest audit rows past the audit period. Each batch is an index range (login_attempts_created_at_id_idx,
// sessions_ended_at_idx, email_verifications_ended_at_idx).
std::vector<db::retention::PurgeRule> IdentityPurgeRules(const IdentityRetention& retention);

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_STORAGE_RETENTION_H_

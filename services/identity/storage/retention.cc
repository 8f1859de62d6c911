#include "services/identity/storage/retention.h"

#include "shared/db/audit/audit_log.h"

namespace suite::identity {

using db::retention::DeleteBatchSql;

std::vector<db::retention::PurgeRule> IdentityPurgeRules(const IdentityRetention& retention) {
  std::vector<db::retention::PurgeRule> rules;
  rules.push_back(
      {"identity.login_attempts", "delete", "identity_retention_login_attempts",
       DeleteBatchSql("identity.login_attempts", "created_at"),
       retention.login_attempts,
       // The throttle counts failures over IDENTITY_LOGIN_WINDOW and its pair window
       // (minutes): a purge inside them would reopen a throttled account to guessing.
       absl::Hours(24)});
  rules.push_back({"identity.sessions", "delete", "identity_retention_sessions",
                   DeleteBatchSql("identity.sessions", "LEAST(revoked_at, expires_at)"),
                   retention.sessions_after_end, absl::ZeroDuration()});
  rules.push_back({"identity.email_verifications", "delete",
                   "identity_retention_email_verifications",
                   DeleteBatchSql("identity.email_verifications", "LEAST(consumed_at, expires_at)"),
                   retention.email_verifications_after_end, absl::ZeroDuration()});
  rules.push_back(db::audit::AuditPurgeRule("identity", retention.audit_log));
  return rules;
}

}  // namespace suite::identity

#include "services/billing/storage/retention.h"

#include "shared/db/audit/audit_log.h"

namespace suite::billing {

using db::retention::UpdateBatchSql;

std::vector<db::retention::PurgeRule> BillingPurgeRules(const BillingRetention& retention) {
  std::vector<db::retention::PurgeRule> rules;
  rules.push_back(
      {"billing.stripe_events", "drop_payload", "billing_retention_stripe_event_payloads",
       // Every settled status (model.h, IsEventSettled): none of them is ever applied again.
       UpdateBatchSql("billing.stripe_events", "raw_event_redacted = NULL", "received_at",
                      "raw_event_redacted IS NOT NULL AND "
                      "status IN ('processed', 'ignored', 'stale', 'superseded')"),
       retention.stripe_event_payloads,
       // A day to look at a fresh event's payload before it can go.
       absl::Hours(24)});
  rules.push_back(db::audit::AuditPurgeRule("billing", retention.audit_log));
  return rules;
}

}  // namespace suite::billing

#include "services/billing/storage/retention.h"

namespace suite::billing {

using db::retention::UpdateBatchSql;

std::vector<db::retention::PurgeRule> BillingPurgeRules(const BillingRetention& retention) {
  return {{"billing.stripe_events", "drop_payload", "billing_retention_stripe_event_payloads",
           UpdateBatchSql("billing.stripe_events", "raw_event_redacted = NULL",
                          "received_at",
                          "raw_event_redacted IS NOT NULL AND status IN ('processed', 'ignored')"),
           retention.stripe_event_payloads,
           // A day to look at a fresh event's payload before it can go.
           absl::Hours(24)}};
}

}  // namespace suite::billing

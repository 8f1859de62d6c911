// What billing keeps and for how long (docs/retention.md), as purge rules for the retention
// runner (shared/db/retention/purger.h). Billing owns its tables, so their purge statements
// live here; the retention job runs them as suite_retention, which may only clear the
// payload column of billing.stripe_events and delete the oldest rows of billing.audit_log.
#ifndef SUITE_SERVICES_BILLING_STORAGE_RETENTION_H_
#define SUITE_SERVICES_BILLING_STORAGE_RETENTION_H_

#include <vector>

#include "absl/time/time.h"
#include "shared/db/retention/purger.h"

namespace suite::billing {

struct BillingRetention {
  // The stored (redacted) payload of a settled Stripe event (processed, ignored, stale or
  // superseded), after its arrival: kept long enough to investigate and replay; after it only
  // the row stays (its stripe_event_id deduplicates redeliveries, its status and links answer
  // "what happened"). A settled event is never applied again (ReprocessStripeEvent refuses
  // it), so its payload has no other use. Events still waiting (received, failed and parked)
  // keep their payload: they may still be reprocessed.
  absl::Duration stripe_event_payloads = absl::Hours(24 * 30);
  // The audit trail (billing.audit_log), by occurred_at: two years for investigations and
  // compliance; at least one (the rule's minimum).
  absl::Duration audit_log = absl::Hours(24 * 730);
};

// The rules: clear raw_event_redacted of settled events received before the period, through
// stripe_events_payload_received_at_idx; then delete the oldest audit rows past the audit
// period (a prefix of the hash chain, through audit_log_occurred_at_idx). The ledger
// (billing.transactions) is never purged: it is the financial record.
std::vector<db::retention::PurgeRule> BillingPurgeRules(const BillingRetention& retention);

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_STORAGE_RETENTION_H_

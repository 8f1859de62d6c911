// The schema the billing migrations produce, for `migrate verify` and tests.
//
//   suite::db::schema::OwnerSchema billing = suite::migrations::BillingSchema();
//   auto diffs = suite::db::schema::CheckSchema(url, billing);
#ifndef SUITE_MIGRATIONS_BILLING_SCHEMA_H_
#define SUITE_MIGRATIONS_BILLING_SCHEMA_H_

#include "shared/db/migrate/owner_schema.h"

namespace suite::migrations {

// BillingSchema returns the declaration of owner `billing`: the enum
// billing.stripe_subscription_status and the tables stripe_customers, stripe_subscriptions,
// stripe_events, transactions, audit_log and audit_chain_head with their indexes, checks and
// triggers. Thread-safe.
suite::db::schema::OwnerSchema BillingSchema();

}  // namespace suite::migrations

#endif  // SUITE_MIGRATIONS_BILLING_SCHEMA_H_

// Every SQL statement of billing's storage, and its registration as named, prepared
// statements of a pool: the text lives here and only here, and pg_store.h runs the statements
// by name with their parameters (nothing is ever concatenated from values).
//
//   SUITE_RETURN_IF_ERROR(suite::billing::RegisterStatements(pool));
//   tx.Exec("billing_customer_by_stripe_id", stripe_customer_id);
//
// Conventions the readers in pg_store.cc rely on: times are read as Unix microseconds
// (bigint) and nullable times are passed as Unix microseconds with kNullMicros for NULL; the
// column lists of customers, subscriptions, events and transactions are in the order of
// pg_store.cc's ReadCustomer, ReadSubscription, ReadEvent and ReadTransaction.
#ifndef SUITE_SERVICES_BILLING_STORAGE_STATEMENTS_H_
#define SUITE_SERVICES_BILLING_STORAGE_STATEMENTS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "shared/db/pool.h"

namespace suite::billing {

// The value of a NULL time parameter (Stripe has no times before 1970).
inline constexpr int64_t kNullMicros = -1;

// The schema of billing's audit trail (shared/db/audit/audit_log.h).
inline constexpr char kAuditSchema[] = "billing";

// The batched entitlement read (shared/db/batched_read_statement.h): the user ids of one
// batch in, per user its best subscription (ReadSubscription's columns, then the user id).
inline constexpr char kBestSubscriptionRead[] = "billing_subscription_best";

// RegisterStatements registers every statement of billing's storage with `pool`, the batched
// entitlement read and the audit trail's statements. Returns the pool's registration errors.
absl::Status RegisterStatements(suite::db::ConnectionPool& pool);

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_STORAGE_STATEMENTS_H_

#include "services/billing/storage/statements.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "shared/base/status_macros.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/batched_read_statement.h"

namespace suite::billing {
namespace {

// Nullable times travel as unix microseconds with -1 for NULL (Stripe has no times before
// 1970), which keeps every parameter a plain value; TS() turns one back into a timestamptz.
std::string TS(int n) {
  return absl::StrCat("('epoch'::timestamptz + NULLIF($", n,
                      "::bigint, -1) * interval '1 microsecond')");
}
std::string Micros(absl::string_view column) {
  return absl::StrCat("(extract(epoch from ", column, ") * 1000000)::bigint");
}
std::string CustomerColumns() {
  return absl::StrCat(
      "c.id::text, c.stripe_customer_id, COALESCE(c.user_id::text, ''), "
      "c.deleted_at IS NOT NULL, ",
      Micros("c.created_at"), ", ", Micros("c.updated_at"));
}

// With `with_customer`, the customer's Stripe id is joined in; the entitlement read leaves
// it out so that it touches one table through one index.
std::string SubscriptionSelect(bool with_customer = true) {
  return absl::StrCat(
      "SELECT s.id::text, s.stripe_subscription_id, ",
      with_customer ? "c.stripe_customer_id" : "''::text",
      ", COALESCE(s.user_id::text, ''), s.status::text, COALESCE(s.price_id, ''), ",
      Micros("s.current_period_end"), ", s.cancel_at_period_end, ", Micros("s.trial_end"), ", ",
      Micros("s.past_due_since"), ", ", Micros("s.created_at"), ", ", Micros("s.updated_at"),
      " FROM billing.stripe_subscriptions s ",
      with_customer ? "JOIN billing.stripe_customers c ON c.id = s.customer_id " : "");
}
std::string EventSelect() {
  return absl::StrCat(
      "SELECT id::text, stripe_event_id, type, COALESCE(api_version, ''), livemode, ",
      Micros("received_at"), ", ", Micros("processed_at"),
      ", status, COALESCE(last_error, ''), COALESCE(raw_event_redacted::text, ''), "
      "CASE WHEN jsonb_typeof(raw_event_redacted -> 'created') = 'number' "
      "THEN (raw_event_redacted ->> 'created')::bigint END "
      "FROM billing.stripe_events ");
}
std::string TransactionColumns() {
  return absl::StrCat(
      "id::text, account_id::text, COALESCE(user_id::text, ''), kind, status, currency, "
      "amount_cents::bigint, provider, COALESCE(provider_payment_intent_id, ''), "
      "COALESCE(provider_charge_id, ''), COALESCE(provider_invoice_id, ''), "
      "COALESCE(provider_checkout_session_id, ''), COALESCE(idempotency_key, ''), "
      "COALESCE(request_fingerprint, ''), COALESCE(metadata::text, '{}'), "
      "COALESCE(request_id::text, ''), ",
      Micros("created_at"));
}
// A keyset condition on (time, id) DESC: $t = -1 means "from the start".
std::string After(absl::string_view time_column, absl::string_view id_column, int t, int id) {
  return absl::StrCat("($", t, "::bigint = -1 OR (", time_column, ", ", id_column, ") < (", TS(t),
                      ", $", id, "::uuid))");
}

// The entitlement read for the user ids of one ReadBatcher batch (batched_read_statement.h):
// per user one probe of stripe_subscriptions_user_id_created_at_idx. The key column, the id as
// asked for, comes last, after ReadSubscription's columns.
std::string BestSubscriptionSql(absl::string_view user_ids) {
  return absl::StrCat(
      "SELECT b.*, k.user_id FROM ", user_ids, " CROSS JOIN LATERAL (",
      SubscriptionSelect(/*with_customer=*/false),
      "WHERE s.user_id = k.user_id::uuid ORDER BY CASE s.status WHEN 'active' THEN 0 "
      "WHEN 'trialing' THEN 1 WHEN 'past_due' THEN 2 ELSE 3 END, "
      "s.current_period_end DESC NULLS LAST, s.created_at DESC, s.id DESC LIMIT 1) b");
}

const std::vector<std::pair<std::string, std::string>>& Statements() {
  static const auto* const statements = new std::vector<std::pair<std::string, std::string>>{
      {"billing_event_claim",
       "INSERT INTO billing.stripe_events (stripe_event_id, type, api_version, livemode, "
       "received_at, status, request_id, related_account_id, raw_event_redacted) "
       "VALUES ($1, $2, NULLIF($3, ''), $4::boolean, now(), 'received', NULLIF($5, '')::uuid, "
       "NULLIF($6, '')::uuid, $7::jsonb) "
       "ON CONFLICT (stripe_event_id) DO NOTHING RETURNING id::text"},
      {"billing_event_lock",
       "SELECT status FROM billing.stripe_events WHERE stripe_event_id = $1 FOR UPDATE"},
      {"billing_event_finish",
       "UPDATE billing.stripe_events SET status = $2, processed_at = now(), last_error = NULL, "
       "related_transaction_id = NULLIF($3, '')::uuid, "
       "related_account_id = COALESCE(NULLIF($4, '')::uuid, related_account_id), "
       "stripe_object_id = NULLIF($5, ''), event_created = " +
           TS(6) + " WHERE stripe_event_id = $1"},
      // The settled events of one subscription in one second (event_order.h's set).
      {"billing_subscription_same_second",
       "SELECT stripe_event_id, COALESCE(raw_event_redacted::text, '') "
       "FROM billing.stripe_events WHERE stripe_object_id = $1 AND event_created = " +
           TS(2) + " AND status IN ('processed', 'superseded') AND stripe_event_id <> $3"},
      {"billing_subscription_second_relabel",
       "UPDATE billing.stripe_events SET status = CASE WHEN stripe_event_id = $3 "
       "THEN 'processed' ELSE 'superseded' END "
       "WHERE stripe_object_id = $1 AND event_created = " +
           TS(2) + " AND status IN ('processed', 'superseded')"},
      {"billing_event_fail",
       "INSERT INTO billing.stripe_events AS e (stripe_event_id, type, api_version, livemode, "
       "received_at, status, last_error, request_id, raw_event_redacted) "
       "VALUES ($1, $2, NULLIF($3, ''), $4::boolean, now(), 'failed', $5, "
       "NULLIF($6, '')::uuid, $7::jsonb) "
       "ON CONFLICT (stripe_event_id) DO UPDATE SET status = 'failed', "
       "last_error = EXCLUDED.last_error WHERE e.status IN ('received', 'failed')"},
      {"billing_event_get", EventSelect() + "WHERE stripe_event_id = $1"},
      {"billing_event_list", EventSelect() +
                                 "WHERE ($1 = '' OR status = $1) AND ($2 = '' OR type = $2) "
                                 "AND ($3::bigint = -1 OR received_at >= " +
                                 TS(3) +
                                 ") "
                                 "AND ($4::bigint = -1 OR received_at < " +
                                 TS(4) + ") AND " + After("received_at", "id", 5, 6) +
                                 " ORDER BY stripe_events.received_at DESC, "
                                 "stripe_events.id DESC LIMIT $7"},
      // Customers. The ordered upsert applies only a newer event (see the header); it never
      // touches the user link, which billing_customer_adopt and LinkCustomer own.
      {"billing_customer_upsert_ordered",
       "INSERT INTO billing.stripe_customers AS c (stripe_customer_id, deleted_at, "
       "last_event_created, last_event_id, request_id) "
       "VALUES ($1, CASE WHEN $2::boolean THEN now() END, " +
           TS(3) +
           ", $4, NULLIF($5, '')::uuid) "
           "ON CONFLICT (stripe_customer_id) DO UPDATE SET "
           "deleted_at = CASE WHEN $2::boolean THEN COALESCE(c.deleted_at, now()) END, "
           "last_event_created = EXCLUDED.last_event_created, "
           "last_event_id = EXCLUDED.last_event_id, request_id = EXCLUDED.request_id "
           // A later second wins; in the same second a deletion wins (Stripe never revives a
           // deleted customer), then the bytewise greater event id.
           "WHERE c.last_event_created IS NULL OR c.last_event_created < "
           "EXCLUDED.last_event_created OR (c.last_event_created = EXCLUDED.last_event_created "
           "AND CASE WHEN (c.deleted_at IS NOT NULL) <> $2::boolean THEN $2::boolean "
           "ELSE c.last_event_id COLLATE \"C\" < EXCLUDED.last_event_id COLLATE \"C\" END) "
           "RETURNING c.id::text"},
      // Every change of a user's links runs under this lock (per user, until the transaction
      // ends), so that "the user has no other live customer" stays true until the link is
      // written; the unique index stripe_customers_user_id_live_key is the backstop.
      {"billing_user_links_lock",
       "SELECT pg_advisory_xact_lock(hashtextextended('billing.customer_links:' || $1, 0))"},
      // An event's user fills a missing link only (model.h, CustomerChange).
      {"billing_customer_adopt",
       "UPDATE billing.stripe_customers c SET user_id = $2::uuid "
       "WHERE c.stripe_customer_id = $1 AND c.user_id IS NULL AND (c.deleted_at IS NOT NULL "
       "OR NOT EXISTS (SELECT 1 FROM billing.stripe_customers o "
       "WHERE o.user_id = $2::uuid AND o.deleted_at IS NULL)) "
       "RETURNING c.id::text"},
      {"billing_customer_lock_by_stripe_id",
       "SELECT " + CustomerColumns() +
           " FROM billing.stripe_customers c WHERE c.stripe_customer_id = $1 FOR UPDATE"},
      {"billing_customer_other_live",
       "SELECT " + CustomerColumns() +
           " FROM billing.stripe_customers c WHERE c.user_id = $1::uuid "
           "AND c.deleted_at IS NULL AND c.id <> $2::uuid FOR UPDATE"},
      // Sets (or, with '', clears) the link of one customer.
      {"billing_customer_set_user",
       "UPDATE billing.stripe_customers c SET user_id = NULLIF($2, '')::uuid, "
       "request_id = NULLIF($3, '')::uuid WHERE c.id = $1::uuid RETURNING " +
           CustomerColumns()},
      {"billing_subscriptions_unlink",
       "UPDATE billing.stripe_subscriptions SET user_id = NULL "
       "WHERE customer_id = $1::uuid AND user_id IS NOT NULL"},
      {"billing_customer_ensure",
       "INSERT INTO billing.stripe_customers (stripe_customer_id) VALUES ($1) "
       "ON CONFLICT (stripe_customer_id) DO NOTHING"},
      {"billing_customer_by_stripe_id",
       "SELECT " + CustomerColumns() +
           " FROM billing.stripe_customers c WHERE c.stripe_customer_id = $1"},
      {"billing_customer_by_user",
       "SELECT " + CustomerColumns() +
           " FROM billing.stripe_customers c WHERE c.user_id = $1::uuid "
           "ORDER BY c.deleted_at IS NOT NULL, c.updated_at DESC, c.id DESC LIMIT 1"},
      {"billing_subscriptions_relink",
       "UPDATE billing.stripe_subscriptions SET user_id = $2::uuid "
       "WHERE customer_id = $1::uuid AND user_id IS DISTINCT FROM $2::uuid"},
      // Subscriptions: the whole object as of the event, only when the event is newer.
      {"billing_subscription_upsert",
       "INSERT INTO billing.stripe_subscriptions AS s (stripe_subscription_id, customer_id, "
       "user_id, status, price_id, current_period_end, cancel_at_period_end, trial_end, "
       "past_due_since, last_event_created, last_event_id, request_id) "
       "VALUES ($1, $2::uuid, NULLIF($3, '')::uuid, $4::billing.stripe_subscription_status, "
       "NULLIF($5, ''), " +
           TS(6) + ", $7::boolean, " + TS(8) +
           ", CASE WHEN $4::billing.stripe_subscription_status = 'past_due' THEN " + TS(9) +
           " END, " + TS(9) +
           ", $10, NULLIF($11, '')::uuid) "
           "ON CONFLICT (stripe_subscription_id) DO UPDATE SET "
           "customer_id = EXCLUDED.customer_id, user_id = COALESCE(EXCLUDED.user_id, s.user_id), "
           "status = EXCLUDED.status, price_id = EXCLUDED.price_id, "
           "current_period_end = EXCLUDED.current_period_end, "
           "cancel_at_period_end = EXCLUDED.cancel_at_period_end, "
           "trial_end = EXCLUDED.trial_end, "
           "past_due_since = CASE WHEN EXCLUDED.status <> 'past_due' THEN NULL "
           "WHEN s.status = 'past_due' THEN s.past_due_since "
           "ELSE EXCLUDED.past_due_since END, "
           "last_event_created = EXCLUDED.last_event_created, "
           "last_event_id = EXCLUDED.last_event_id, request_id = EXCLUDED.request_id "
           // $12: the row exists, is locked and the domain ordered this event after its last
           // one (event_order.h); false when inserting, so that an insert that loses a race
           // to a concurrent one changes nothing and is ordered again.
           "WHERE $12::boolean RETURNING s.id::text"},
      {"billing_subscription_lock",
       "SELECT s.status::text, COALESCE(s.price_id, ''), " + Micros("s.current_period_end") +
           ", s.cancel_at_period_end, " + Micros("s.trial_end") + ", " +
           Micros("s.last_event_created") +
           ", s.last_event_id FROM billing.stripe_subscriptions s "
           "WHERE s.stripe_subscription_id = $1 FOR UPDATE"},
      {"billing_event_json",
       "SELECT COALESCE(raw_event_redacted::text, '') FROM billing.stripe_events "
       "WHERE stripe_event_id = $1"},
      {"billing_customer_last_event",
       "SELECT " + Micros("last_event_created") +
           " FROM billing.stripe_customers WHERE stripe_customer_id = $1"},
      {"billing_subscription_get", SubscriptionSelect() + "WHERE s.stripe_subscription_id = $1"},
      {"billing_subscription_list", SubscriptionSelect() + "WHERE s.user_id = $1::uuid AND " +
                                        After("s.created_at", "s.id", 2, 3) +
                                        " ORDER BY s.created_at DESC, s.id DESC LIMIT $4"},
      // Ledger: insert-only.
      {"billing_transaction_insert",
       "INSERT INTO billing.transactions (account_id, user_id, kind, status, currency, "
       "amount_cents, provider, provider_payment_intent_id, provider_charge_id, "
       "provider_invoice_id, provider_checkout_session_id, idempotency_key, "
       "request_fingerprint, metadata, request_id) "
       "VALUES ($1::uuid, NULLIF($2, '')::uuid, $3, $4, $5, $6::integer, $7, NULLIF($8, ''), "
       "NULLIF($9, ''), NULLIF($10, ''), NULLIF($11, ''), $12, $13, $14::jsonb, "
       "NULLIF($15, '')::uuid) ON CONFLICT (idempotency_key) DO NOTHING RETURNING " +
           TransactionColumns()},
      {"billing_transaction_by_key",
       "SELECT " + TransactionColumns() + " FROM billing.transactions WHERE idempotency_key = $1"},
      {"billing_transaction_list",
       "SELECT " + TransactionColumns() +
           " FROM billing.transactions WHERE account_id = $1::uuid AND " +
           After("created_at", "id", 2, 3) +
           " ORDER BY transactions.created_at DESC, transactions.id DESC LIMIT $4"},
  };
  return *statements;
}

}  // namespace

absl::Status RegisterStatements(suite::db::ConnectionPool& pool) {
  for (const auto& [name, sql] : Statements()) {
    SUITE_RETURN_IF_ERROR(pool.RegisterStatement(name, sql));
  }
  SUITE_RETURN_IF_ERROR(suite::db::RegisterBatchedRead(pool, kBestSubscriptionRead, "text", "k",
                                                       "user_id", BestSubscriptionSql));
  // The audit trail's statements: the admin-only writes append to it.
  return suite::db::audit::RegisterAuditStatements(pool, kAuditSchema);
}

}  // namespace suite::billing

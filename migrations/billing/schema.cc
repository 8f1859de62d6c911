#include "migrations/billing/schema.h"

#include "shared/db/audit/audit_schema.h"

namespace suite::migrations {

using namespace suite::db::schema;  // NOLINT: a declaration reads best with the builders bare

OwnerSchema BillingSchema() {
  TableSpec customers =
      Table("billing", "stripe_customers")
          .Column(Pk())
          .Column(Text("stripe_customer_id").NotNull())
          .Column(Uuid("user_id"))
          .Column(DeletedAt())
          .Column(Timestamptz("last_event_created"))
          .Column(Text("last_event_id"))
          .Column(RequestId())
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .UniqueIndex("stripe_customers_stripe_customer_id_key", {"stripe_customer_id"})
          .Index("stripe_customers_user_id_idx", {"user_id"})
          // One live customer per user.
          .UniqueIndex("stripe_customers_user_id_live_key", {"user_id"},
                       "user_id IS NOT NULL AND deleted_at IS NULL")
          .Check("stripe_customers_stripe_customer_id_check")
          .Check("stripe_customers_last_event_check")
          .Trigger("stripe_customers_set_updated_at");

  TableSpec subscriptions =
      Table("billing", "stripe_subscriptions")
          .Column(Pk())
          .Column(Text("stripe_subscription_id").NotNull())
          .Column(Uuid("customer_id").NotNull())
          .Column(Uuid("user_id"))
          .Column(EnumColumn("status", "billing.stripe_subscription_status").NotNull())
          .Column(Text("price_id"))
          .Column(Timestamptz("current_period_end"))
          .Column(Boolean("cancel_at_period_end").NotNull().Default("false"))
          .Column(Timestamptz("trial_end"))
          .Column(Timestamptz("past_due_since"))
          .Column(Timestamptz("last_event_created").NotNull())
          .Column(Text("last_event_id").NotNull())
          .Column(RequestId())
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .UniqueIndex("stripe_subscriptions_stripe_subscription_id_key",
                       {"stripe_subscription_id"})
          .Index("stripe_subscriptions_customer_id_idx", {"customer_id"})
          .Index("stripe_subscriptions_user_id_created_at_idx",
                 {"user_id", "created_at DESC", "id DESC"})
          .ForeignKey({"customer_id"}, "billing.stripe_customers", {"id"}, OnDelete::kRestrict)
          .Check("stripe_subscriptions_stripe_subscription_id_check")
          .Trigger("stripe_subscriptions_set_updated_at");

  // Every webhook event received: the unique stripe_event_id is the exactly-once claim.
  TableSpec events =
      Table("billing", "stripe_events")
          .Column(Pk())
          .Column(Text("stripe_event_id").NotNull())
          .Column(Text("type").NotNull())
          .Column(Text("api_version"))
          .Column(Boolean("livemode").NotNull())
          .Column(Timestamptz("received_at").NotNull())
          .Column(Timestamptz("processed_at"))
          .Column(StatusText())
          .Column(Text("last_error"))
          .Column(RequestId())
          .Column(Uuid("related_account_id"))
          .Column(Uuid("related_transaction_id"))
          .Column(Jsonb("raw_event_redacted"))
          .Column(CreatedAt())
          .Column(Text("stripe_object_id"))
          .Column(Timestamptz("event_created"))
          .UniqueIndex("stripe_events_stripe_event_id_key", {"stripe_event_id"})
          .Index("stripe_events_stripe_object_id_event_created_idx",
                 {"stripe_object_id", "event_created"})
          .Index("stripe_events_received_at_idx", {"received_at DESC", "id DESC"})
          .Index("stripe_events_payload_received_at_idx", {"received_at"},
                 "raw_event_redacted IS NOT NULL")
          .Index("stripe_events_status_received_at_idx", {"status", "received_at DESC", "id DESC"})
          .Check("stripe_events_status_check")
          .Check("stripe_events_stripe_event_id_check")
          .Check("stripe_events_type_check");

  // The append-only ledger, with request_fingerprint for idempotency conflicts.
  TableSpec transactions =
      Table("billing", "transactions")
          .Column(Pk())
          .Column(Uuid("account_id").NotNull())
          .Column(Uuid("user_id"))
          .Column(Text("kind").NotNull())
          .Column(StatusText())
          .Column(Text("currency").NotNull())
          .Column(Integer("amount_cents").NotNull())
          .Column(Text("provider").NotNull())
          .Column(Text("provider_payment_intent_id"))
          .Column(Text("provider_charge_id"))
          .Column(Text("provider_invoice_id"))
          .Column(Text("provider_checkout_session_id"))
          .Column(Text("idempotency_key"))
          .Column(Text("request_fingerprint"))
          .Column(Jsonb("metadata"))
          .Column(RequestId())
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .UniqueIndex("transactions_idempotency_key_key", {"idempotency_key"})
          .Index("transactions_account_id_created_at_idx",
                 {"account_id", "created_at DESC", "id DESC"})
          .Check("transactions_kind_check")
          .Check("transactions_status_check")
          .Check("transactions_currency_check")
          .Check("transactions_provider_check")
          .Check("transactions_idempotency_check")
          .Trigger("transactions_append_only", "billing.reject_transaction_change");

  // The audit trail of admin-only writes, hash-chained (shared/db/audit/audit_log.h).
  const suite::db::audit::AuditTables audit = suite::db::audit::AuditTableSpecs("billing");

  OwnerSchema schema;
  schema.owner = "billing";
  schema.tables = {customers,    subscriptions,   events, transactions,
                   audit.audit_log, audit.audit_chain_head};
  schema.enums = {Enum("billing", "stripe_subscription_status",
                       {"incomplete", "incomplete_expired", "trialing", "active", "past_due",
                        "canceled", "unpaid", "paused"})};
  schema.extensions = {"pgcrypto"};
  schema.functions = {std::string(kSetUpdatedAtFunction), "billing.reject_transaction_change",
                      "billing.audit_hash"};
  return schema;
}

}  // namespace suite::migrations

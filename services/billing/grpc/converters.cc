#include "services/billing/grpc/converters.h"

#include "shared/api/enum_field.h"
#include "shared/api/timestamp.h"

namespace suite::billing {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) { suite::api::SetTimestamp(t, out); }
// An optional time: absent leaves the field unset. The field is reached through
// `mutable_field` only when there is a time, because mutable_<field>() alone already sets the
// field (to 1970-01-01T00:00:00Z).
template <typename MutableField>
void SetOptionalTime(const absl::optional<absl::Time>& t, MutableField mutable_field) {
  if (t.has_value()) suite::api::SetTimestamp(*t, mutable_field());
}

}  // namespace

v1::SubscriptionStatus ToProto(SubscriptionStatus s) {
  switch (s) {
    case SubscriptionStatus::kIncomplete:
      return v1::SUBSCRIPTION_STATUS_INCOMPLETE;
    case SubscriptionStatus::kIncompleteExpired:
      return v1::SUBSCRIPTION_STATUS_INCOMPLETE_EXPIRED;
    case SubscriptionStatus::kTrialing:
      return v1::SUBSCRIPTION_STATUS_TRIALING;
    case SubscriptionStatus::kActive:
      return v1::SUBSCRIPTION_STATUS_ACTIVE;
    case SubscriptionStatus::kPastDue:
      return v1::SUBSCRIPTION_STATUS_PAST_DUE;
    case SubscriptionStatus::kCanceled:
      return v1::SUBSCRIPTION_STATUS_CANCELED;
    case SubscriptionStatus::kUnpaid:
      return v1::SUBSCRIPTION_STATUS_UNPAID;
    case SubscriptionStatus::kPaused:
      return v1::SUBSCRIPTION_STATUS_PAUSED;
    case SubscriptionStatus::kUnspecified:
      break;
  }
  return v1::SUBSCRIPTION_STATUS_UNSPECIFIED;
}

v1::StripeEventStatus ToProto(EventStatus s) {
  switch (s) {
    case EventStatus::kReceived:
      return v1::STRIPE_EVENT_STATUS_RECEIVED;
    case EventStatus::kProcessed:
      return v1::STRIPE_EVENT_STATUS_PROCESSED;
    case EventStatus::kIgnored:
      return v1::STRIPE_EVENT_STATUS_IGNORED;
    case EventStatus::kFailed:
      return v1::STRIPE_EVENT_STATUS_FAILED;
    case EventStatus::kStale:
      return v1::STRIPE_EVENT_STATUS_STALE;
    case EventStatus::kSuperseded:
      return v1::STRIPE_EVENT_STATUS_SUPERSEDED;
  }
  return v1::STRIPE_EVENT_STATUS_UNSPECIFIED;
}

void ToProto(const Customer& c, v1::Customer* out) {
  out->set_id(c.id);
  out->set_stripe_customer_id(c.stripe_customer_id);
  out->set_user_id(c.user_id);
  out->set_deleted(c.deleted);
  SetTime(c.create_time, out->mutable_create_time());
  SetTime(c.update_time, out->mutable_update_time());
}

void ToProto(const Subscription& s, v1::Subscription* out) {
  out->set_id(s.id);
  out->set_stripe_subscription_id(s.stripe_subscription_id);
  out->set_stripe_customer_id(s.stripe_customer_id);
  out->set_user_id(s.user_id);
  out->set_status(ToProto(s.status));
  out->set_price_id(s.price_id);
  SetOptionalTime(s.current_period_end, [out] { return out->mutable_current_period_end(); });
  out->set_cancel_at_period_end(s.cancel_at_period_end);
  SetOptionalTime(s.trial_end, [out] { return out->mutable_trial_end(); });
  SetTime(s.create_time, out->mutable_create_time());
  SetTime(s.update_time, out->mutable_update_time());
}

void ToProto(const Transaction& t, v1::Transaction* out) {
  const NewTransaction& f = t.fields;
  out->set_id(t.id);
  out->set_account_id(f.account_id);
  out->set_user_id(f.user_id);
  switch (f.kind) {
    case TransactionKind::kPayment:
      out->set_kind(v1::TRANSACTION_KIND_PAYMENT);
      break;
    case TransactionKind::kRefund:
      out->set_kind(v1::TRANSACTION_KIND_REFUND);
      break;
    case TransactionKind::kAdjustment:
      out->set_kind(v1::TRANSACTION_KIND_ADJUSTMENT);
      break;
  }
  switch (f.status) {
    case TransactionStatus::kPending:
      out->set_status(v1::TRANSACTION_STATUS_PENDING);
      break;
    case TransactionStatus::kSucceeded:
      out->set_status(v1::TRANSACTION_STATUS_SUCCEEDED);
      break;
    case TransactionStatus::kFailed:
      out->set_status(v1::TRANSACTION_STATUS_FAILED);
      break;
  }
  out->set_currency(f.currency);
  out->set_amount_cents(f.amount_cents);
  out->set_provider(f.provider);
  out->set_provider_payment_intent_id(f.provider_payment_intent_id);
  out->set_provider_charge_id(f.provider_charge_id);
  out->set_provider_invoice_id(f.provider_invoice_id);
  out->set_provider_checkout_session_id(f.provider_checkout_session_id);
  out->set_idempotency_key(f.idempotency_key);
  for (const auto& [k, v] : f.metadata) (*out->mutable_metadata())[k] = v;
  out->set_request_id(f.request_id);
  SetTime(t.create_time, out->mutable_create_time());
}

void ToProto(const StoredEvent& e, v1::StripeEvent* out) {
  out->set_id(e.id);
  out->set_stripe_event_id(e.stripe_event_id);
  out->set_type(e.type);
  out->set_api_version(e.api_version);
  out->set_livemode(e.livemode);
  SetTime(e.received_at, out->mutable_receive_time());
  SetOptionalTime(e.processed_at, [out] { return out->mutable_process_time(); });
  out->set_status(ToProto(e.status));
  out->set_last_error(e.last_error);
  out->set_raw_event_redacted_json(e.raw_event_redacted_json);
  SetOptionalTime(e.event_created, [out] { return out->mutable_event_create_time(); });
}

void ToProto(const Entitlement& e, v1::Entitlement* out) {
  out->set_user_id(e.user_id);
  out->set_entitled(e.entitled);
  out->set_status(ToProto(e.status));
  out->set_price_id(e.price_id);
  SetOptionalTime(e.current_period_end, [out] { return out->mutable_current_period_end(); });
}

void ToProto(const IngestResult& r, v1::IngestStripeEventResponse* out) {
  out->set_stripe_event_id(r.stripe_event_id);
  out->set_type(r.type);
  out->set_status(ToProto(r.status));
  out->set_duplicate(r.duplicate);
  out->set_last_error(r.last_error);
}

LinkRequest FromProto(const v1::LinkCustomerRequest& in) {
  LinkRequest link;
  link.stripe_customer_id = in.stripe_customer_id();
  link.user_id = in.user_id();
  link.allow_relink = in.allow_relink();
  return link;
}

absl::StatusOr<NewTransaction> FromProto(const v1::RecordTransactionRequest& request) {
  const v1::Transaction& in = request.transaction();
  NewTransaction tx;
  tx.idempotency_key = request.idempotency_key();
  tx.account_id = in.account_id();
  tx.user_id = in.user_id();
  switch (in.kind()) {
    case v1::TRANSACTION_KIND_PAYMENT:
      tx.kind = TransactionKind::kPayment;
      break;
    case v1::TRANSACTION_KIND_REFUND:
      tx.kind = TransactionKind::kRefund;
      break;
    case v1::TRANSACTION_KIND_ADJUSTMENT:
      tx.kind = TransactionKind::kAdjustment;
      break;
    default:
      // 0: "is required"; any other number: "unknown value N".
      return suite::api::CheckEnumField("transaction.kind", in.kind(), false, true);
  }
  switch (in.status()) {
    case v1::TRANSACTION_STATUS_PENDING:
      tx.status = TransactionStatus::kPending;
      break;
    case v1::TRANSACTION_STATUS_SUCCEEDED:
      tx.status = TransactionStatus::kSucceeded;
      break;
    case v1::TRANSACTION_STATUS_FAILED:
      tx.status = TransactionStatus::kFailed;
      break;
    default:
      // 0: "is required"; any other number: "unknown value N".
      return suite::api::CheckEnumField("transaction.status", in.status(), false, true);
  }
  tx.currency = in.currency();
  tx.amount_cents = in.amount_cents();
  tx.provider = in.provider();
  tx.provider_payment_intent_id = in.provider_payment_intent_id();
  tx.provider_charge_id = in.provider_charge_id();
  tx.provider_invoice_id = in.provider_invoice_id();
  tx.provider_checkout_session_id = in.provider_checkout_session_id();
  for (const auto& [k, v] : in.metadata()) tx.metadata[k] = v;
  return tx;
}

absl::StatusOr<EventFilter> FromProto(const v1::ListStripeEventsRequest& request) {
  EventFilter filter;
  switch (request.status()) {
    case v1::STRIPE_EVENT_STATUS_UNSPECIFIED:
      break;
    case v1::STRIPE_EVENT_STATUS_RECEIVED:
      filter.status = EventStatus::kReceived;
      break;
    case v1::STRIPE_EVENT_STATUS_PROCESSED:
      filter.status = EventStatus::kProcessed;
      break;
    case v1::STRIPE_EVENT_STATUS_IGNORED:
      filter.status = EventStatus::kIgnored;
      break;
    case v1::STRIPE_EVENT_STATUS_FAILED:
      filter.status = EventStatus::kFailed;
      break;
    case v1::STRIPE_EVENT_STATUS_STALE:
      filter.status = EventStatus::kStale;
      break;
    case v1::STRIPE_EVENT_STATUS_SUPERSEDED:
      filter.status = EventStatus::kSuperseded;
      break;
    default:
      return suite::api::CheckEnumField("status", request.status(), false, false);
  }
  filter.type = request.type();
  if (request.has_start_time()) {
    filter.start_time = suite::api::TimeFromTimestamp(request.start_time());
  }
  if (request.has_end_time()) {
    filter.end_time = suite::api::TimeFromTimestamp(request.end_time());
  }
  return filter;
}

}  // namespace suite::billing

#include "services/billing/grpc/billing_service.h"

#include <string>

#include "absl/strings/ascii.h"
#include "services/billing/errors.h"
#include "shared/api/enum_field.h"
#include "shared/api/status.h"
#include "shared/api/timestamp.h"
#include "shared/base/status_macros.h"
#include "shared/rpc/grpc_status.h"
#include "shared/rpc/handler/handler.h"

namespace billing {
namespace {

using suite::rpc::Caller;
using suite::rpc::RequestContext;
using suite::rpc::ToGrpcStatus;

constexpr absl::string_view kAdmin = "admin";

void SetTime(absl::Time t, google::protobuf::Timestamp* out) { suite::api::SetTimestamp(t, out); }
// An optional time: absent leaves the field unset. The field is reached through
// `mutable_field` only when there is a time, because mutable_<field>() alone already sets the
// field (to 1970-01-01T00:00:00Z).
template <typename MutableField>
void SetOptionalTime(const absl::optional<absl::Time>& t, MutableField mutable_field) {
  if (t.has_value()) suite::api::SetTimestamp(*t, mutable_field());
}

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

// The domain's view of an authenticated caller.
Actor ActorOf(const Caller& caller, const RequestContext& rc) {
  Actor actor;
  actor.user_id = absl::AsciiStrToLower(caller.user_id);
  actor.admin = caller.HasRole(kAdmin);
  actor.request_id = rc.request_id();
  return actor;
}

// Handle is every handler: suite::rpc::RunHandler with the caller authenticated by
// `authenticator` first (none for a null one: an empty Actor); `body(actor, request context)`.
template <typename Body>
grpc::ServerUnaryReactor* Handle(grpc::CallbackServerContext* context,
                                 suite::rpc::BlockingExecutor& executor,
                                 suite::rpc::CallerAuthenticator* authenticator, Body body) {
  return suite::rpc::RunHandler(
      context, executor,
      [authenticator, body = std::move(body)](const RequestContext& rc) -> absl::Status {
        if (authenticator == nullptr) return body(Actor(), rc);
        SUITE_ASSIGN_OR_RETURN(Caller caller, suite::rpc::RequireCaller(rc, *authenticator));
        return body(ActorOf(caller, rc), rc);
      });
}

}  // namespace

grpc::ServerUnaryReactor* BillingGrpcService::IngestStripeEvent(
    grpc::CallbackServerContext* context, const v1::IngestStripeEventRequest* request,
    v1::IngestStripeEventResponse* response) {
  return Handle(context, executor_, nullptr,
                [=](const Actor&, const RequestContext& rc) -> absl::Status {
                  SUITE_ASSIGN_OR_RETURN(
                      IngestResult result,
                      billing_.IngestStripeEvent(request->payload(), request->stripe_signature(),
                                                 rc.request_id()));
                  response->set_stripe_event_id(result.stripe_event_id);
                  response->set_type(result.type);
                  response->set_status(ToProto(result.status));
                  response->set_duplicate(result.duplicate);
                  response->set_last_error(result.last_error);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* BillingGrpcService::GetCustomer(grpc::CallbackServerContext* context,
                                                          const v1::GetCustomerRequest* request,
                                                          v1::GetCustomerResponse* response) {
  return Handle(context, executor_, &authenticator_,
                [=](const Actor& actor, const RequestContext&) -> absl::Status {
                  const bool by_user = !request->user_id().empty();
                  if (by_user == !request->stripe_customer_id().empty()) {
                    return suite::api::InvalidArgument(
                        "user_id", "set exactly one of user_id and stripe_customer_id");
                  }
                  SUITE_ASSIGN_OR_RETURN(
                      Customer customer,
                      by_user ? billing_.GetCustomerByUser(actor, request->user_id())
                              : billing_.GetCustomerByStripeId(actor,
                                                               request->stripe_customer_id()));
                  ToProto(customer, response->mutable_customer());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* BillingGrpcService::LinkCustomer(grpc::CallbackServerContext* context,
                                                           const v1::LinkCustomerRequest* request,
                                                           v1::LinkCustomerResponse* response) {
  return Handle(context, executor_, &authenticator_,
                [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
                  LinkRequest link;
                  link.stripe_customer_id = request->stripe_customer_id();
                  link.user_id = request->user_id();
                  link.allow_relink = request->allow_relink();
                  SUITE_ASSIGN_OR_RETURN(
                      Customer customer,
                      billing_.LinkCustomer(actor, link, [&](const std::string& user_id) {
                        return users_.UserExists(user_id, rc);
                      }));
                  ToProto(customer, response->mutable_customer());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* BillingGrpcService::GetSubscription(
    grpc::CallbackServerContext* context, const v1::GetSubscriptionRequest* request,
    v1::GetSubscriptionResponse* response) {
  return Handle(context, executor_, &authenticator_,
                [=](const Actor& actor, const RequestContext&) -> absl::Status {
                  SUITE_ASSIGN_OR_RETURN(
                      Subscription subscription,
                      billing_.GetSubscription(actor, request->stripe_subscription_id()));
                  ToProto(subscription, response->mutable_subscription());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* BillingGrpcService::ListSubscriptions(
    grpc::CallbackServerContext* context, const v1::ListSubscriptionsRequest* request,
    v1::ListSubscriptionsResponse* response) {
  return Handle(context, executor_, &authenticator_,
                [=](const Actor& actor, const RequestContext&) -> absl::Status {
                  SUITE_ASSIGN_OR_RETURN(
                      auto page, billing_.ListSubscriptions(actor, request->user_id(),
                                                            request->page_size(),
                                                            request->page_token()));
                  for (const Subscription& s : page.first)
                    ToProto(s, response->add_subscriptions());
                  response->set_next_page_token(page.second);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* BillingGrpcService::GetEntitlement(
    grpc::CallbackServerContext* context, const v1::GetEntitlementRequest* request,
    v1::GetEntitlementResponse* response) {
  // The hot read: no executor thread per call (handler.h's RunAuthenticatedAsync).
  return suite::rpc::RunAuthenticatedAsync(
      context, executor_, authenticator_,
      [=](const Caller& caller, const RequestContext& rc, const suite::AsyncCaller& async_caller,
          const suite::rpc::AsyncReply& reply) {
        if (request->user_id().empty()) {
          return reply.Finish(suite::api::InvalidArgument("user_id", "is required"));
        }
        billing_.GetEntitlementAsync(
            ActorOf(caller, rc), request->user_id(), async_caller,
            [response, reply](absl::StatusOr<Entitlement> e) {
              reply.Complete([&]() -> absl::Status {
                SUITE_RETURN_IF_ERROR(e.status());
                v1::Entitlement* out = response->mutable_entitlement();
                out->set_user_id(e->user_id);
                out->set_entitled(e->entitled);
                out->set_status(ToProto(e->status));
                out->set_price_id(e->price_id);
                SetOptionalTime(e->current_period_end,
                                [out] { return out->mutable_current_period_end(); });
                return absl::OkStatus();
              });
            });
      });
}

grpc::ServerUnaryReactor* BillingGrpcService::RecordTransaction(
    grpc::CallbackServerContext* context, const v1::RecordTransactionRequest* request,
    v1::RecordTransactionResponse* response) {
  return Handle(context, executor_, &authenticator_,
                [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
                  const v1::Transaction& in = request->transaction();
                  NewTransaction tx;
                  tx.idempotency_key = request->idempotency_key();
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
                  tx.request_id = rc.request_id();
                  SUITE_ASSIGN_OR_RETURN(RecordedTransaction recorded,
                                         billing_.RecordTransaction(actor, tx));
                  ToProto(recorded.transaction, response->mutable_transaction());
                  response->set_replayed(recorded.replayed);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* BillingGrpcService::ListTransactions(
    grpc::CallbackServerContext* context, const v1::ListTransactionsRequest* request,
    v1::ListTransactionsResponse* response) {
  return Handle(context, executor_, &authenticator_,
                [=](const Actor& actor, const RequestContext&) -> absl::Status {
                  SUITE_ASSIGN_OR_RETURN(
                      auto page, billing_.ListTransactions(actor, request->account_id(),
                                                           request->page_size(),
                                                           request->page_token()));
                  for (const Transaction& t : page.first) ToProto(t, response->add_transactions());
                  response->set_next_page_token(page.second);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* BillingGrpcService::ListStripeEvents(
    grpc::CallbackServerContext* context, const v1::ListStripeEventsRequest* request,
    v1::ListStripeEventsResponse* response) {
  return Handle(context, executor_, &authenticator_,
                [=](const Actor& actor, const RequestContext&) -> absl::Status {
                  EventFilter filter;
                  switch (request->status()) {
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
                      return suite::api::CheckEnumField("status", request->status(), false,
                                                        false);
                  }
                  filter.type = request->type();
                  if (request->has_start_time()) {
                    filter.start_time = suite::api::TimeFromTimestamp(request->start_time());
                  }
                  if (request->has_end_time()) {
                    filter.end_time = suite::api::TimeFromTimestamp(request->end_time());
                  }
                  SUITE_ASSIGN_OR_RETURN(auto page,
                                         billing_.ListStripeEvents(actor, filter,
                                                                   request->page_size(),
                                                                   request->page_token()));
                  for (const StoredEvent& e : page.first) ToProto(e, response->add_stripe_events());
                  response->set_next_page_token(page.second);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* BillingGrpcService::ReprocessStripeEvent(
    grpc::CallbackServerContext* context, const v1::ReprocessStripeEventRequest* request,
    v1::ReprocessStripeEventResponse* response) {
  return Handle(context, executor_, &authenticator_,
                [=](const Actor& actor, const RequestContext& rc) -> absl::Status {
                  SUITE_ASSIGN_OR_RETURN(
                      StoredEvent event,
                      billing_.ReprocessStripeEvent(actor, request->stripe_event_id()));
                  ToProto(event, response->mutable_stripe_event());
                  return absl::OkStatus();
                });
}

}  // namespace billing
